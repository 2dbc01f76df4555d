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
    /// What [`StateStore::check_entry_ids`] kept of `entry_ids`, when they
    /// are exactly the ids it did not flag; [`IdKeys::default`] otherwise.
    pub entry_keys: &'a IdKeys,
    /// The same for `admin_ids` and [`StateStore::check_admin_ids`].
    pub admin_keys: &'a IdKeys,
    /// Keys of rejected records landed in this chunk ([`StateStore::rejected_key`]).
    pub rejected_keys: &'a [String],
}

/// A chunk's ids as a store checked them: which to drop, and what the store
/// keeps of the others for the commit that records them.
#[derive(Debug, Default)]
pub struct IdCheck {
    /// For each id: recorded by an earlier commit, or repeated earlier in
    /// the list.
    pub duplicate: Vec<bool>,
    /// For [`Commit::entry_keys`] or [`Commit::admin_keys`].
    pub keys: IdKeys,
}

/// The store's own keys of the ids a check did not flag, so that the commit
/// recording them does not derive them again. Opaque outside the store;
/// [`IdKeys::default`] holds nothing and the commit derives the keys itself.
#[derive(Debug, Default)]
pub struct IdKeys(pub(crate) Option<Vec<u128>>);

/// [`IdCheck`] from a store's `known` answer, repeats found with a set.
fn check_by_set(ids: &[&str], known: Vec<bool>) -> IdCheck {
    let mut seen: crate::state::Set<&str> =
        crate::state::Set::with_capacity_and_hasher(ids.len(), Default::default());
    let duplicate = ids
        .iter()
        .zip(known)
        .map(|(id, known)| !seen.insert(id) || known)
        .collect();
    IdCheck {
        duplicate,
        keys: IdKeys::default(),
    }
}

/// Identifies a rejected record across runs: where it came from and a stable
/// hash of its bytes, so re-reading an unchanged file rejects nothing twice.
/// The keys of [`RejectedKeys::Fnv1a`].
pub fn rejected_key(source_ref: &str, raw: &[u8]) -> String {
    RejectedKeys::Fnv1a.key(source_ref, raw)
}

/// How a store names rejected records ([`StateStore::rejected_key`]). A
/// store keeps one scheme for life: the keys it holds are compared, never
/// re-derived (the records' bytes are not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectedKeys {
    /// `source_ref#` and FNV-1a of the bytes in 16 hex digits. FNV-1a takes
    /// a multiplication per byte, one after another: 65,536 bytes of an
    /// oversize line cost about 0.1 ms.
    Fnv1a,
    /// `source_ref#x` and XXH3-64 of the bytes in 16 hex digits: a fixed
    /// algorithm that reads eight bytes and more per step. The `x` keeps
    /// its keys apart from [`RejectedKeys::Fnv1a`]'s.
    Xxh3,
}

impl RejectedKeys {
    pub fn key(self, source_ref: &str, raw: &[u8]) -> String {
        match self {
            RejectedKeys::Fnv1a => {
                // Stable across processes and versions, unlike std's hasher.
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for &b in raw {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0000_0100_0000_01b3);
                }
                format!("{source_ref}#{h:016x}")
            }
            RejectedKeys::Xxh3 => {
                let h = twox_hash::XxHash3_64::oneshot(raw);
                format!("{source_ref}#x{h:016x}")
            }
        }
    }
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
    /// For each id, whether it is an entry event committed before or a
    /// repeat of one earlier in `ids`; and the keys the commit of the other
    /// ids can use ([`Commit::entry_keys`]).
    fn check_entry_ids(&self, ids: &[&str]) -> Result<IdCheck> {
        Ok(check_by_set(ids, self.known_entry_ids(ids)?))
    }
    /// [`StateStore::check_entry_ids`] for admin event ids.
    fn check_admin_ids(&self, ids: &[&str]) -> Result<IdCheck> {
        Ok(check_by_set(ids, self.known_admin_ids(ids)?))
    }
    /// For each key, whether a rejected record with that key was committed.
    fn known_rejected_keys(&self, keys: &[&str]) -> Result<Vec<bool>>;
    /// The key this store records a rejected record under, for
    /// [`StateStore::known_rejected_keys`] and [`Commit::rejected_keys`].
    fn rejected_key(&self, source_ref: &str, raw: &[u8]) -> String {
        rejected_key(source_ref, raw)
    }
    /// Persists one chunk atomically.
    fn commit(&mut self, commit: &Commit<'_>) -> Result<()>;
}
