//! The seam between the catalog and the engines that run it.

use arrow_array::RecordBatch;

use crate::{Params, Query, Result};

/// Runs catalog queries (and analysts' SQL) against the lake tables:
/// `decisions`, `admin_events`, `rejected` and the snapshots `employees`,
/// `cards`, `zones`, `doors`, `grants`.
#[async_trait::async_trait]
pub trait QueryEngine: Send + Sync {
    /// A short name for messages (`datafusion`, `athena`).
    fn name(&self) -> &'static str;

    /// Runs a catalog query with its named parameters bound by the engine.
    async fn run(&self, query: &Query, params: &Params) -> Result<Vec<RecordBatch>>;

    /// Runs one SQL statement as written (the `accesslake sql` command).
    async fn sql(&self, text: &str) -> Result<Vec<RecordBatch>>;
}
