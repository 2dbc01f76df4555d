//! Reports (SPEC 6): what each one is, how it is computed from the catalog,
//! and how it is rendered.
//!
//! - [`REPORTS`]: the definitions (audience, parameters, columns).
//! - [`run_report`]: runs a report on any [`QueryEngine`] into a [`Report`].
//! - [`render`]: CSV, JSON and a terminal table; [`html`]: pages with inline SVG charts.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cells;
pub mod html;
pub mod render;
mod reports;

pub use cells::{Cell, batches_to_rows};
pub use reports::{
    DEFAULT_DORMANT_DAYS, REPORTS, ReportArgs, ReportDef, ReportParams, report, run_report,
};

/// A computed report: its parameters and its rows, in the columns of SPEC 6.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub name: &'static str,
    /// Parameter name and value as given (RFC 3339 for instants).
    pub params: Vec<(String, String)>,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown report `{0}`; reports: {1}")]
    UnknownReport(String, String),
    #[error("report `{0}` needs {1}")]
    MissingParam(&'static str, &'static str),
    #[error("report `{0}`: {1}")]
    BadParam(&'static str, String),
    #[error(transparent)]
    Query(#[from] accesslake_queries::Error),
    #[error("report `{0}`: the query returned column `{1}` where `{2}` was expected")]
    Shape(&'static str, String, &'static str),
}

/// Result of the report stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;
