//! The AWS side of the catalog (feature `aws`): the Athena engine and the
//! Glue catalog sync, with clients from the standard AWS configuration chain.

pub mod athena;
pub mod glue_sync;

pub use athena::{AthenaEngine, AthenaSettings};
pub use glue_sync::{Change, SyncReport, sync, sync_from_env};
