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
use crate::partition::{PartitionKey, file_key, partition_rows};
use crate::rows::{LakeRow, record_batch};
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
}

impl Lake {
    /// A lake in a local folder, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Location(dir.display().to_string(), e.to_string()))?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Lake {
            store: Arc::new(store),
            location: dir.display().to_string(),
        })
    }

    /// A lake in memory, for tests.
    pub fn in_memory() -> Self {
        Lake {
            store: Arc::new(InMemory::new()),
            location: "memory://".into(),
        }
    }

    /// Wraps any object store (S3 in AWS, a fault-injecting store in tests).
    pub fn from_store(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Lake {
            store,
            location: location.into(),
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
        partition_rows(rows)
            .into_iter()
            .map(|(dt, group)| {
                let key = PartitionKey {
                    table: R::TABLE,
                    dt,
                };
                let batch = record_batch(&group)?;
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

    /// Removes a file; a file that is already gone is not an error.
    pub async fn delete(&self, path: &Path) -> Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
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
