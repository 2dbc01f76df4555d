//! Processing a chunk of events in order against the state: duplicates
//! dropped by event_id, entry events decided, admin events applied.

use std::collections::BTreeMap;
use std::sync::Arc;

use accesslake_model::{AdminRecord, Clock, Decision, Event, Outcome, Reason, Rejected};

use crate::Result;
use crate::apply::apply_admin;
use crate::decide::{ClockCache, apply_presence_pair, decide_pair};
use crate::state::{Set, State};
use crate::store::{Commit, IdKeys, StateStore};

/// What one chunk produced.
#[derive(Debug, Default)]
pub struct ChunkOutput {
    pub decisions: Vec<Decision>,
    pub admin: Vec<AdminRecord>,
    pub rejected: Vec<Rejected>,
    pub stats: Stats,
    rejected_keys: Vec<String>,
    /// The store's keys of the entry ids decided and the admin ids
    /// recorded, for the commit ([`Commit::entry_keys`]).
    id_keys: (IdKeys, IdKeys),
}

/// Counts for summaries and metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub entries_decided: u64,
    pub granted: u64,
    pub denied: u64,
    pub by_reason: BTreeMap<Reason, u64>,
    pub admin_applied: u64,
    pub admin_not_applied: u64,
    pub duplicate_entries: u64,
    pub duplicate_admin: u64,
    pub rejected: u64,
    pub duplicate_rejected: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.entries_decided += o.entries_decided;
        self.granted += o.granted;
        self.denied += o.denied;
        for (r, n) in &o.by_reason {
            *self.by_reason.entry(*r).or_default() += n;
        }
        self.admin_applied += o.admin_applied;
        self.admin_not_applied += o.admin_not_applied;
        self.duplicate_entries += o.duplicate_entries;
        self.duplicate_admin += o.duplicate_admin;
        self.rejected += o.rejected;
        self.duplicate_rejected += o.duplicate_rejected;
    }
}

/// Decides events against a [`StateStore`], chunk by chunk.
///
/// `process` changes the in-memory state; `commit` makes it durable. If a
/// chunk's processing or commit fails, discard the processor (or call
/// [`Processor::reload`]): its memory is then ahead of the store.
pub struct Processor<S: StateStore> {
    store: S,
    state: State,
    clock: Arc<dyn Clock>,
    /// The decisions vector of the last recycled chunk, emptied.
    spare_decisions: Vec<Decision>,
    clocks: ClockCache,
}

impl<S: StateStore> std::fmt::Debug for Processor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor").finish_non_exhaustive()
    }
}

impl<S: StateStore> Processor<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Result<Self> {
        let state = store.load()?;
        Ok(Processor {
            store,
            state,
            clock,
            spare_decisions: Vec::new(),
            clocks: ClockCache::default(),
        })
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Drops uncommitted changes by reloading the committed state.
    pub fn reload(&mut self) -> Result<()> {
        self.state = self.store.load()?;
        Ok(())
    }

    /// [`Processor::process`] emptying `events`, whose memory the caller
    /// keeps for the next chunk.
    pub fn process_drain(
        &mut self,
        events: &mut Vec<Event>,
        rejected: Vec<Rejected>,
    ) -> Result<ChunkOutput> {
        let out = self.process(events, rejected);
        events.clear();
        out
    }

    /// Processes events in the given order, and rejected records (kept once).
    pub fn process(&mut self, events: &[Event], rejected: Vec<Rejected>) -> Result<ChunkOutput> {
        let (duplicate, id_keys) = self.duplicates(events)?;
        // Decisions fill the vector of an earlier chunk: a chunk's decisions
        // are tens of megabytes, and fresh memory is zeroed by the kernel
        // before first use.
        let mut decisions = std::mem::take(&mut self.spare_decisions);
        decisions.clear();
        decisions.reserve(events.len());
        let mut out = ChunkOutput {
            decisions,
            id_keys,
            ..ChunkOutput::default()
        };
        let now = self.clock.now();
        // Counted by the reason's place in `Reason::ALL`, named once at the end.
        let mut by_reason = [0u64; Reason::ALL.len()];
        for (ev, duplicate) in events.iter().zip(duplicate) {
            match ev {
                Event::Entry(e) => {
                    if duplicate {
                        out.stats.duplicate_entries += 1;
                        continue;
                    }
                    let (d, pair) = decide_pair(&self.state, &mut self.clocks, e, now);
                    apply_presence_pair(&mut self.state, pair, &d);
                    out.stats.entries_decided += 1;
                    match d.outcome {
                        Outcome::Granted => out.stats.granted += 1,
                        Outcome::Denied => out.stats.denied += 1,
                    }
                    if let Some(n) = by_reason.get_mut(d.reason as usize) {
                        *n += 1;
                    }
                    out.decisions.push(d);
                }
                Event::Admin(a) => {
                    if duplicate {
                        out.stats.duplicate_admin += 1;
                        continue;
                    }
                    let rec = apply_admin(&mut self.state, a, now);
                    if rec.applied {
                        out.stats.admin_applied += 1;
                    } else {
                        out.stats.admin_not_applied += 1;
                    }
                    out.admin.push(rec);
                }
            }
        }
        for (reason, n) in Reason::ALL.into_iter().zip(by_reason) {
            if n > 0 {
                out.stats.by_reason.insert(reason, n);
            }
        }

        let keys: Vec<String> = rejected
            .iter()
            .map(|r| self.store.rejected_key(&r.source_ref, r.raw.as_bytes()))
            .collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let known = self.store.known_rejected_keys(&key_refs)?;
        let mut seen: Set<&str> = Set::default();
        for ((r, key), known) in rejected.into_iter().zip(&keys).zip(known) {
            if known || !seen.insert(key.as_str()) {
                out.stats.duplicate_rejected += 1;
                continue;
            }
            out.stats.rejected += 1;
            out.rejected_keys.push(key.clone());
            out.rejected.push(r);
        }
        Ok(out)
    }

    /// For each event, whether its id was decided (or recorded) before or
    /// appears earlier in the chunk; and the store's keys of the others.
    fn duplicates(&self, events: &[Event]) -> Result<(Vec<bool>, (IdKeys, IdKeys))> {
        let (mut entry_ids, mut admin_ids) = (Vec::new(), Vec::new());
        for ev in events {
            match ev {
                Event::Entry(e) => entry_ids.push(e.event_id.as_str()),
                Event::Admin(a) => admin_ids.push(a.event_id.as_str()),
            }
        }
        let entry = self.store.check_entry_ids(&entry_ids)?;
        let admin = self.store.check_admin_ids(&admin_ids)?;
        let mut entry_dup = entry.duplicate.iter();
        let mut admin_dup = admin.duplicate.iter();
        let duplicate = events
            .iter()
            .map(|ev| match ev {
                Event::Entry(_) => entry_dup.next().copied().unwrap_or(false),
                Event::Admin(_) => admin_dup.next().copied().unwrap_or(false),
            })
            .collect();
        Ok((duplicate, (entry.keys, admin.keys)))
    }

    /// Hands a committed chunk back, so the next chunk reuses its memory.
    pub fn recycle(&mut self, out: ChunkOutput) {
        self.spare_decisions = out.decisions;
    }

    /// Makes a processed chunk durable: the ids of its decisions and admin
    /// records, its rejected keys and every entity it changed, in one store
    /// transaction.
    pub fn commit(&mut self, out: &ChunkOutput) -> Result<()> {
        let dirty = self.state.take_dirty();
        // Every decided entry and every recorded admin event has its row.
        let entry_ids: Vec<&str> = out.decisions.iter().map(|d| d.event_id.as_str()).collect();
        let admin_ids: Vec<&str> = out.admin.iter().map(|a| a.event_id.as_str()).collect();
        self.store.commit(&Commit {
            state: &self.state,
            dirty: &dirty,
            entry_ids: &entry_ids,
            admin_ids: &admin_ids,
            entry_keys: &out.id_keys.0,
            admin_keys: &out.id_keys.1,
            rejected_keys: &out.rejected_keys,
        })
    }
}
