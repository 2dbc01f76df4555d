//! The embedded on-disk store: one redb file.
//!
//! redb was chosen over SQLite because it is pure Rust (no C build, a few
//! seconds of compile), gives ACID, crash-safe copy-on-write transactions with
//! one writer — exactly one `accesslake ingest` at a time per lake — and its
//! typed B-tree tables fit the key-value shape of this state (the same shape
//! the DynamoDB store has), so no SQL layer is needed.
//!
//! Besides the state it keeps the lake journal: a monotonically increasing
//! batch sequence and the object keys of a batch whose files are being
//! written but whose state is not yet committed, so a run that died mid-batch
//! can delete those files before it decides the same events again.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::codec;
use super::{Commit, StateStore};
use crate::Result;
use crate::state::State;

const ENTRY_IDS: TableDefinition<&str, ()> = TableDefinition::new("entry_event_ids");
const ADMIN_IDS: TableDefinition<&str, ()> = TableDefinition::new("admin_event_ids");
const REJECTED_KEYS: TableDefinition<&str, ()> = TableDefinition::new("rejected_keys");
/// (kind, id, second id or "") → encoded entity
const ENTITIES: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("entities");
/// (kind, id, second id or "") → last applied occurred_at
const VERSIONS: TableDefinition<(&str, &str, &str), i64> = TableDefinition::new("versions");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Page cache of the state database.
const STATE_CACHE_BYTES: usize = 256 << 20;

const META_LAKE_ID: &str = "lake_id";
const META_NEXT_SEQ: &str = "next_batch_seq";
const META_PENDING: &str = "pending_files";

/// State in a redb file (by default `<lake>/_state/state.redb`).
pub struct EmbeddedStore {
    db: Database,
    path: PathBuf,
    lake_id: String,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

impl EmbeddedStore {
    /// Opens the store at `path`, creating it (and its tables) if needed.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| crate::Error::Store(format!("{}: {e}", dir.display())))?;
        }
        // redb caches up to 1 GiB by default; the working set here is the
        // recent part of the id tables, so a bounded cache keeps ingest memory
        // flat however large the state grows.
        let db = redb::Builder::new()
            .set_cache_size(STATE_CACHE_BYTES)
            .create(path)?;
        let txn = db.begin_write()?;
        let lake_id;
        {
            txn.open_table(ENTRY_IDS)?;
            txn.open_table(ADMIN_IDS)?;
            txn.open_table(REJECTED_KEYS)?;
            txn.open_table(ENTITIES)?;
            txn.open_table(VERSIONS)?;
            let mut meta = txn.open_table(META)?;
            let existing = meta.get(META_LAKE_ID)?.map(|v| v.value().to_vec());
            lake_id = match existing {
                Some(id) => String::from_utf8_lossy(&id).into_owned(),
                None => {
                    let id = new_lake_id(path);
                    meta.insert(META_LAKE_ID, id.as_bytes())?;
                    id
                }
            };
        }
        txn.commit()?;
        Ok(EmbeddedStore {
            db,
            path: path.to_path_buf(),
            lake_id,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A short id, fixed at creation, that makes this lake's file names unique.
    pub fn lake_id(&self) -> &str {
        &self.lake_id
    }

    /// Reserves the next batch sequence number; it is never handed out again,
    /// even if the batch is never committed.
    pub fn reserve_batch_seq(&mut self) -> Result<u64> {
        let txn = self.db.begin_write()?;
        let seq;
        {
            let mut meta = txn.open_table(META)?;
            seq = meta
                .get(META_NEXT_SEQ)?
                .and_then(|v| v.value().try_into().ok().map(u64::from_le_bytes))
                .unwrap_or(1);
            meta.insert(META_NEXT_SEQ, (seq + 1).to_le_bytes().as_slice())?;
        }
        txn.commit()?;
        Ok(seq)
    }

    /// Records the object keys a batch is about to write; they stay recorded
    /// until the batch's [`StateStore::commit`].
    pub fn set_pending_files(&mut self, keys: &[String]) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(META)?.insert(
            META_PENDING,
            keys.join(
                "
",
            )
            .as_bytes(),
        )?;
        txn.commit()?;
        Ok(())
    }

    /// Object keys of a batch that was begun but never committed (a crashed run).
    pub fn pending_files(&self) -> Result<Vec<String>> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        Ok(meta
            .get(META_PENDING)?
            .map(|v| {
                String::from_utf8_lossy(v.value())
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Forgets the pending keys once the files they name have been removed.
    pub fn clear_pending(&mut self) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(META)?.remove(META_PENDING)?;
        txn.commit()?;
        Ok(())
    }

    fn known(&self, table: TableDefinition<&str, ()>, ids: &[&str]) -> Result<Vec<bool>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(table)?;
        ids.iter().map(|id| Ok(t.get(*id)?.is_some())).collect()
    }
}

fn new_lake_id(path: &Path) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(path.as_os_str().as_encoded_bytes());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

impl StateStore for EmbeddedStore {
    fn load(&self) -> Result<State> {
        let txn = self.db.begin_read()?;
        let mut state = State::default();
        for row in txn.open_table(ENTITIES)?.iter()? {
            let (k, v) = row?;
            let (kind, a, b) = k.value();
            codec::decode_into(&mut state, kind, a, b, v.value())?;
        }
        for row in txn.open_table(VERSIONS)?.iter()? {
            let (k, v) = row?;
            let (kind, a, b) = k.value();
            state
                .versions
                .insert(codec::entity_ref(kind, a, b)?, v.value());
        }
        Ok(state)
    }

    fn known_entry_ids(&self, ids: &[&str]) -> Result<Vec<bool>> {
        self.known(ENTRY_IDS, ids)
    }

    fn known_admin_ids(&self, ids: &[&str]) -> Result<Vec<bool>> {
        self.known(ADMIN_IDS, ids)
    }

    fn known_rejected_keys(&self, keys: &[&str]) -> Result<Vec<bool>> {
        self.known(REJECTED_KEYS, keys)
    }

    fn commit(&mut self, c: &Commit<'_>) -> Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut rejected = txn.open_table(REJECTED_KEYS)?;
            for k in c.rejected_keys {
                rejected.insert(k.as_str(), ())?;
            }
            let mut entry_ids = txn.open_table(ENTRY_IDS)?;
            for id in c.entry_ids {
                entry_ids.insert(id.as_str(), ())?;
            }
            let mut admin_ids = txn.open_table(ADMIN_IDS)?;
            for id in c.admin_ids {
                admin_ids.insert(id.as_str(), ())?;
            }
            let mut entities = txn.open_table(ENTITIES)?;
            let mut versions = txn.open_table(VERSIONS)?;
            for e in c.dirty {
                let (a, b) = e.key();
                let key = (e.kind(), a, b);
                match codec::encode(c.state, e) {
                    Some(v) => entities.insert(key, v.as_slice())?,
                    None => entities.remove(key)?,
                };
                // Presence has no version; every other entity carries its own.
                if let Some(&v) = c.state.versions.get(e) {
                    versions.insert(key, v)?;
                }
            }
            txn.open_table(META)?.remove(META_PENDING)?;
        }
        txn.commit()?;
        Ok(())
    }
}
