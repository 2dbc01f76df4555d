//! Persistence of [`State`] behind one small trait, with two implementations:
//! [`EmbeddedStore`] (redb, on disk, transactional; the local default) and
//! [`MemoryStore`] (tests and benchmarks). The Lambda path reads through
//! [`crate::BatchStore`], which the embedded store and `DynamoStore` (feature
//! `aws`) implement; `tests/state_store.rs` and `tests/batch_store_*.rs` are
//! the conformance suites.

pub(crate) mod codec;
#[cfg(feature = "aws")]
mod dynamodb;
mod embedded;
mod id_index;
mod memory;
pub mod outcome;

#[cfg(feature = "aws")]
pub use dynamodb::{DynamoStore, entity_key};
pub use embedded::EmbeddedStore;
pub use memory::{MemoryBatchStore, MemoryStore};

use crate::Result;
use crate::state::{EntityRef, State};

/// One atomic unit of progress: the event ids consumed and the entities changed.
#[derive(Debug)]
pub struct Commit<'a> {
    /// The state after the chunk; the values of `dirty` entities are read from it.
    pub state: &'a State,
    /// Entities (and presence pairs) changed since the last commit.
    pub dirty: &'a [EntityRef],
    /// Entry event ids decided in this chunk.
    pub entry_ids: &'a [&'a str],
    /// Admin event ids recorded (applied or not) in this chunk.
    pub admin_ids: &'a [&'a str],
    /// Keys of rejected records landed in this chunk ([`rejected_key`]).
    pub rejected_keys: &'a [String],
}

/// Identifies a rejected record across runs: where it came from and a stable
/// hash of its bytes, so re-reading an unchanged file rejects nothing twice.
pub fn rejected_key(source_ref: &str, raw: &[u8]) -> String {
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in raw {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{source_ref}#{h:016x}")
}

/// Durable home of the decision state.
///
/// Contract (checked by the conformance suite): [`StateStore::load`] after a
/// [`StateStore::commit`] returns the committed state; event ids are known
/// after the commit that carries them and not before; a commit is all or nothing.
pub trait StateStore {
    /// The committed state: dimensions, grants, presence and entity versions.
    fn load(&self) -> Result<State>;
    /// For each id, whether an entry event with that id was committed.
    fn known_entry_ids(&self, ids: &[&str]) -> Result<Vec<bool>>;
    /// For each id, whether an admin event with that id was committed.
    fn known_admin_ids(&self, ids: &[&str]) -> Result<Vec<bool>>;
    /// For each key, whether a rejected record with that key was committed.
    fn known_rejected_keys(&self, keys: &[&str]) -> Result<Vec<bool>>;
    /// Persists one chunk atomically.
    fn commit(&mut self, commit: &Commit<'_>) -> Result<()>;
}
