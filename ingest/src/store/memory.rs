//! Stores in memory, for tests and benchmarks. They encode entities exactly as
//! the persistent stores do, so they exercise the same codec.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use accesslake_model::{AdminRecord, Decision};
use async_trait::async_trait;

use super::{Commit, StateStore, codec, outcome};
use crate::batch::{BatchStore, Stored, Write, WriteError};
use crate::state::{EntityRef, Map, State};
use crate::{Error, Result};

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
        self.entry_ids
            .extend(c.entry_ids.iter().map(|id| id.to_string()));
        self.admin_ids
            .extend(c.admin_ids.iter().map(|id| id.to_string()));
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

/// The [`BatchStore`] in process memory: what the Lambda handlers see of
/// DynamoDB, without the network. For the handler benchmark (the handler's
/// own CPU, no database engine) and the conformance suite. Same codec, same
/// conditions as [`super::EmbeddedStore`] and the DynamoDB store.
#[derive(Debug, Default)]
pub struct MemoryBatchStore {
    inner: Mutex<BatchMemory>,
}

/// Hashed as the state is (see [`Map`]): the store stands in for DynamoDB,
/// whose lookups are not the handler's CPU, so its own share is kept small.
#[derive(Debug, Default)]
struct BatchMemory {
    decisions: Map<String, String>,
    admin: Map<String, String>,
    entities: Map<Key, Vec<u8>>,
    versions: Map<Key, i64>,
}

impl MemoryBatchStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn memory(&self) -> Result<MutexGuard<'_, BatchMemory>> {
        self.inner
            .lock()
            .map_err(|_| Error::Store("the in-memory store was poisoned by a panic".into()))
    }
}

fn owned(kind: &str, a: &str, b: &str) -> Key {
    (kind.to_string(), a.to_string(), b.to_string())
}

impl BatchMemory {
    /// Checks one write's conditions and applies it; `Some(reason)` if a
    /// condition does not hold (nothing of this write is applied then).
    fn apply(&mut self, w: &Write) -> Option<String> {
        match w {
            Write::Entry { decision, presence } => {
                let id = decision.row.event_id.as_str();
                if self.decisions.contains_key(id) {
                    return Some(format!("event {id} already decided"));
                }
                if let Some(p) = presence {
                    let key = owned("presence", &p.employee_id, &p.zone_id);
                    if self.entities.contains_key(&key) == p.inside {
                        return Some("presence already changed".into());
                    }
                    if p.inside {
                        self.entities.insert(key, Vec::new());
                    } else {
                        self.entities.remove(&key);
                    }
                }
                self.decisions
                    .insert(id.to_string(), outcome::encode_decision(decision));
            }
            Write::Admin { record, entity } => {
                let id = record.row.event_id.as_str();
                if self.admin.contains_key(id) {
                    return Some(format!("admin event {id} already recorded"));
                }
                if let Some(e) = entity {
                    let (a, b) = e.entity.key();
                    let key = owned(e.entity.kind(), a, b);
                    if self.versions.get(&key).is_some_and(|&v| v > e.version) {
                        return Some("entity has a newer version".into());
                    }
                    match &e.value {
                        Some(v) => self.entities.insert(key.clone(), v.clone()),
                        None => self.entities.remove(&key),
                    };
                    self.versions.insert(key, e.version);
                }
                self.admin
                    .insert(id.to_string(), outcome::encode_admin(record));
            }
        }
        None
    }
}

#[async_trait]
impl BatchStore for MemoryBatchStore {
    async fn decisions(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<Decision>>>> {
        let m = self.memory()?;
        event_ids
            .iter()
            .map(|id| {
                m.decisions
                    .get(*id)
                    .map(|v| outcome::decode_decision(id, v))
                    .transpose()
            })
            .collect()
    }

    async fn admin_records(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<AdminRecord>>>> {
        let m = self.memory()?;
        event_ids
            .iter()
            .map(|id| {
                m.admin
                    .get(*id)
                    .map(|v| outcome::decode_admin(id, v))
                    .transpose()
            })
            .collect()
    }

    async fn load_into(&self, keys: &[EntityRef], state: &mut State) -> Result<()> {
        let m = self.memory()?;
        for e in keys {
            let (a, b) = e.key();
            let key = owned(e.kind(), a, b);
            if let Some(v) = m.entities.get(&key) {
                codec::decode_into(state, e.kind(), a, b, v)?;
            }
            if let Some(&v) = m.versions.get(&key) {
                state.versions.insert(e.clone(), v);
            }
        }
        Ok(())
    }

    async fn write(&self, writes: &[Write]) -> Result<(), WriteError> {
        let mut m = self.memory().map_err(|error| WriteError {
            committed: 0,
            error,
        })?;
        for (done, w) in writes.iter().enumerate() {
            if let Some(why) = m.apply(w) {
                return Err(WriteError {
                    committed: done,
                    error: Error::Conflict(why),
                });
            }
        }
        Ok(())
    }
}
