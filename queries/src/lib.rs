//! The SQL catalog and the engines that run it.
//!
//! - [`catalog`]: the named queries of `queries/sql/*.sql`, one text for every engine.
//! - [`params`]: typed parameter values, bound by the engine, never spliced into SQL.
//! - [`QueryEngine`]: the seam; [`DataFusionEngine`] runs locally over any object store.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod catalog;
mod datafusion_engine;
mod engine;
pub mod params;

pub use catalog::{CATALOG, Query, query};
pub use datafusion_engine::{DataFusionEngine, json_extract_scalar};
pub use engine::QueryEngine;
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
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Result of the query stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;
