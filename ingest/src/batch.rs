//! One delivered batch (a Kinesis batch of scans, an SQS batch of admin
//! events) decided against a [`BatchStore`] that holds the live state: the
//! Lambda path, free of any AWS type so it is tested and benchmarked without
//! Lambda.
//!
//! Unlike the local pipeline, which keeps the whole state in memory, a batch
//! loads only the entities its records name (cards and doors, then their
//! employees, zones, grants and presence), decides in delivery order, and
//! writes each outcome with the conditions that make it safe when other
//! batches run at the same time:
//!
//! - an event id is written only if absent: the first writer wins. The
//!   stored row remembers the record that carried it (Kinesis sequence
//!   number, SQS message id, file line), so a redelivery of that same record
//!   lands the stored row again (its file is rewritten under the same name),
//!   while the same event arriving in another record adds no row;
//! - a presence change holds only if presence is still what the decision saw;
//! - an admin change holds only if the entity's version is not newer.
//!
//! A write that loses a race or fails on the network is retryable: the batch
//! stops there and reports that record, so nothing after it is applied before
//! the retry re-reads the state.

use std::collections::BTreeSet;

use accesslake_model::{
    AdminEvent, AdminRecord, Decision, EntryEvent, Micros, Outcome, Rejected, Source,
    parse_admin_json, parse_entry_json,
};
use async_trait::async_trait;

use crate::apply::{apply_admin, entity_of};
use crate::decide::{ClockCache, apply_presence_pair, decide_pair};
use crate::processor::Stats;
use crate::state::{EntityRef, Map, Set, State};
use crate::store::codec;
use crate::{Error, Result};

/// A presence change that must go with its decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceWrite {
    pub employee_id: String,
    pub zone_id: String,
    /// Inside after the decision (the store checks it was not before).
    pub inside: bool,
}

/// An admin entity's new value at a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityWrite {
    pub entity: EntityRef,
    /// The encoded value; `None` removes it (a revoked grant) but keeps the version.
    pub value: Option<Vec<u8>>,
    /// The applied event's `occurred_at`: the store refuses to go back in time.
    pub version: Micros,
}

/// A stored outcome and the record position that first carried its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    pub row: T,
    pub source_ref: String,
}

/// One outcome to make durable, all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Entry {
        decision: Stored<Decision>,
        presence: Option<PresenceWrite>,
    },
    Admin {
        record: Stored<AdminRecord>,
        entity: Option<EntityWrite>,
    },
}

/// A `write` that stopped: the first `committed` writes are durable, the rest
/// are not (and none after the failing one was attempted).
#[derive(Debug, thiserror::Error)]
#[error("{committed} writes committed, then: {error}")]
pub struct WriteError {
    pub committed: usize,
    #[source]
    pub error: Error,
}

/// Live state for batches that run concurrently (DynamoDB on AWS, the
/// embedded store locally). `tests/batch_store.rs` is the conformance suite.
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// The stored decision of each entry event id, `None` if never decided.
    async fn decisions(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<Decision>>>>;
    /// The stored record of each admin event id, `None` if never recorded.
    async fn admin_records(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<AdminRecord>>>>;
    /// Adds to `state` those of `keys` (distinct, in any order) that exist,
    /// with their versions.
    async fn load_into(&self, keys: &[EntityRef], state: &mut State) -> Result<()>;
    /// A state holding those of `keys` that exist, with their versions.
    async fn load(&self, keys: &[EntityRef]) -> Result<State> {
        let mut state = State::default();
        self.load_into(keys, &mut state).await?;
        Ok(state)
    }
    /// Makes each write durable in order, each all or nothing with its
    /// conditions; a lost condition is [`Error::Conflict`].
    async fn write(&self, writes: &[Write]) -> Result<(), WriteError>;
}

/// A record as delivered: where it came from and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Delivered<'a> {
    pub source: Source,
    /// Kinesis sequence number, SQS message id, or `s3://bucket/key:line`.
    pub source_ref: &'a str,
    pub data: &'a [u8],
}

/// The result of one batch, in delivery order.
#[derive(Debug, Default)]
pub struct BatchOutput {
    /// Rows to land: new decisions, and the stored ones of records delivered again.
    pub decisions: Vec<Decision>,
    /// Rows to land: new admin records, and the stored ones of records delivered again.
    pub admin: Vec<AdminRecord>,
    pub rejected: Vec<Rejected>,
    /// Index of the first record not done (retry from here); `None` if all done.
    pub failed_from: Option<usize>,
    /// Why the batch stopped at `failed_from`.
    pub error: Option<Error>,
    pub stats: Stats,
    /// For each output row, the index of the record it came from.
    pub decision_records: Vec<usize>,
    pub admin_records: Vec<usize>,
    pub rejected_records: Vec<usize>,
}

impl BatchOutput {
    /// Keeps only what came from records before `index` (the acknowledged prefix).
    fn truncate_to(&mut self, index: usize) {
        let keep = |rows: &[usize]| rows.iter().take_while(|&&r| r < index).count();
        let n = keep(&self.decision_records);
        self.decisions.truncate(n);
        self.decision_records.truncate(n);
        let n = keep(&self.admin_records);
        self.admin.truncate(n);
        self.admin_records.truncate(n);
        let n = keep(&self.rejected_records);
        self.rejected.truncate(n);
        self.rejected_records.truncate(n);
    }

    /// Stops at the record of the first write that did not commit.
    fn stop_at_write(&mut self, write_records: &[usize], e: WriteError, records: usize) {
        let failed = write_records.get(e.committed).copied().unwrap_or(records);
        self.stop(failed, e.error);
    }

    fn stop(&mut self, index: usize, error: Error) {
        self.truncate_to(index);
        self.failed_from = Some(index);
        self.error = Some(error);
    }
}

/// Decides a batch of entry events (one Kinesis shard's records, in order).
///
/// A record that is not a valid entry event becomes a `rejected` row and is
/// never retried. A store failure stops the batch at the record whose write
/// failed ([`BatchOutput::failed_from`]); everything before it is done.
pub async fn decide_entries(
    store: &dyn BatchStore,
    records: &[Delivered<'_>],
    now: Micros,
) -> BatchOutput {
    let mut out = BatchOutput::default();
    let parsed = parse_all(records, parse_entry_json, now, &mut out);

    let ids: Vec<&str> = parsed
        .iter()
        .flatten()
        .map(|e| e.event_id.as_str())
        .collect();
    let mut stored = match store.decisions(&ids).await {
        Ok(found) => by_id(&ids, found),
        Err(e) => {
            out.stop(0, e);
            return out;
        }
    };
    let fresh: Vec<&EntryEvent> = parsed
        .iter()
        .flatten()
        .filter(|e| !stored.contains_key(e.event_id.as_str()))
        .collect();
    let mut state = match load_for_entries(store, &fresh).await {
        Ok(s) => s,
        Err(e) => {
            out.stop(0, e);
            return out;
        }
    };

    let mut writes = Vec::with_capacity(fresh.len());
    let mut write_records = Vec::with_capacity(fresh.len());
    let mut seen: Set<&str> = Set::default();
    seen.reserve(parsed.len());
    // Rows in delivery order: (record index, decision).
    let mut rows: Vec<(usize, Decision)> = Vec::with_capacity(parsed.len());
    let mut clocks = ClockCache::default();
    for (i, ev) in parsed.iter().enumerate() {
        let Some(ev) = ev else { continue };
        if !seen.insert(ev.event_id.as_str()) {
            out.stats.duplicate_entries += 1;
            continue;
        }
        if let Some(d) = stored.remove(ev.event_id.as_str()) {
            // Decided before: nothing to decide. The same record again (a
            // retried batch) lands its row again, which its file name makes
            // an overwrite; the event in another record adds no row.
            out.stats.duplicate_entries += 1;
            if d.source_ref == records[i].source_ref {
                rows.push((i, d.row));
            }
            continue;
        }
        let (d, pair) = decide_pair(&state, &mut clocks, ev, now);
        apply_presence_pair(&mut state, pair, &d);
        count_decision(&mut out.stats, &d);
        let presence = match (&d.employee_id, &d.zone_id, d.presence_change) {
            (Some(employee_id), Some(zone_id), change) if change != 0 => Some(PresenceWrite {
                employee_id: employee_id.as_str().to_owned(),
                zone_id: zone_id.as_str().to_owned(),
                inside: change > 0,
            }),
            _ => None,
        };
        writes.push(Write::Entry {
            decision: Stored {
                row: d.clone(),
                source_ref: records[i].source_ref.to_string(),
            },
            presence,
        });
        write_records.push(i);
        rows.push((i, d));
    }
    out.decision_records.reserve(rows.len());
    out.decisions.reserve(rows.len());
    for (i, d) in rows {
        out.decision_records.push(i);
        out.decisions.push(d);
    }
    if let Err(e) = store.write(&writes).await {
        out.stop_at_write(&write_records, e, records.len());
    }
    out
}

/// Applies a batch of admin events in order. `records` hold one admin event
/// each (an SQS body already unwrapped, or one line of a bulk file).
pub async fn apply_admin_events(
    store: &dyn BatchStore,
    records: &[Delivered<'_>],
    now: Micros,
) -> BatchOutput {
    let mut out = BatchOutput::default();
    let parsed = parse_all(records, parse_admin_json, now, &mut out);

    let ids: Vec<&str> = parsed
        .iter()
        .flatten()
        .map(|e| e.event_id.as_str())
        .collect();
    let mut stored = match store.admin_records(&ids).await {
        Ok(found) => by_id(&ids, found),
        Err(e) => {
            out.stop(0, e);
            return out;
        }
    };
    let keys: Vec<EntityRef> = parsed
        .iter()
        .flatten()
        .filter(|e| !stored.contains_key(e.event_id.as_str()))
        .flat_map(admin_reads)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut state = match store.load(&keys).await {
        Ok(s) => s,
        Err(e) => {
            out.stop(0, e);
            return out;
        }
    };

    let mut writes = Vec::new();
    let mut write_records = Vec::new();
    let mut seen: Set<&str> = Set::default();
    for (i, ev) in parsed.iter().enumerate() {
        let Some(ev) = ev else { continue };
        if !seen.insert(ev.event_id.as_str()) {
            out.stats.duplicate_admin += 1;
            continue;
        }
        if let Some(r) = stored.remove(ev.event_id.as_str()) {
            out.stats.duplicate_admin += 1;
            if r.source_ref == records[i].source_ref {
                out.admin_records.push(i);
                out.admin.push(r.row);
            }
            continue;
        }
        let record = apply_admin(&mut state, ev, now);
        let entity = record.applied.then(|| {
            let entity = entity_of(&ev.data);
            EntityWrite {
                value: codec::encode(&state, &entity),
                entity,
                version: ev.occurred_at,
            }
        });
        if record.applied {
            out.stats.admin_applied += 1;
        } else {
            out.stats.admin_not_applied += 1;
        }
        out.admin_records.push(i);
        out.admin.push(record.clone());
        writes.push(Write::Admin {
            record: Stored {
                row: record,
                source_ref: records[i].source_ref.to_string(),
            },
            entity,
        });
        write_records.push(i);
    }
    if let Err(e) = store.write(&writes).await {
        out.stop_at_write(&write_records, e, records.len());
    }
    out
}

/// Decodes every record; the ones that are not a `T` become rejected rows.
fn parse_all<T>(
    records: &[Delivered<'_>],
    parse: fn(&str) -> std::result::Result<T, accesslake_model::RecordError>,
    now: Micros,
    out: &mut BatchOutput,
) -> Vec<Option<T>> {
    let parsed = records
        .iter()
        .enumerate()
        .map(|(i, r)| match parse_record(r, parse) {
            Ok(ev) => Some(ev),
            Err(e) => {
                out.rejected
                    .push(Rejected::new(now, r.source, r.source_ref.into(), e, r.data));
                out.rejected_records.push(i);
                None
            }
        })
        .collect();
    out.stats.rejected = out.rejected.len() as u64;
    parsed
}

/// The stored outcomes found, by event id.
fn by_id<'a, T>(ids: &[&'a str], found: Vec<Option<Stored<T>>>) -> Map<&'a str, Stored<T>> {
    ids.iter()
        .zip(found)
        .filter_map(|(id, s)| s.map(|s| (*id, s)))
        .collect()
}

fn parse_record<T>(
    r: &Delivered<'_>,
    parse: fn(&str) -> std::result::Result<T, accesslake_model::RecordError>,
) -> std::result::Result<T, String> {
    let text = std::str::from_utf8(r.data)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    parse(text).map_err(|e| e.to_string())
}

fn count_decision(stats: &mut Stats, d: &Decision) {
    stats.entries_decided += 1;
    match d.outcome {
        Outcome::Granted => stats.granted += 1,
        Outcome::Denied => stats.denied += 1,
    }
    *stats.by_reason.entry(d.reason).or_default() += 1;
}

/// Loads what deciding `events` reads, in two rounds: cards and doors, then
/// the employees, zones, grants and presence they lead to.
async fn load_for_entries(store: &dyn BatchStore, events: &[&EntryEvent]) -> Result<State> {
    if events.is_empty() {
        return Ok(State::default());
    }
    let mut first = Distinct::default();
    for e in events {
        first.add("card", &e.card_id);
        first.add("door", &e.door_id);
    }
    let mut state = store.load(&first.keys).await?;
    let mut second = Distinct::default();
    for e in events {
        let employee = state
            .cards
            .get(e.card_id.as_str())
            .map(|c| c.employee_id.as_str());
        let zone = state
            .doors
            .get(e.door_id.as_str())
            .map(|d| d.zone_id.as_str());
        if let Some(z) = zone {
            second.add("zone", z);
        }
        if let Some(emp) = employee {
            second.add("employee", emp);
        }
        if let (Some(emp), Some(z)) = (employee, zone) {
            second.add_pair(emp, z);
        }
    }
    let Distinct { keys, .. } = second;
    store.load_into(&keys, &mut state).await?;
    Ok(state)
}

/// The distinct entities a batch names, in order of first naming. A batch
/// names the same card, door and employee many times; each is looked up
/// once by its borrowed ids and copied once.
#[derive(Default)]
struct Distinct<'a> {
    /// (kind, id) of the single-id kinds.
    seen: Set<(&'static str, &'a str)>,
    /// (employee, zone): its grant and its presence go together.
    pairs: Set<(&'a str, &'a str)>,
    keys: Vec<EntityRef>,
}

impl<'a> Distinct<'a> {
    /// Adds the entity of a single-id `kind` (as [`EntityRef::kind`] names
    /// it) if not added yet.
    fn add(&mut self, kind: &'static str, id: &'a str) {
        if self.seen.insert((kind, id)) {
            self.keys.extend(EntityRef::from_parts(kind, id, ""));
        }
    }

    /// Adds the grant and the presence of `employee` in `zone`.
    fn add_pair(&mut self, employee: &'a str, zone: &'a str) {
        if self.pairs.insert((employee, zone)) {
            let (e, z) = (employee.to_owned(), zone.to_owned());
            self.keys.push(EntityRef::Grant(e.clone(), z.clone()));
            self.keys.push(EntityRef::Presence(e, z));
        }
    }
}

/// The entities an admin event's checks and change read (SPEC 2.2): the
/// entity itself (its version, and the card a status change edits) and the
/// entities it refers to.
fn admin_reads(e: &AdminEvent) -> Vec<EntityRef> {
    use accesslake_model::AdminData as D;
    let mut keys = vec![entity_of(&e.data)];
    match &e.data {
        D::ZoneUpserted(_) | D::EmployeeUpserted(_) | D::CardStatusChanged { .. } => {}
        D::DoorUpserted(d) => keys.push(EntityRef::Zone(d.zone_id.clone())),
        D::CardIssued { employee_id, .. } => keys.push(EntityRef::Employee(employee_id.clone())),
        D::AccessGranted {
            employee_id,
            zone_id,
            ..
        }
        | D::AccessRevoked {
            employee_id,
            zone_id,
        } => {
            keys.push(EntityRef::Employee(employee_id.clone()));
            keys.push(EntityRef::Zone(zone_id.clone()));
        }
    }
    keys
}
