//! The SQL catalog and the engines that run it.
//!
//! - [`catalog`]: the named queries of `queries/sql/*.sql`, one text for every engine.
//! - [`params`]: typed parameter values, bound by the engine, never spliced into SQL.
//! - [`QueryEngine`]: the seam; [`DataFusionEngine`] runs locally over any object store.
//! - [`glue`]: the Glue catalog of the lake tables, generated from their Arrow schemas.
//! - `aws` (feature `aws`): the Athena engine and the Glue catalog sync.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "aws")]
pub mod aws;
pub mod catalog;
mod compact_views;
mod datafusion_engine;
mod engine;
pub mod glue;
pub mod params;
mod row_number;
mod view_min_max;

pub use catalog::{CATALOG, Query, query};
pub use datafusion_engine::{DEFAULT_MEMORY_LIMIT, DataFusionEngine, json_extract_scalar};
pub use engine::{BatchStream, QueryEngine, QueryStats, athena_billed_bytes, athena_cost_usd};
pub use params::{Params, Value};

/// Errors of the query stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Param(String),
    #[error("lake: {0}")]
    Lake(String),
    #[error("query engine: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    #[error("athena: {0}")]
    Athena(String),
    #[error("glue: {0}")]
    Glue(String),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Result of the query stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// This crate's folder, as cargo or nextest gives it to the running test (a
/// test binary can be reused from another checkout of the same target
/// folder, with another folder compiled in).
#[cfg(test)]
pub(crate) fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
        .into()
}
