//! Landing rows in the lake: Arrow conversion, Hive `dt=` partitioning and
//! Parquet encoding, written through `object_store` so the same code serves a
//! local folder, S3 and an in-memory store.
//!
//! - [`rows`]: the [`LakeRow`] trait and Arrow record batches for each table.
//! - [`partition`]: the pure mapping from rows to partition keys.
//! - [`parquet_file`]: [`writer_properties`] (the one place for Parquet settings) and encoding,
//!   string columns with sorted dictionaries (`sorted_dictionary`), event ids (`delta_length`),
//!   integers and timestamps (`integers`).
//! - [`lake`]: [`Lake`], the object-store handle that writes and removes files.
//! - [`compact`]: compaction of partitions (crash-safe, deduplicating) and retention.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod compact;
mod delta_length;
mod integers;
pub mod lake;
pub mod parquet_file;
pub mod partition;
pub mod rows;
mod sorted_dictionary;

pub use lake::{Lake, LakeFile};
pub use parquet_file::{encode_parquet, writer_properties};
pub use partition::{PartitionKey, file_key, partition_days};
pub use rows::{LakeRow, lake_batch, record_batch};

/// Errors of the lake writer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("lake location {0:?}: {1}")]
    Location(String, String),
    #[error("cannot read {0}: {1}")]
    Unreadable(String, String),
    #[error("refusing object key part {0:?}: {1}")]
    UnsafeKey(String, &'static str),
}

impl Error {
    /// Whether the same write may succeed when tried again.
    pub fn is_retryable(&self) -> bool {
        use object_store::Error as E;
        match self {
            Error::ObjectStore(e) => !matches!(
                e,
                E::NotFound { .. }
                    | E::InvalidPath { .. }
                    | E::NotSupported { .. }
                    | E::PermissionDenied { .. }
                    | E::Unauthenticated { .. }
                    | E::UnknownConfigurationKey { .. }
                    | E::NotImplemented { .. }
            ),
            _ => false,
        }
    }
}

/// Result of the lake writer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
