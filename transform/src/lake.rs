//! The lake as an object store: where files are put and removed.

use std::sync::Arc;

use accesslake_model::Table;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::parquet_file::encode_parquet;
use crate::partition::{Days, PartitionKey, file_key};
use crate::rows::{LakeRow, lake_batch};
use crate::{Error, Result};

/// A Parquet file ready to be put, with the facts a summary reports.
#[derive(Debug, Clone)]
pub struct LakeFile {
    pub path: Path,
    pub rows: usize,
    pub bytes: Bytes,
}

/// A lake root: a local folder (or, through the same interface, an object store).
#[derive(Debug, Clone)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    location: String,
    /// The folder of a local lake, where an interrupted put leaves its
    /// temporary file.
    local_root: Option<std::path::PathBuf>,
}

impl Lake {
    /// A lake in a local folder, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| location(dir, e))?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Lake {
            store: Arc::new(store),
            location: dir.display().to_string(),
            local_root: Some(dir.to_path_buf()),
        })
    }

    /// A lake in memory, for tests.
    pub fn in_memory() -> Self {
        Lake {
            store: Arc::new(InMemory::new()),
            location: "memory://".into(),
            local_root: None,
        }
    }

    /// Wraps any object store (S3 in AWS, a fault-injecting store in tests).
    pub fn from_store(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Lake {
            store,
            location: location.into(),
            local_root: None,
        }
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Encodes `rows` into one file per `dt` partition, each named by `file_name`.
    pub fn encode<R: LakeRow>(rows: &[R], file_name: &str) -> Result<Vec<LakeFile>> {
        let mut days = Days::default();
        let shared = R::survey(rows, |at, r| days.add(at, r.partition_time()));
        days.groups(rows)
            .into_iter()
            .map(|(dt, group)| {
                let key = PartitionKey {
                    table: R::TABLE,
                    dt,
                };
                // The rows stay where they are, in the order decided; the
                // columns are built in the file's order.
                let order = R::sort_order(&group);
                let batch = lake_batch(&group, &order, &shared)?;
                Ok(LakeFile {
                    path: file_key(key, file_name)?,
                    rows: group.len(),
                    bytes: encode_parquet(R::TABLE, &batch)?,
                })
            })
            .collect()
    }

    /// Encodes one record batch of `table` (already in its schema and order)
    /// as the file `file_name` of partition `dt`.
    pub fn encode_batch(
        table: Table,
        dt: chrono::NaiveDate,
        file_name: &str,
        batch: &arrow_array::RecordBatch,
    ) -> Result<LakeFile> {
        Ok(LakeFile {
            path: file_key(PartitionKey { table, dt }, file_name)?,
            rows: batch.num_rows(),
            bytes: encode_parquet(table, batch)?,
        })
    }

    /// Puts a file. Local puts write a temporary file and rename it, so a reader
    /// never sees a partial Parquet file.
    pub async fn put(&self, file: &LakeFile) -> Result<()> {
        self.store
            .put(&file.path, PutPayload::from_bytes(file.bytes.clone()))
            .await?;
        Ok(())
    }

    /// Makes files durable, for a writer that is about to record them as
    /// written: each file's data, then every folder from the file's up to
    /// the lake's root, so the names survive a power loss too (a put
    /// renames its temporary file, and a partition's folder may be new).
    /// A file that is gone (deleted) has only its folders synced, which
    /// makes the delete durable. Object stores (S3, memory) acknowledge a
    /// put once it is durable, so for them there is nothing to do.
    pub fn sync<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) -> Result<()> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let mut folders = std::collections::BTreeSet::new();
        for path in paths {
            let file = local_path(root, path);
            match std::fs::File::open(&file) {
                Ok(f) => {
                    f.sync_data().map_err(|e| location(&file, e))?;
                    drop_cached_pages(&f, &file);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(location(&file, e)),
            }
            let mut folder = file.as_path();
            while let Some(parent) = folder.parent().filter(|p| p.starts_with(root)) {
                folders.insert(parent.to_path_buf());
                folder = parent;
            }
        }
        // Deepest first: a folder's entry in its parent is synced after
        // the folder itself.
        for folder in folders.iter().rev() {
            sync_folder(folder)?;
        }
        Ok(())
    }

    /// Removes a file; a file that is already gone is not an error.
    pub async fn delete(&self, path: &Path) -> Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the temporary files that local puts killed mid-write left in
    /// the folder `dir` (`NAME#N` beside the object `NAME`), for the objects
    /// whose names `owned` accepts. Listings and readers skip such files, so
    /// they only take space. Call it only as the one writer of those objects:
    /// a put of theirs in flight would lose its temporary file. Object stores
    /// without temporary files (S3, memory) have nothing to remove.
    pub fn remove_interrupted_puts(&self, dir: &Path, owned: impl Fn(&str) -> bool) -> Result<u64> {
        let Some(root) = &self.local_root else {
            return Ok(0);
        };
        let folder = local_path(root, dir);
        let entries = match std::fs::read_dir(&folder) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(location(&folder, e)),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some((object, n)) = name.to_str().and_then(|n| n.rsplit_once('#')) else {
                continue;
            };
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && owned(object) {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(location(&entry.path(), e)),
                }
            }
        }
        Ok(removed)
    }

    /// Every data file of a table, sorted by key.
    pub async fn list(&self, table: Table) -> Result<Vec<Path>> {
        let prefix = Path::from(table.name());
        let mut files: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await?;
        files.retain(|p| p.extension() == Some("parquet"));
        files.sort();
        Ok(files)
    }

    /// Reads a whole object.
    pub async fn get(&self, path: &Path) -> Result<Bytes> {
        Ok(self.store.get(path).await?.bytes().await?)
    }
}

/// Where the object `path` of a local lake at `root` is on disk.
fn local_path(root: &std::path::Path, path: &Path) -> std::path::PathBuf {
    path.parts()
        .fold(root.to_path_buf(), |p, part| p.join(part.as_ref()))
}

fn location(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Location(path.display().to_string(), e.to_string())
}

/// Drops a durable file's pages from the page cache. The lake's files are
/// written once and not read back by the writer, so an ingest keeps about a
/// chunk's files in the cache instead of the whole lake it writes (461 MB
/// for 10M events), and the next chunk's writes reuse the pages just let
/// go instead of taking fresh ones: on the benchmark's machine (a VM),
/// fresh pages are where the kernel's copies of the writes go slow (10M
/// ingest, 8 alternated pairs: median 10.25 → 9.78 s). Advice only: a
/// kernel that refuses it leaves the pages where they are.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn drop_cached_pages(file: &std::fs::File, path: &std::path::Path) {
    use rustix::fs::{Advice, fadvise};
    if let Err(e) = fadvise(file, 0, None, Advice::DontNeed) {
        tracing::debug!(file = %path.display(), error = %e, "page cache advice refused");
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn drop_cached_pages(_file: &std::fs::File, _path: &std::path::Path) {}

/// Syncs a folder's entries (the names in it). A folder that does not
/// exist has none; the sync of its parent covers its absence.
#[cfg(unix)]
fn sync_folder(folder: &std::path::Path) -> Result<()> {
    match std::fs::File::open(folder).and_then(|f| f.sync_all()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(location(folder, e)),
        _ => Ok(()),
    }
}

/// Folders cannot be opened as files here; a file's own sync is all there is.
#[cfg(not(unix))]
fn sync_folder(_folder: &std::path::Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use accesslake_model::{DAY_MICROS, Decision, Direction, IdNumbers, Reason};

    /// The files of a chunk: one per day its rows fall on, each with that
    /// day's rows, whether the days come in runs or interleaved.
    #[test]
    fn a_chunk_is_one_file_per_day_of_its_rows() {
        let rows: Vec<Decision> = [0, 0, 2, 0, 2, 2, 5, 0, 5]
            .into_iter()
            .enumerate()
            .map(|(i, day)| Decision {
                event_id: format!("e{i}").as_str().into(),
                occurred_at: (20_000 + day) * DAY_MICROS + i as i64,
                processed_at: 0,
                site_id: Some("s".into()),
                zone_id: Some("z".into()),
                door_id: "d".into(),
                card_id: format!("c{}", i % 3).into(),
                employee_id: None,
                direction: Direction::In,
                outcome: Reason::UnknownCard.outcome(),
                reason: Reason::UnknownCard,
                presence_change: 0,
                local: None,
                numbers: IdNumbers {
                    card: (i % 3) as u32,
                    ..IdNumbers::UNKNOWN
                },
            })
            .collect();
        let files = Lake::encode(&rows, "part-a.parquet").unwrap();
        let got: Vec<(String, usize)> =
            files.iter().map(|f| (f.path.to_string(), f.rows)).collect();
        let want: Vec<(String, usize)> = crate::partition_days(&rows)
            .into_iter()
            .map(|(dt, g)| {
                let key = PartitionKey {
                    table: Table::Decisions,
                    dt,
                };
                (
                    file_key(key, "part-a.parquet").unwrap().to_string(),
                    g.len(),
                )
            })
            .collect();
        assert_eq!(got, want);
        let days: Vec<usize> = got.iter().map(|(_, n)| *n).collect();
        assert_eq!(days, [4, 3, 2]);
    }

    #[test]
    fn sync_takes_written_deleted_and_never_written_files() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::local(dir.path()).unwrap();
        let part = dir.path().join("decisions").join("dt=2026-03-02");
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(part.join("a.parquet"), b"PAR1").unwrap();
        let written = Path::from("decisions/dt=2026-03-02/a.parquet");
        let deleted = Path::from("decisions/dt=2026-03-02/b.parquet");
        // A key recorded before a crash that came before its folder was made.
        let never = Path::from("decisions/dt=2026-03-09/c.parquet");
        lake.sync([&written, &deleted, &never]).unwrap();
        // Its pages may have left the cache; its bytes have not.
        assert_eq!(std::fs::read(part.join("a.parquet")).unwrap(), b"PAR1");
        Lake::in_memory().sync([&written]).unwrap();
    }

    #[test]
    fn sync_reports_a_file_it_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::local(dir.path()).unwrap();
        // A folder where a file is expected: its parent is a file.
        std::fs::write(dir.path().join("decisions"), b"x").unwrap();
        let err = lake
            .sync([&Path::from("decisions/dt=2026-03-02/a.parquet")])
            .unwrap_err();
        assert!(err.to_string().contains("decisions"), "{err}");
    }

    #[test]
    fn only_temporary_files_of_owned_objects_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::local(dir.path()).unwrap();
        let part = dir.path().join("decisions").join("dt=2026-03-02");
        std::fs::create_dir_all(&part).unwrap();
        let names = [
            "a.parquet",    // the object itself
            "a.parquet#3",  // its interrupted put
            "a.parquet#12", // another one
            "a.parquet#x",  // not a temporary file name
            "a.parquet#",   // nor this
            "b.parquet#1",  // another writer's put
        ];
        for n in names {
            std::fs::write(part.join(n), b"x").unwrap();
        }
        let removed = lake
            .remove_interrupted_puts(&Path::from("decisions/dt=2026-03-02"), |n| n == "a.parquet")
            .unwrap();
        assert_eq!(removed, 2);
        let mut left: Vec<String> = std::fs::read_dir(&part)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["a.parquet", "a.parquet#", "a.parquet#x", "b.parquet#1"]
        );
        // A folder that does not exist has nothing to remove; stores other
        // than a local folder have no temporary files.
        let missing = Path::from("decisions/dt=2026-03-03");
        assert_eq!(lake.remove_interrupted_puts(&missing, |_| true).unwrap(), 0);
        let mem = Lake::in_memory();
        assert_eq!(mem.remove_interrupted_puts(&missing, |_| true).unwrap(), 0);
    }
}
