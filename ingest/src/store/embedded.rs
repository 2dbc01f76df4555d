//! The embedded on-disk store: one redb file.
//!
//! redb was chosen over SQLite because it is pure Rust (no C build, a few
//! seconds of compile), gives ACID, crash-safe copy-on-write transactions with
//! one writer — exactly one `accesslake ingest` at a time per lake — and its
//! typed B-tree tables fit the key-value shape of this state (the same shape
//! the DynamoDB store has), so no SQL layer is needed.
//!
//! Event ids are kept as keyed 128-bit SipHash values of the id
//! (`u128` keys): fixed-size integer keys make the id index several times
//! smaller and cheaper to search than the strings. The hash key is random per
//! store (kept in `meta`), so nobody who does not hold the file can make two
//! ids collide on purpose; an accidental collision among 10^12 ids has odds
//! below 10^-14. `accesslake ingest` records each chunk's keys as a sorted run
//! of the log-structured [`IdIndex`], so a commit does not grow with the
//! number of ids decided before; the Lambda-style batch path
//! ([`BatchStore`]), which records a few ids at a time beside their outcomes,
//! keeps them in a plain B-tree table. A lookup consults both.
//!
//! Besides the state it keeps the lake journal: a monotonically increasing
//! batch sequence and the object keys of a batch whose files are being
//! written but whose state is not yet committed, so a run that died mid-batch
//! can delete those files before it decides the same events again.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};

use accesslake_model::{AdminRecord, Decision};
use async_trait::async_trait;

use super::id_index::{IdIndex, IdTables};
use super::{Commit, IdCheck, IdKeys, RejectedKeys, StateStore, codec, outcome};
use crate::batch::{BatchStore, Stored, Write, WriteError};
use crate::state::{EntityRef, State};
use crate::{Error, Result};

/// [`IdHasher::key`] of each entry event id decided by `accesslake ingest`.
const ENTRY_INDEX: IdTables = IdTables::new("entry_id_runs", "entry_id_blocks", "entry_id_filters");
/// [`IdHasher::key`] of each admin event id recorded by `accesslake ingest`.
const ADMIN_INDEX: IdTables = IdTables::new("admin_id_runs", "admin_id_blocks", "admin_id_filters");
/// [`IdHasher::key`] of each entry event id decided through the batch path
/// (and, in stores written before [`ENTRY_INDEX`], by `accesslake ingest`).
const ENTRY_IDS: TableDefinition<u128, ()> = TableDefinition::new("entry_event_keys");
/// [`IdHasher::key`] of each admin event id recorded through the batch path.
const ADMIN_IDS: TableDefinition<u128, ()> = TableDefinition::new("admin_event_keys");
/// The id tables of stores written before the ids were hashed; moved into the
/// keyed tables the first time such a store is opened.
const LEGACY_ENTRY_IDS: TableDefinition<&str, ()> = TableDefinition::new("entry_event_ids");
const LEGACY_ADMIN_IDS: TableDefinition<&str, ()> = TableDefinition::new("admin_event_ids");
const REJECTED_KEYS: TableDefinition<&str, ()> = TableDefinition::new("rejected_keys");
/// [`entity_key`] → [`entity_value`]: each entity with its last applied
/// version, in one row, so a change is one insert.
const ENTITY_STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entity_state");
/// The entity tables of stores written before versions were kept with their
/// entity ((kind, id, second id or "") → encoded entity, and → version);
/// merged into [`ENTITY_STATE`] the first time such a store is opened.
const LEGACY_ENTITIES: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("entities");
const LEGACY_VERSIONS: TableDefinition<(&str, &str, &str), i64> = TableDefinition::new("versions");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The batch path ([`BatchStore`]) keeps each outcome so a redelivery gets it back.
const DECISIONS: TableDefinition<&str, &str> = TableDefinition::new("entry_decisions");
const ADMIN_RECORDS: TableDefinition<&str, &str> = TableDefinition::new("admin_records");

/// Page cache of the state database.
const STATE_CACHE_BYTES: usize = 64 << 20;

const META_LAKE_ID: &str = "lake_id";
const META_ID_HASH_KEY: &str = "id_hash_key";
const META_NEXT_SEQ: &str = "next_batch_seq";
const META_PENDING: &str = "pending_files";
/// The store's [`RejectedKeys`]: `xxh3`, or `fnv1a` in a store that held
/// rejected keys before the scheme was recorded.
const META_REJECTED_KEYS: &str = "rejected_key_hash";

/// State in a redb file (by default `<lake>/_state/state.redb`).
pub struct EmbeddedStore {
    db: Database,
    path: PathBuf,
    lake_id: String,
    ids: IdHasher,
    rejected_keys: RejectedKeys,
    entry_index: IdIndex,
    admin_index: IdIndex,
}

/// Turns event ids into the keys of the id index: keyed SipHash-1-3, 128 bits.
#[derive(Debug, Clone, Copy)]
struct IdHasher(u64, u64);

impl IdHasher {
    fn key(&self, id: &str) -> u128 {
        use siphasher::sip128::{Hasher128, SipHasher13};
        use std::hash::Hasher;
        let mut h = SipHasher13::new_with_keys(self.0, self.1);
        h.write(id.as_bytes());
        h.finish128().into()
    }

    /// The keys of `ids`, sorted and without repeats: those of `checked`
    /// when a check of this store made them for exactly these ids (as many
    /// keys as ids, which are distinct), else hashed and sorted here.
    fn sorted_keys<'k>(&self, ids: &[&str], checked: &'k IdKeys) -> Cow<'k, [u128]> {
        if let Some(keys) = &checked.0
            && keys.len() == ids.len()
        {
            return Cow::Borrowed(keys);
        }
        let mut keys: Vec<u128> = ids.iter().map(|id| self.key(id)).collect();
        sort_by_hash(&mut keys, |&k| k);
        keys.dedup();
        Cow::Owned(keys)
    }
}

/// Ids' keys, each with the id's position in the list checked, in key order.
type KeyOrder = Vec<(u128, usize)>;

/// Sorts items that order first by a keyed hash (`hash`), as
/// `sort_unstable` would. The hashes are uniform, so one counting pass on
/// their top bits leaves buckets of a few items each, which are then sorted
/// on their own: about a third of the comparisons' cost at a chunk's
/// 250,000 ids. Uneven hashes would only make it slower, never wrong.
fn sort_by_hash<T: Copy + Ord>(items: &mut Vec<T>, hash: impl Fn(&T) -> u128) {
    if items.len() < 1024 {
        items.sort_unstable();
        return;
    }
    // About four items a bucket, at most 2^16 buckets.
    let bits = (usize::BITS - items.len().leading_zeros() - 2).min(16);
    let bucket = |x: &T| (hash(x) >> (128 - bits)) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for x in items.iter() {
        starts[bucket(x) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut sorted = items.clone();
    for x in items.iter() {
        let b = bucket(x);
        sorted[next[b]] = *x;
        next[b] += 1;
    }
    for w in starts.windows(2) {
        sorted[w[0]..w[1]].sort_unstable();
    }
    *items = sorted;
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
        sync_folders(path)?;
        Self::init(db, path)
    }

    /// A store that lives in memory only (benchmarks, tests of the batch path).
    pub fn in_memory() -> Result<Self> {
        let db = redb::Builder::new().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Self::init(db, Path::new(":memory:"))
    }

    fn init(db: Database, path: &Path) -> Result<Self> {
        let txn = db.begin_write()?;
        let lake_id;
        let id_hash_key;
        let rejected_keys;
        {
            txn.open_table(ENTRY_IDS)?;
            txn.open_table(ADMIN_IDS)?;
            ENTRY_INDEX.create(&txn)?;
            ADMIN_INDEX.create(&txn)?;
            txn.open_table(REJECTED_KEYS)?;
            txn.open_table(ENTITY_STATE)?;
            txn.open_table(DECISIONS)?;
            txn.open_table(ADMIN_RECORDS)?;
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
            let existing = meta.get(META_ID_HASH_KEY)?.map(|v| v.value().to_vec());
            id_hash_key = match existing.as_deref().map(<[u8; 16]>::try_from) {
                Some(Ok(k)) => k,
                Some(Err(_)) => {
                    return Err(Error::Store(format!(
                        "{}: the id hash key is damaged",
                        path.display()
                    )));
                }
                None => {
                    let k = random_key(path);
                    meta.insert(META_ID_HASH_KEY, k.as_slice())?;
                    k
                }
            };
            let existing = meta.get(META_REJECTED_KEYS)?.map(|v| v.value().to_vec());
            rejected_keys = match existing.as_deref() {
                Some(b"xxh3") => RejectedKeys::Xxh3,
                Some(b"fnv1a") => RejectedKeys::Fnv1a,
                Some(other) => {
                    return Err(Error::Store(format!(
                        "{}: unknown rejected key scheme {:?}",
                        path.display(),
                        String::from_utf8_lossy(other)
                    )));
                }
                None => {
                    // A store never derives the keys it holds again, so one
                    // that holds any keeps the scheme they were made with.
                    let (scheme, name) = if txn.open_table(REJECTED_KEYS)?.is_empty()? {
                        (RejectedKeys::Xxh3, "xxh3")
                    } else {
                        (RejectedKeys::Fnv1a, "fnv1a")
                    };
                    meta.insert(META_REJECTED_KEYS, name.as_bytes())?;
                    scheme
                }
            };
        }
        let [a, b] = [&id_hash_key[..8], &id_hash_key[8..]]
            .map(|half| u64::from_le_bytes(half.try_into().unwrap_or_default()));
        let ids = IdHasher(a, b);
        let tables: Vec<String> = txn.list_tables()?.map(|t| t.name().to_string()).collect();
        migrate_legacy_ids(&txn, ids, &tables)?;
        migrate_legacy_entities(&txn, &tables)?;
        txn.commit()?;
        let read = db.begin_read()?;
        let entry_index = IdIndex::load(&read, ENTRY_INDEX)?;
        let admin_index = IdIndex::load(&read, ADMIN_INDEX)?;
        drop(read);
        Ok(EmbeddedStore {
            db,
            path: path.to_path_buf(),
            lake_id,
            ids,
            rejected_keys,
            entry_index,
            admin_index,
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
    ///
    /// The reservation is committed without waiting for the disk: the
    /// durable commit of [`EmbeddedStore::set_pending_files`], which comes
    /// before any file named after the number is written, makes it durable.
    /// A crash before that may hand the number out again, but no file bears
    /// it then. It saves the chunk one of its three syncs of the state file.
    pub fn reserve_batch_seq(&mut self) -> Result<u64> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::None)?;
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

    fn known_keys(&self, table: TableDefinition<&str, ()>, keys: &[&str]) -> Result<Vec<bool>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(table)?;
        keys.iter().map(|k| Ok(t.get(*k)?.is_some())).collect()
    }

    fn known(
        &self,
        table: TableDefinition<u128, ()>,
        index: &IdIndex,
        ids: &[&str],
    ) -> Result<Vec<bool>> {
        Ok(self.lookup(table, index, ids)?.1)
    }

    /// Each id's key with its position, in key order, and whether each id
    /// is recorded.
    fn lookup(
        &self,
        table: TableDefinition<u128, ()>,
        index: &IdIndex,
        ids: &[&str],
    ) -> Result<(KeyOrder, Vec<bool>)> {
        let txn = self.db.begin_read()?;
        // Look the keys up in key order: neighbouring lookups share the path
        // down a tree and sweep each run's filter once.
        let mut order: Vec<(u128, usize)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (self.ids.key(id), i))
            .collect();
        sort_by_hash(&mut order, |&(key, _)| key);
        let mut known = vec![false; ids.len()];
        let t = txn.open_table(table)?;
        if !t.is_empty()? {
            for &(key, i) in &order {
                known[i] = t.get(key)?.is_some();
            }
        }
        index.mark_known(&index.tables().open_blocks(&txn)?, &order, &mut known)?;
        Ok((order, known))
    }

    /// [`StateStore::check_entry_ids`] from one hashing of the ids: repeats
    /// are equal keys, next to each other in key order (the first position
    /// first), and the keys of the ids kept are already the sorted run the
    /// commit writes.
    fn check(
        &self,
        table: TableDefinition<u128, ()>,
        index: &IdIndex,
        ids: &[&str],
    ) -> Result<IdCheck> {
        let (order, mut duplicate) = self.lookup(table, index, ids)?;
        let mut keys = Vec::with_capacity(order.len());
        let mut last = None;
        for &(key, i) in &order {
            if last == Some(key) {
                duplicate[i] = true;
                continue;
            }
            last = Some(key);
            if !duplicate[i] {
                keys.push(key);
            }
        }
        Ok(IdCheck {
            duplicate,
            keys: IdKeys(Some(keys)),
        })
    }

    /// Whether an id is recorded, by either path, as seen by `txn`.
    fn is_known(
        &self,
        table: &impl ReadableTable<u128, ()>,
        index: &IdIndex,
        blocks: &impl ReadableTable<(u64, u128), &'static [u8]>,
        id: &str,
    ) -> Result<bool> {
        let key = self.ids.key(id);
        Ok(table.get(key)?.is_some() || index.contains(blocks, key)?)
    }
}

/// Moves the string id tables of a store written before ids were hashed into
/// the keyed tables, once, inside the opening transaction.
/// `tables` holds the names of the store's tables.
fn migrate_legacy_ids(
    txn: &redb::WriteTransaction,
    ids: IdHasher,
    tables: &[String],
) -> Result<()> {
    for (legacy, keyed) in [(LEGACY_ENTRY_IDS, ENTRY_IDS), (LEGACY_ADMIN_IDS, ADMIN_IDS)] {
        if !tables.iter().any(|n| n == legacy.name()) {
            continue;
        }
        {
            let old = txn.open_table(legacy)?;
            let mut new = txn.open_table(keyed)?;
            for row in old.iter()? {
                new.insert(ids.key(row?.0.value()), ())?;
            }
        }
        txn.delete_table(legacy)?;
    }
    Ok(())
}

/// Merges the entity and version tables of a store written before versions
/// were kept with their entity into [`ENTITY_STATE`], once, inside the
/// opening transaction. The state is small (one row per entity and per
/// person inside a zone), so the rows are gathered in memory first.
fn migrate_legacy_entities(txn: &redb::WriteTransaction, tables: &[String]) -> Result<()> {
    let has = |t: &str| tables.iter().any(|n| n == t);
    if !has(LEGACY_ENTITIES.name()) && !has(LEGACY_VERSIONS.name()) {
        return Ok(());
    }
    type Row = (Option<i64>, Option<Vec<u8>>);
    let mut rows: std::collections::BTreeMap<Vec<u8>, Row> = Default::default();
    let mut key = Vec::new();
    if has(LEGACY_ENTITIES.name()) {
        for row in txn.open_table(LEGACY_ENTITIES)?.iter()? {
            let (k, v) = row?;
            let (kind, a, b) = k.value();
            entity_key(&mut key, kind, a, b)?;
            rows.entry(key.clone()).or_default().1 = Some(v.value().to_vec());
        }
        txn.delete_table(LEGACY_ENTITIES)?;
    }
    if has(LEGACY_VERSIONS.name()) {
        for row in txn.open_table(LEGACY_VERSIONS)?.iter()? {
            let (k, v) = row?;
            let (kind, a, b) = k.value();
            entity_key(&mut key, kind, a, b)?;
            rows.entry(key.clone()).or_default().0 = Some(v.value());
        }
        txn.delete_table(LEGACY_VERSIONS)?;
    }
    let mut table = txn.open_table(ENTITY_STATE)?;
    let mut value = Vec::new();
    for (key, (version, payload)) in &rows {
        entity_value(&mut value, *version, payload.as_deref());
        table.insert(key.as_slice(), value.as_slice())?;
    }
    Ok(())
}

/// Entity kinds as stored: a key's first byte is the kind's place here.
const ENTITY_KINDS: [&str; 6] = ["zone", "door", "employee", "card", "grant", "presence"];

/// The key of an entity row, into `out`: the kind's byte, the first id's
/// length (4 bytes, little-endian), the first id, then the second (or
/// nothing). Byte strings compare with one `memcmp`, where a tuple of
/// strings is taken apart field by field at every comparison of a search.
/// A kind not in [`ENTITY_KINDS`] (only a damaged older store has one) is
/// an error.
fn entity_key(out: &mut Vec<u8>, kind: &str, a: &str, b: &str) -> Result<()> {
    let tag = ENTITY_KINDS
        .iter()
        .position(|k| *k == kind)
        .ok_or_else(|| Error::Corrupt {
            kind: "entity key",
            detail: format!("unknown kind {kind:?}"),
        })?;
    out.clear();
    out.push(tag as u8);
    out.extend_from_slice(&(a.len() as u32).to_le_bytes());
    out.extend_from_slice(a.as_bytes());
    out.extend_from_slice(b.as_bytes());
    Ok(())
}

fn parse_entity_key(key: &[u8]) -> Result<(&'static str, &str, &str)> {
    let damaged = || Error::Corrupt {
        kind: "entity key",
        detail: format!("{} bytes that are not an entity key", key.len()),
    };
    let (&tag, rest) = key.split_first().ok_or_else(damaged)?;
    let kind = *ENTITY_KINDS.get(tag as usize).ok_or_else(damaged)?;
    let (len, ids) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
    let len = u32::from_le_bytes(*len) as usize;
    if ids.len() < len {
        return Err(damaged());
    }
    let (a, b) = ids.split_at(len);
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(a), Ok(b)) => Ok((kind, a, b)),
        _ => Err(damaged()),
    }
}

/// Flags of an entity row's first byte.
const HAS_VERSION: u8 = 1;
const HAS_VALUE: u8 = 2;

/// The value of an entity row, into `out`: a flags byte, the version (8
/// bytes, little-endian) when there is one, then the encoded entity when
/// it exists. A revoked grant keeps its version without a value; presence
/// has a value (empty) without a version.
fn entity_value(out: &mut Vec<u8>, version: Option<i64>, payload: Option<&[u8]>) {
    out.clear();
    let flags = version.map_or(0, |_| HAS_VERSION) | payload.map_or(0, |_| HAS_VALUE);
    out.push(flags);
    if let Some(v) = version {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(p) = payload {
        out.extend_from_slice(p);
    }
}

/// The version and encoded entity of an entity row.
fn parse_entity_value(value: &[u8]) -> Result<(Option<i64>, Option<&[u8]>)> {
    let damaged = || Error::Corrupt {
        kind: "entity row",
        detail: format!("{} bytes that are not an entity row", value.len()),
    };
    let (&flags, mut rest) = value.split_first().ok_or_else(damaged)?;
    if flags & !(HAS_VERSION | HAS_VALUE) != 0 {
        return Err(damaged());
    }
    let mut version = None;
    if flags & HAS_VERSION != 0 {
        let (v, after) = rest.split_first_chunk::<8>().ok_or_else(damaged)?;
        version = Some(i64::from_le_bytes(*v));
        rest = after;
    }
    match flags & HAS_VALUE != 0 {
        true => Ok((version, Some(rest))),
        false if rest.is_empty() => Ok((version, None)),
        false => Err(damaged()),
    }
}

/// Reads one entity row into `state`: the entity if it exists, its version
/// if it has one.
fn read_entity(state: &mut State, kind: &str, a: &str, b: &str, value: &[u8]) -> Result<()> {
    let (version, payload) = parse_entity_value(value)?;
    if let Some(p) = payload {
        codec::decode_into(state, kind, a, b, p)?;
    }
    if let Some(v) = version {
        state.versions.insert(codec::entity_ref(kind, a, b)?, v);
    }
    Ok(())
}

/// Syncs the folder of a state file and the folder above, so a new file's
/// name (and its new folder's) survives a power loss along with the
/// commits written into it.
fn sync_folders(path: &Path) -> Result<()> {
    #[cfg(unix)]
    for dir in path.ancestors().skip(1).take(2) {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| crate::Error::Store(format!("{}: {e}", dir.display())))?;
    }
    Ok(())
}

fn random_key(path: &Path) -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    // std's RandomState is seeded from the operating system's randomness.
    let mut key = [0u8; 16];
    for (i, half) in key.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write(path.as_os_str().as_encoded_bytes());
        h.write_usize(i);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    key
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
        for row in txn.open_table(ENTITY_STATE)?.iter()? {
            let (k, v) = row?;
            let (kind, a, b) = parse_entity_key(k.value())?;
            read_entity(&mut state, kind, a, b, v.value())?;
        }
        Ok(state)
    }

    fn known_entry_ids(&self, ids: &[&str]) -> Result<Vec<bool>> {
        self.known(ENTRY_IDS, &self.entry_index, ids)
    }

    fn known_admin_ids(&self, ids: &[&str]) -> Result<Vec<bool>> {
        self.known(ADMIN_IDS, &self.admin_index, ids)
    }

    fn check_entry_ids(&self, ids: &[&str]) -> Result<IdCheck> {
        self.check(ENTRY_IDS, &self.entry_index, ids)
    }

    fn check_admin_ids(&self, ids: &[&str]) -> Result<IdCheck> {
        self.check(ADMIN_IDS, &self.admin_index, ids)
    }

    fn rejected_key(&self, source_ref: &str, raw: &[u8]) -> String {
        self.rejected_keys.key(source_ref, raw)
    }

    fn known_rejected_keys(&self, keys: &[&str]) -> Result<Vec<bool>> {
        self.known_keys(REJECTED_KEYS, keys)
    }

    fn commit(&mut self, c: &Commit<'_>) -> Result<()> {
        // The committed state the id runs to merge are read from.
        let committed = self.db.begin_read()?;
        let txn = self.db.begin_write()?;
        let entry_ids = self.entry_index.write(
            &committed,
            &txn,
            &self.ids.sorted_keys(c.entry_ids, c.entry_keys),
        )?;
        let admin_ids = self.admin_index.write(
            &committed,
            &txn,
            &self.ids.sorted_keys(c.admin_ids, c.admin_keys),
        )?;
        drop(committed);
        {
            let mut rejected = txn.open_table(REJECTED_KEYS)?;
            for k in c.rejected_keys {
                rejected.insert(k.as_str(), ())?;
            }
            let mut entities = txn.open_table(ENTITY_STATE)?;
            let (mut key, mut value) = (Vec::new(), Vec::new());
            for e in c.dirty {
                let (a, b) = e.key();
                entity_key(&mut key, e.kind(), a, b)?;
                // Presence has no version; every other entity carries its
                // own, kept when the entity is gone (a revoked grant).
                let version = c.state.versions.get(e).copied();
                match (codec::encode(c.state, e), version) {
                    (None, None) => {
                        entities.remove(key.as_slice())?;
                    }
                    (payload, version) => {
                        entity_value(&mut value, version, payload.as_deref());
                        entities.insert(key.as_slice(), value.as_slice())?;
                    }
                }
            }
            txn.open_table(META)?.remove(META_PENDING)?;
        }
        txn.commit()?;
        self.entry_index.apply(entry_ids);
        self.admin_index.apply(admin_ids);
        tracing::debug!(
            entry_ids = self.entry_index.len(),
            entry_runs = self.entry_index.run_count(),
            admin_ids = self.admin_index.len(),
            admin_runs = self.admin_index.run_count(),
            "id index committed"
        );
        Ok(())
    }
}

#[async_trait]
impl BatchStore for EmbeddedStore {
    async fn decisions(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<Decision>>>> {
        let txn = self.db.begin_read()?;
        let stored = txn.open_table(DECISIONS)?;
        let known = txn.open_table(ENTRY_IDS)?;
        let blocks = ENTRY_INDEX.open_blocks(&txn)?;
        event_ids
            .iter()
            .map(|id| match stored.get(*id)? {
                Some(v) => outcome::decode_decision(id, v.value()).map(Some),
                // Decided by `accesslake ingest`, which keeps ids, not rows:
                // deciding it again would break idempotency.
                None if self.is_known(&known, &self.entry_index, &blocks, id)? => {
                    Err(Error::Store(format!(
                        "event {id} was decided by the local pipeline, which keeps no row to return"
                    )))
                }
                None => Ok(None),
            })
            .collect()
    }

    async fn admin_records(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<AdminRecord>>>> {
        let txn = self.db.begin_read()?;
        let stored = txn.open_table(ADMIN_RECORDS)?;
        let known = txn.open_table(ADMIN_IDS)?;
        let blocks = ADMIN_INDEX.open_blocks(&txn)?;
        event_ids
            .iter()
            .map(|id| match stored.get(*id)? {
                Some(v) => outcome::decode_admin(id, v.value()).map(Some),
                None if self.is_known(&known, &self.admin_index, &blocks, id)? => Err(Error::Store(format!(
                    "admin event {id} was applied by the local pipeline, which keeps no row to return"
                ))),
                None => Ok(None),
            })
            .collect()
    }

    async fn load_into(&self, keys: &[EntityRef], state: &mut State) -> Result<()> {
        let txn = self.db.begin_read()?;
        let entities = txn.open_table(ENTITY_STATE)?;
        let mut key = Vec::new();
        for e in keys {
            let (a, b) = e.key();
            entity_key(&mut key, e.kind(), a, b)?;
            if let Some(v) = entities.get(key.as_slice())? {
                read_entity(state, e.kind(), a, b, v.value())?;
            }
        }
        Ok(())
    }

    async fn write(&self, writes: &[Write]) -> Result<(), WriteError> {
        let stopped = |committed: usize| move |error: Error| WriteError { committed, error };
        let txn = self
            .db
            .begin_write()
            .map_err(Error::from)
            .map_err(stopped(0))?;
        let mut done = 0;
        let mut conflict = None;
        {
            let mut tables = BatchTables::open(&txn, self).map_err(stopped(0))?;
            for w in writes {
                match tables.apply(w).map_err(stopped(0))? {
                    None => done += 1,
                    Some(why) => {
                        conflict = Some(why);
                        break;
                    }
                }
            }
        }
        txn.commit().map_err(Error::from).map_err(stopped(0))?;
        match conflict {
            None => Ok(()),
            Some(why) => Err(WriteError {
                committed: done,
                error: Error::Conflict(why),
            }),
        }
    }
}

/// The tables one batch write touches, open in one redb transaction.
struct BatchTables<'t> {
    decisions: redb::Table<'t, &'static str, &'static str>,
    entry_ids: redb::Table<'t, u128, ()>,
    admin: redb::Table<'t, &'static str, &'static str>,
    admin_ids: redb::Table<'t, u128, ()>,
    entities: redb::Table<'t, &'static [u8], &'static [u8]>,
    /// Ids recorded by `accesslake ingest`, read only here.
    entry_blocks: redb::Table<'t, (u64, u128), &'static [u8]>,
    admin_blocks: redb::Table<'t, (u64, u128), &'static [u8]>,
    store: &'t EmbeddedStore,
}

impl<'t> BatchTables<'t> {
    fn open(txn: &'t redb::WriteTransaction, store: &'t EmbeddedStore) -> Result<Self> {
        Ok(BatchTables {
            decisions: txn.open_table(DECISIONS)?,
            entry_ids: txn.open_table(ENTRY_IDS)?,
            admin: txn.open_table(ADMIN_RECORDS)?,
            admin_ids: txn.open_table(ADMIN_IDS)?,
            entities: txn.open_table(ENTITY_STATE)?,
            entry_blocks: ENTRY_INDEX.open_blocks_mut(txn)?,
            admin_blocks: ADMIN_INDEX.open_blocks_mut(txn)?,
            store,
        })
    }

    /// Checks one write's conditions and applies it; `Some(reason)` if a
    /// condition does not hold (nothing of this write is applied then).
    fn apply(&mut self, w: &Write) -> Result<Option<String>> {
        match w {
            Write::Entry { decision, presence } => {
                let id = decision.row.event_id.as_str();
                let s = self.store;
                if self.decisions.get(id)?.is_some()
                    || s.is_known(&self.entry_ids, &s.entry_index, &self.entry_blocks, id)?
                {
                    return Ok(Some(format!("event {id} already decided")));
                }
                if let Some(p) = presence {
                    let mut key = Vec::new();
                    entity_key(&mut key, "presence", &p.employee_id, &p.zone_id)?;
                    let inside = match self.entities.get(key.as_slice())? {
                        Some(v) => parse_entity_value(v.value())?.1.is_some(),
                        None => false,
                    };
                    if inside == p.inside {
                        return Ok(Some("presence already changed".into()));
                    }
                    if p.inside {
                        let mut value = Vec::new();
                        entity_value(&mut value, None, Some(&[]));
                        self.entities.insert(key.as_slice(), value.as_slice())?;
                    } else {
                        self.entities.remove(key.as_slice())?;
                    }
                }
                self.decisions
                    .insert(id, outcome::encode_decision(decision).as_str())?;
                self.entry_ids.insert(s.ids.key(id), ())?;
            }
            Write::Admin { record, entity } => {
                let id = record.row.event_id.as_str();
                let s = self.store;
                if self.admin.get(id)?.is_some()
                    || s.is_known(&self.admin_ids, &s.admin_index, &self.admin_blocks, id)?
                {
                    return Ok(Some(format!("admin event {id} already recorded")));
                }
                if let Some(e) = entity {
                    let (a, b) = e.entity.key();
                    let mut key = Vec::new();
                    entity_key(&mut key, e.entity.kind(), a, b)?;
                    let stored = match self.entities.get(key.as_slice())? {
                        Some(v) => parse_entity_value(v.value())?.0,
                        None => None,
                    };
                    if stored.is_some_and(|v| v > e.version) {
                        return Ok(Some("entity has a newer version".into()));
                    }
                    let mut value = Vec::new();
                    entity_value(&mut value, Some(e.version), e.value.as_deref());
                    self.entities.insert(key.as_slice(), value.as_slice())?;
                }
                self.admin
                    .insert(id, outcome::encode_admin(record).as_str())?;
                self.admin_ids.insert(s.ids.key(id), ())?;
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by_hash;
    use super::{entity_key, entity_value, parse_entity_key, parse_entity_value};
    use proptest::prelude::*;

    #[test]
    fn damaged_entity_rows_are_errors_not_entities() {
        assert!(entity_key(&mut Vec::new(), "badge", "b1", "").is_err());
        for key in [
            &b""[..],
            b"\x06\x00\x00\x00\x00",
            b"\x00\x01\x00",
            b"\x00\x09\x00\x00\x00ab",
            b"\x00\x01\x00\x00\x00\xff",
        ] {
            assert!(parse_entity_key(key).is_err(), "{key:?}");
        }
        for value in [
            &b""[..],
            b"\x04",
            b"\x01\x00\x00",
            b"\x00x",
            b"\x01\x00\x00\x00\x00\x00\x00\x00\x00x",
        ] {
            assert!(parse_entity_value(value).is_err(), "{value:?}");
        }
    }

    proptest! {
        /// Keys and values read back as written, and keys of different
        /// entities differ (a first id that ends like a second begins
        /// included).
        #[test]
        fn entity_rows_round_trip(
            kind in 0usize..6,
            a in "[a-z/\\x00é]{0,6}",
            b in "[a-z/\\x00é]{0,6}",
            other in ("[a-z/]{0,6}", "[a-z/]{0,6}"),
            version in proptest::option::of(any::<i64>()),
            payload in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        ) {
            let kind = super::ENTITY_KINDS[kind];
            let mut key = Vec::new();
            entity_key(&mut key, kind, &a, &b).unwrap();
            prop_assert_eq!(parse_entity_key(&key).unwrap(), (kind, a.as_str(), b.as_str()));
            let mut other_key = Vec::new();
            entity_key(&mut other_key, kind, &other.0, &other.1).unwrap();
            prop_assert_eq!(key == other_key, (a.as_str(), b.as_str()) == (other.0.as_str(), other.1.as_str()));
            let mut value = Vec::new();
            entity_value(&mut value, version, payload.as_deref());
            prop_assert_eq!(parse_entity_value(&value).unwrap(), (version, payload.as_deref()));
        }
    }

    proptest! {
        /// The same order as `sort_unstable`, for uniform keys, for keys
        /// that all share their top bits (one bucket), and around the size
        /// where the counting pass starts.
        #[test]
        fn sort_by_hash_is_sort_unstable(
            keys in prop::collection::vec(any::<u128>(), 0..5000),
            top in prop_oneof![Just(None), any::<u16>().prop_map(Some)],
        ) {
            let mut items: Vec<(u128, usize)> = keys
                .iter()
                .enumerate()
                .map(|(i, &k)| match top {
                    Some(t) => ((u128::from(t) << 112) | (k >> 16), i),
                    None => (k, i),
                })
                .collect();
            // Repeated keys, as a chunk's duplicates give.
            items.extend_from_slice(&items.clone()[..items.len() / 3]);
            let mut want = items.clone();
            want.sort_unstable();
            sort_by_hash(&mut items, |&(k, _)| k);
            prop_assert_eq!(items, want);
        }
    }
}
