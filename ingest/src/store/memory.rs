//! A store in memory, for tests and benchmarks. It encodes entities exactly as
//! the persistent stores do, so it exercises the same codec.

use std::collections::{BTreeMap, HashSet};

use super::codec;
use super::{Commit, StateStore};
use crate::Result;
use crate::state::{EntityRef, State};

type Key = (String, String, String);

/// State held in process memory; gone when dropped.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entry_ids: HashSet<String>,
    admin_ids: HashSet<String>,
    rejected_keys: HashSet<String>,
    entities: BTreeMap<Key, Vec<u8>>,
    versions: BTreeMap<Key, i64>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

fn key(e: &EntityRef) -> Key {
    let (a, b) = e.key();
    (e.kind().to_string(), a.to_string(), b.to_string())
}

impl StateStore for MemoryStore {
    fn load(&self) -> Result<State> {
        let mut state = State::default();
        for ((kind, a, b), v) in &self.entities {
            codec::decode_into(&mut state, kind, a, b, v)?;
        }
        for ((kind, a, b), v) in &self.versions {
            state.versions.insert(codec::entity_ref(kind, a, b)?, *v);
        }
        Ok(state)
    }

    fn known_entry_ids(&self, ids: &[&str]) -> Result<Vec<bool>> {
        Ok(ids.iter().map(|id| self.entry_ids.contains(*id)).collect())
    }

    fn known_admin_ids(&self, ids: &[&str]) -> Result<Vec<bool>> {
        Ok(ids.iter().map(|id| self.admin_ids.contains(*id)).collect())
    }

    fn known_rejected_keys(&self, keys: &[&str]) -> Result<Vec<bool>> {
        Ok(keys
            .iter()
            .map(|k| self.rejected_keys.contains(*k))
            .collect())
    }

    fn commit(&mut self, c: &Commit<'_>) -> Result<()> {
        self.rejected_keys.extend(c.rejected_keys.iter().cloned());
        self.entry_ids.extend(c.entry_ids.iter().cloned());
        self.admin_ids.extend(c.admin_ids.iter().cloned());
        for e in c.dirty {
            match codec::encode(c.state, e) {
                Some(v) => self.entities.insert(key(e), v),
                None => self.entities.remove(&key(e)),
            };
            if let Some(&v) = c.state.versions.get(e) {
                self.versions.insert(key(e), v);
            }
        }
        Ok(())
    }
}
