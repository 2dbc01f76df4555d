//! The seam between the catalog and the engines that run it.

use std::pin::Pin;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::Stream;

use crate::{Params, Query, Result};

/// Result batches as the engine produces them: a caller that writes each
/// one out holds one batch at a time, not the whole answer.
pub struct BatchStream {
    /// The columns of every batch (known before the first row).
    pub schema: SchemaRef,
    pub batches: Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>,
}

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

    /// Runs SQL text whose `$name` placeholders are bound to `params` by the
    /// engine (`accesslake sql --param`).
    async fn sql_with_params(&self, text: &str, params: &Params) -> Result<Vec<RecordBatch>>;

    /// [`Self::sql_with_params`] as a stream of batches. An engine that only
    /// answers whole (Athena pages its results) hands over what it collected.
    async fn sql_stream(&self, text: &str, params: &Params) -> Result<BatchStream> {
        let batches = self.sql_with_params(text, params).await?;
        let schema = batches.first().map_or_else(
            || std::sync::Arc::new(arrow_schema::Schema::empty()),
            RecordBatch::schema,
        );
        Ok(BatchStream {
            schema,
            batches: Box::pin(futures::stream::iter(batches.into_iter().map(Ok))),
        })
    }

    /// What the queries run since the last call cost, oldest first (Athena
    /// reports bytes scanned; an engine that measures nothing returns none).
    fn take_stats(&self) -> Vec<QueryStats> {
        Vec::new()
    }
}

/// The cost of one query run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryStats {
    /// The catalog query's name, or `sql`.
    pub label: String,
    pub engine: &'static str,
    /// The engine's id of the run (Athena's query execution id).
    pub query_id: Option<String>,
    /// Wall time from submission to the last result row.
    pub elapsed: std::time::Duration,
    /// Time the engine reports it spent running the query.
    pub engine_millis: Option<i64>,
    /// Bytes the engine read from the lake (what Athena bills).
    pub bytes_scanned: Option<u64>,
}

/// Athena's list price in US dollars per TiB scanned (most regions).
pub const ATHENA_USD_PER_TB: f64 = 5.0;

/// The bytes Athena bills a query for: what it scanned, rounded up to whole
/// megabytes, and at least 10 MB (DDL and failed queries aside).
pub fn athena_billed_bytes(scanned: u64) -> u64 {
    const MB: u64 = 1 << 20;
    scanned.div_ceil(MB).max(10) * MB
}

/// What a query that scanned `scanned` bytes costs on Athena, in US dollars.
pub fn athena_cost_usd(scanned: u64) -> f64 {
    athena_billed_bytes(scanned) as f64 / (1u64 << 40) as f64 * ATHENA_USD_PER_TB
}

#[cfg(test)]
mod cost_tests {
    use super::*;

    #[test]
    fn athena_bills_whole_megabytes_and_at_least_ten() {
        const MB: u64 = 1 << 20;
        assert_eq!(athena_billed_bytes(0), 10 * MB);
        assert_eq!(athena_billed_bytes(3 * MB), 10 * MB);
        assert_eq!(athena_billed_bytes(10 * MB + 1), 11 * MB);
        assert_eq!(athena_billed_bytes(64 * MB), 64 * MB);
        // A TiB costs the list price; the 10 MB minimum costs 5 $ / 104,857.6.
        assert!((athena_cost_usd(1 << 40) - 5.0).abs() < 1e-12);
        assert!((athena_cost_usd(1) - 5.0 * 10.0 / 1_048_576.0).abs() < 1e-15);
    }
}
