//! Deciding scans and applying admin events, and keeping the state they need.
//!
//! - [`decide()`]: the decision rules of SPEC 3 as a pure function of [`State`].
//! - [`apply_admin`]: admin semantics (stale, unknown entity, last writer wins).
//! - [`StateStore`]: where state lives — [`EmbeddedStore`] (redb) and [`MemoryStore`].
//! - [`batch`]: one Lambda batch against a [`BatchStore`] that loads only what it needs.
//! - [`Processor`]: a chunk of events in order, deduplicated by event_id.
//! - [`envelope`]: unwrapping admin messages (SNS, raw, S3 notifications).
//! - [`reader`]: bounded JSONL reading and the streaming merge of files.
//! - [`local`]: the local pipeline behind `accesslake ingest`.
//! - [`sink`]: where a Lambda batch's rows land ([`sink::DecisionSink`]).
//! - `aws` (feature `aws`): DynamoDB store, Firehose sink, the two Lambda handlers.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod apply;
#[cfg(feature = "aws")]
pub mod aws;
pub mod batch;
pub mod decide;
pub mod envelope;
mod error;
pub mod local;
pub mod processor;
pub mod reader;
pub mod sink;
pub mod snapshot;
pub mod state;
pub mod store;

pub use apply::apply_admin;
pub use batch::{BatchOutput, BatchStore, Delivered, Write, WriteError};
pub use decide::{decide, schedule_allows};
pub use error::{Error, Result};
pub use local::{IngestOptions, LocalPipeline, Summary};
pub use processor::{ChunkOutput, Processor, Stats};
pub use state::{Card, EntityRef, Grant, State};
pub use store::{Commit, EmbeddedStore, MemoryBatchStore, MemoryStore, StateStore};
