//! The conformance suite of [`BatchStore`]: decision semantics, admin
//! semantics, idempotency and the conditions that make concurrent batches
//! safe. Every store (embedded, DynamoDB) runs all of it through a factory
//! that gives a fresh, empty store.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use accesslake_ingest::batch::{
    BatchOutput, BatchStore, Delivered, PresenceWrite, Stored, Write, WriteError,
    apply_admin_events, decide_entries,
};
use accesslake_ingest::reader::{Item, Merge};
use accesslake_ingest::{EntityRef, Error, MemoryStore, Processor, State};
use accesslake_model::{
    AdminRecord, Clock, Decision, Event, FixedClock, Reason, Source, parse_line, parse_rfc3339,
};
use async_trait::async_trait;

pub const NOW: &str = "2026-06-01T12:00:00Z";

pub fn now() -> i64 {
    parse_rfc3339(NOW).unwrap()
}

fn admin(id: &str, kind: &str, at: &str, data: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","type":"{kind}","occurred_at":"{at}","actor":"hr","data":{data}}}"#
    )
}

fn scan(id: &str, at: &str, door: &str, card: &str, dir: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","occurred_at":"{at}","door_id":"{door}","card_id":"{card}","direction":"{dir}"}}"#
    )
}

/// Records at stream positions `first`, `first + 1`, … (their source_ref).
fn delivered(lines: &[String], first: u64) -> Vec<(String, Vec<u8>)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| ((first + i as u64).to_string(), l.as_bytes().to_vec()))
        .collect()
}

/// Positions never used before: new records, as a new put to the stream.
fn fresh(n: usize) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1_000_000);
    NEXT.fetch_add(n as u64, Ordering::SeqCst)
}

fn refs(v: &[(String, Vec<u8>)], source: Source) -> Vec<Delivered<'_>> {
    v.iter()
        .map(|(r, d)| Delivered {
            source,
            source_ref: r,
            data: d,
        })
        .collect()
}

async fn admins(store: &dyn BatchStore, lines: &[String], now: i64) -> BatchOutput {
    admins_at(store, lines, fresh(lines.len()), now).await
}

/// Admin events delivered at known positions (to deliver them again).
async fn admins_at(store: &dyn BatchStore, lines: &[String], first: u64, now: i64) -> BatchOutput {
    let v = delivered(lines, first);
    apply_admin_events(store, &refs(&v, Source::Sqs), now).await
}

async fn scans(store: &dyn BatchStore, lines: &[String], now: i64) -> BatchOutput {
    scans_at(store, lines, fresh(lines.len()), now).await
}

/// Scans delivered at known positions (to deliver them again).
async fn scans_at(store: &dyn BatchStore, lines: &[String], first: u64, now: i64) -> BatchOutput {
    let v = delivered(lines, first);
    decide_entries(store, &refs(&v, Source::Kinesis), now).await
}

/// A London lobby with one door, one employee with card c1 and an office-hours grant.
async fn small_world(store: &dyn BatchStore) {
    let setup = [
        admin(
            "z1",
            "zone_upserted",
            "2026-01-01T00:00:00Z",
            r#"{"zone_id":"lobby","name":"Lobby","site_id":"hq","timezone":"Europe/London","capacity":10}"#,
        ),
        admin(
            "d1",
            "door_upserted",
            "2026-01-01T00:00:00Z",
            r#"{"door_id":"door-1","zone_id":"lobby","name":"Front"}"#,
        ),
        admin(
            "p1",
            "employee_upserted",
            "2026-01-01T00:00:00Z",
            r#"{"employee_id":"e1","name":"Ada","department":"R&D","status":"active"}"#,
        ),
        admin(
            "c1",
            "card_issued",
            "2026-01-01T00:00:00Z",
            r#"{"card_id":"c1","employee_id":"e1"}"#,
        ),
        admin(
            "g1",
            "access_granted",
            "2026-01-01T00:00:00Z",
            r#"{"employee_id":"e1","zone_id":"lobby","schedule":{"weekdays":[1,2,3,4,5],"start":"07:00","end":"19:00"}}"#,
        ),
    ];
    let out = admins(store, &setup, now()).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(out.admin.iter().all(|r| r.applied), "{:?}", out.admin);
}

fn reasons(out: &BatchOutput) -> Vec<Reason> {
    out.decisions.iter().map(|d| d.reason).collect()
}

/// Each rule on a store-loaded partial state, presence carried across
/// batches through the store.
pub async fn decisions_follow_the_rules(store: &dyn BatchStore) {
    small_world(store).await;
    // Monday 2026-03-02, 08:00 in London (UTC+0 in March).
    let out = scans(
        store,
        &[
            scan("s1", "2026-03-02T08:00:00Z", "door-1", "c1", "in"),
            scan("s2", "2026-03-02T08:01:00Z", "door-1", "c1", "in"),
            scan("s3", "2026-03-02T08:02:00Z", "door-9", "c1", "in"),
            scan("s4", "2026-03-02T08:03:00Z", "door-1", "c9", "in"),
            scan("s5", "2026-03-02T20:00:00Z", "door-1", "c1", "out"),
        ],
        now(),
    )
    .await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        reasons(&out),
        [
            Reason::Ok,
            Reason::AntiPassback,
            Reason::UnknownDoor,
            Reason::UnknownCard,
            Reason::Egress
        ]
    );
    assert_eq!(out.decisions[0].presence_change, 1);
    assert_eq!(out.decisions[4].presence_change, -1);
    // The next batch reads presence back from the store: outside again, and
    // after hours the schedule denies.
    let out = scans(
        store,
        &[
            scan("s6", "2026-03-03T09:00:00Z", "door-1", "c1", "in"),
            scan("s7", "2026-03-03T09:30:00Z", "door-1", "c1", "in"),
            scan("s8", "2026-03-03T19:00:00Z", "door-1", "c1", "out"),
            scan("s9", "2026-03-03T19:00:01Z", "door-1", "c1", "in"),
        ],
        now(),
    )
    .await;
    assert_eq!(
        reasons(&out),
        [
            Reason::Ok,
            Reason::AntiPassback,
            Reason::Egress,
            Reason::OutsideSchedule
        ]
    );
    // A lost card is denied from the next batch on.
    let out = admins(
        store,
        &[admin(
            "l1",
            "card_status_changed",
            "2026-03-04T00:00:00Z",
            r#"{"card_id":"c1","status":"lost"}"#,
        )],
        now(),
    )
    .await;
    assert!(out.admin[0].applied);
    let out = scans(
        store,
        &[scan("s10", "2026-03-04T09:00:00Z", "door-1", "c1", "in")],
        now(),
    )
    .await;
    assert_eq!(reasons(&out), [Reason::CardLost]);
}

/// Stale events are recorded, not applied; unknown entities are named;
/// a later event wins whatever order the batches come in.
pub async fn admin_semantics(store: &dyn BatchStore) {
    small_world(store).await;
    let out = admins(
        store,
        &[
            admin(
                "a1",
                "employee_upserted",
                "2026-02-01T00:00:00Z",
                r#"{"employee_id":"e1","name":"Ada","department":"Ops","status":"inactive"}"#,
            ),
            admin(
                "a2",
                "employee_upserted",
                "2026-01-15T00:00:00Z",
                r#"{"employee_id":"e1","name":"Ada","department":"R&D","status":"active"}"#,
            ),
            admin(
                "a3",
                "card_issued",
                "2026-02-01T00:00:00Z",
                r#"{"card_id":"c2","employee_id":"nobody"}"#,
            ),
            admin(
                "a4",
                "access_granted",
                "2026-02-01T00:00:00Z",
                r#"{"employee_id":"e1","zone_id":"nowhere","schedule":"always"}"#,
            ),
            admin(
                "a5",
                "card_status_changed",
                "2026-02-01T00:00:00Z",
                r#"{"card_id":"c404","status":"lost"}"#,
            ),
        ],
        now(),
    )
    .await;
    let got: Vec<(bool, Option<&str>)> = out.admin.iter().map(|r| (r.applied, r.error)).collect();
    assert_eq!(
        got,
        [
            (true, None),
            (false, Some("stale")),
            (false, Some("unknown_employee")),
            (false, Some("unknown_zone")),
            (false, Some("unknown_card")),
        ]
    );
    // The stale event changed nothing: e1 is inactive.
    let out = scans(
        store,
        &[scan("s1", "2026-03-02T08:00:00Z", "door-1", "c1", "in")],
        now(),
    )
    .await;
    assert_eq!(reasons(&out), [Reason::EmployeeInactive]);
    // A revoke keeps the grant's version: an older grant arriving late is stale.
    let out = admins(
        store,
        &[
            admin(
                "r1",
                "access_revoked",
                "2026-03-01T00:00:00Z",
                r#"{"employee_id":"e1","zone_id":"lobby"}"#,
            ),
            admin(
                "r2",
                "access_granted",
                "2026-02-15T00:00:00Z",
                r#"{"employee_id":"e1","zone_id":"lobby","schedule":"always"}"#,
            ),
        ],
        now(),
    )
    .await;
    let got: Vec<Option<&str>> = out.admin.iter().map(|r| r.error).collect();
    assert_eq!(got, [None, Some("stale")]);
    let state = store
        .load(&[EntityRef::Grant("e1".into(), "lobby".into())])
        .await
        .unwrap();
    assert!(state.grant("e1", "lobby").is_none());
    assert_eq!(
        state
            .versions
            .get(&EntityRef::Grant("e1".into(), "lobby".into())),
        Some(&parse_rfc3339("2026-03-01T00:00:00Z").unwrap())
    );
}

/// A redelivered event, in the same batch or any later one, is decided once;
/// the later delivery gets the first row back, `processed_at` included.
pub async fn redelivery_returns_the_first_outcome(store: &dyn BatchStore) {
    small_world(store).await;
    let batch = [
        scan("s1", "2026-03-02T08:00:00Z", "door-1", "c1", "in"),
        scan("s1", "2026-03-02T08:00:00Z", "door-1", "c1", "in"),
        scan("s2", "2026-03-02T09:00:00Z", "door-1", "c1", "out"),
    ];
    let first = scans_at(store, &batch, 1, now()).await;
    assert_eq!(
        first.decisions.len(),
        2,
        "the in-batch duplicate is dropped"
    );
    assert_eq!(first.stats.duplicate_entries, 1);
    let later = now() + 3_600_000_000;
    let again = scans_at(store, &batch, 1, later).await;
    assert!(again.error.is_none());
    assert_eq!(again.stats.entries_decided, 0);
    assert_eq!(
        again.decisions, first.decisions,
        "the same records land the same rows"
    );
    // The same event in another record (a reader that sent it twice): no row.
    let elsewhere = scans(store, &[String::new(), batch[0].clone()], later).await;
    assert_eq!(elsewhere.stats.entries_decided, 0);
    assert!(elsewhere.decisions.is_empty());
    // Presence moved once: in then out, so a new scan in is `ok`, not passback.
    let out = scans(
        store,
        &[scan("s3", "2026-03-02T10:00:00Z", "door-1", "c1", "in")],
        later,
    )
    .await;
    assert_eq!(reasons(&out), [Reason::Ok]);

    let grant = [admin(
        "g2",
        "access_granted",
        "2026-02-01T00:00:00Z",
        r#"{"employee_id":"e1","zone_id":"lobby","schedule":"always"}"#,
    )];
    let first = admins_at(store, &grant, 10, now()).await;
    let again = admins_at(store, &grant, 10, later).await;
    assert_eq!(again.admin, first.admin);
    assert_eq!(again.stats.admin_applied, 0);
    let elsewhere = admins(store, &grant, later).await;
    assert!(elsewhere.admin.is_empty() && elsewhere.stats.duplicate_admin == 1);
}

/// A malformed record becomes a rejected row, is not retried, and holds up
/// nothing.
pub async fn poison_records_are_rejected_and_skipped(store: &dyn BatchStore) {
    small_world(store).await;
    let batch = [
        scan("s1", "2026-03-02T08:00:00Z", "door-1", "c1", "in"),
        "{\"event_id\": 42}".to_string(),
        "\u{0}garbage".to_string(),
        admin(
            "x",
            "zone_upserted",
            "2026-01-01T00:00:00Z",
            r#"{"zone_id":"z","name":"n","site_id":"s","timezone":"Europe/London","capacity":1}"#,
        ),
        scan("s2", "2026-03-02T09:00:00Z", "door-1", "c1", "out"),
    ];
    let out = scans_at(store, &batch, 1, now()).await;
    assert!(out.failed_from.is_none() && out.error.is_none());
    assert_eq!(reasons(&out), [Reason::Ok, Reason::Egress]);
    assert_eq!(out.rejected.len(), 3);
    assert_eq!(out.rejected_records, [1, 2, 3]);
    assert!(out.rejected.iter().all(|r| r.source == Source::Kinesis));
    assert_eq!(out.rejected[0].source_ref, "2");
    assert!(
        out.rejected[2].error.contains("admin event"),
        "{:?}",
        out.rejected[2]
    );
    // An admin batch with an entry event and bad JSON in it.
    let out = admins(
        store,
        &[
            scan("s9", "2026-03-02T08:00:00Z", "door-1", "c1", "in"),
            "[1,2]".to_string(),
        ],
        now(),
    )
    .await;
    assert!(out.failed_from.is_none());
    assert_eq!(out.rejected.len(), 2);
    assert!(out.rejected.iter().all(|r| r.source == Source::Sqs));
}

/// What a test wrapper does to `write` before (or instead of) the store it wraps.
pub enum OnWrite {
    /// Fail after this many writes, as a network failure would: the first
    /// ones are durable, none after them.
    FailAfter(usize),
    /// Another batch decides the first event first.
    SameEventFirst,
    /// Another batch takes e1 out of the lobby first.
    PresenceMovedFirst,
}

/// A real store with a fault or a race interposed on its writes; reads go
/// straight through.
pub struct Interposed<'a> {
    pub inner: &'a dyn BatchStore,
    pub on_write: OnWrite,
}

#[async_trait]
impl BatchStore for Interposed<'_> {
    async fn decisions(
        &self,
        ids: &[&str],
    ) -> accesslake_ingest::Result<Vec<Option<Stored<Decision>>>> {
        self.inner.decisions(ids).await
    }
    async fn admin_records(
        &self,
        ids: &[&str],
    ) -> accesslake_ingest::Result<Vec<Option<Stored<AdminRecord>>>> {
        self.inner.admin_records(ids).await
    }
    async fn load_into(
        &self,
        keys: &[EntityRef],
        state: &mut State,
    ) -> accesslake_ingest::Result<()> {
        self.inner.load_into(keys, state).await
    }
    async fn write(&self, writes: &[Write]) -> Result<(), WriteError> {
        if let OnWrite::FailAfter(after) = self.on_write {
            let after = after.min(writes.len());
            if after == writes.len() {
                return self.inner.write(writes).await;
            }
            self.inner.write(&writes[..after]).await?;
            return Err(WriteError {
                committed: after,
                error: Error::Unavailable("injected network failure".into()),
            });
        }
        let Some(Write::Entry { decision, presence }) = writes.first() else {
            return self.inner.write(writes).await;
        };
        let winner = if let OnWrite::SameEventFirst = self.on_write {
            Write::Entry {
                decision: Stored {
                    row: Decision {
                        processed_at: 1,
                        ..decision.row.clone()
                    },
                    source_ref: decision.source_ref.clone(),
                },
                presence: presence.clone(),
            }
        } else {
            Write::Entry {
                decision: Stored {
                    row: Decision {
                        event_id: "other-batch".into(),
                        ..decision.row.clone()
                    },
                    source_ref: "elsewhere".into(),
                },
                presence: Some(PresenceWrite {
                    employee_id: "e1".into(),
                    zone_id: "lobby".into(),
                    inside: false,
                }),
            }
        };
        self.inner
            .write(&[winner])
            .await
            .expect("the racing write wins");
        self.inner.write(writes).await
    }
}

/// A batch that fails after record k and is redelivered from k decides no
/// event twice and loses none: the rows of both attempts are the rows of
/// one clean run.
pub async fn retry_from_the_failed_record(store: &dyn BatchStore, clean: &dyn BatchStore) {
    small_world(store).await;
    small_world(clean).await;
    let batch: Vec<String> = (0..10)
        .map(|i| {
            let dir = if i % 2 == 0 { "in" } else { "out" };
            scan(
                &format!("s{i}"),
                &format!("2026-03-02T08:{i:02}:00Z"),
                "door-1",
                "c1",
                dir,
            )
        })
        .collect();
    let want = scans_at(clean, &batch, 100, now()).await;

    let failing = Interposed {
        inner: store,
        on_write: OnWrite::FailAfter(4),
    };
    let first = scans_at(&failing, &batch, 100, now()).await;
    assert_eq!(first.failed_from, Some(4));
    assert!(first.error.as_ref().is_some_and(Error::is_retryable));
    assert_eq!(
        first.decisions.len(),
        4,
        "only the acknowledged prefix lands"
    );
    // Kinesis redelivers from the reported record.
    let retry = scans_at(store, &batch[4..], 104, now()).await;
    assert!(retry.error.is_none());
    let mut got = first.decisions.clone();
    got.extend(retry.decisions);
    assert_eq!(got, want.decisions);
    // And the whole batch once more (a retry from the start) changes nothing.
    let whole = scans_at(store, &batch, 100, now()).await;
    assert_eq!(whole.stats.entries_decided, 0);
    assert_eq!(whole.decisions, want.decisions);
}

/// Another writer decides the same event, or moves the same presence,
/// between this batch's read and its write: the write's condition fails, the
/// batch stops there (retryable), and the retry sees the other writer's result.
pub async fn concurrent_writers_are_caught_by_conditions(store: &dyn BatchStore) {
    small_world(store).await;
    let one = [scan("s1", "2026-03-02T08:00:00Z", "door-1", "c1", "in")];
    // Read as a batch would, then let another batch win the race.
    let v = delivered(&one, 500);
    let racing = Interposed {
        inner: store,
        on_write: OnWrite::SameEventFirst,
    };
    let out = decide_entries(&racing, &refs(&v, Source::Kinesis), now()).await;
    assert_eq!(out.failed_from, Some(0));
    assert!(
        matches!(out.error, Some(Error::Conflict(_))),
        "{:?}",
        out.error
    );
    assert!(out.decisions.is_empty());
    let retry = scans_at(store, &one, 500, now()).await;
    assert_eq!(retry.stats.entries_decided, 0);
    assert_eq!(retry.decisions[0].processed_at, 1, "the other writer's row");

    let racing = Interposed {
        inner: store,
        on_write: OnWrite::PresenceMovedFirst,
    };
    let two = [
        scan("s2", "2026-03-02T09:00:00Z", "door-1", "c1", "out"),
        scan("s3", "2026-03-02T09:01:00Z", "door-1", "c1", "in"),
    ];
    let v = delivered(&two, 600);
    let out = decide_entries(&racing, &refs(&v, Source::Kinesis), now()).await;
    assert_eq!(out.failed_from, Some(0), "{:?}", out.decisions);
    assert!(matches!(out.error, Some(Error::Conflict(_))));
    // Re-read: the other writer already took e1 out, so this egress moves nothing.
    let retry = scans_at(store, &two, 600, now()).await;
    assert!(retry.error.is_none());
    assert_eq!(retry.decisions[0].presence_change, 0);
    assert_eq!(reasons(&retry), [Reason::Egress, Reason::Ok]);
}

/// The fixture's events in the local pipeline's order, as raw lines: runs of
/// admin events and runs of scans, each cut into batches of `batch` records.
pub fn fixture_batches(dir: &Path, batch: usize) -> Vec<(bool, Vec<String>)> {
    let files = [dir.join("admin.jsonl"), dir.join("entries.jsonl")];
    let mut raw: HashMap<String, String> = HashMap::new();
    for f in &files {
        let r = std::io::BufReader::new(std::fs::File::open(f).unwrap());
        // The fixture's malformed lines (some not UTF-8) are the reader's
        // business, tested elsewhere; batches carry its events.
        for line in r.split(b'\n') {
            let Ok(line) = String::from_utf8(line.unwrap()) else {
                continue;
            };
            if let Ok(Some(ev)) = parse_line(line.as_bytes()) {
                let id = match &ev {
                    Event::Entry(e) => e.event_id.to_string(),
                    Event::Admin(a) => a.event_id.clone(),
                };
                raw.entry(id).or_insert(line);
            }
        }
    }
    let clock = FixedClock(now());
    let mut merge = Merge::open(&files, &clock).unwrap();
    let mut out: Vec<(bool, Vec<String>)> = Vec::new();
    while let Some(item) = merge.next().unwrap() {
        let Item::Event(ev) = item else { continue };
        let (is_admin, id) = match &ev {
            Event::Entry(e) => (false, e.event_id.as_str()),
            Event::Admin(a) => (true, a.event_id.as_str()),
        };
        let line = raw[id].clone();
        match out.last_mut() {
            Some((k, lines)) if *k == is_admin && lines.len() < batch => lines.push(line),
            _ => out.push((is_admin, vec![line])),
        }
    }
    out
}

/// The local pipeline's rows for the fixture (the reference).
pub fn local_rows(dir: &Path) -> (Vec<Decision>, Vec<AdminRecord>) {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now()));
    let files = [dir.join("admin.jsonl"), dir.join("entries.jsonl")];
    let mut merge = Merge::open(&files, clock.as_ref()).unwrap();
    let mut events = Vec::new();
    while let Some(item) = merge.next().unwrap() {
        if let Item::Event(ev) = item {
            events.push(ev);
        }
    }
    let mut p = Processor::new(MemoryStore::default(), clock).unwrap();
    let out = p.process(&events, Vec::new()).unwrap();
    (out.decisions, out.admin)
}

/// The generated fixture, fed in small batches, gives exactly the local
/// pipeline's decisions and admin records.
pub async fn same_rows_as_the_local_pipeline(store: &dyn BatchStore, dir: &Path, batch: usize) {
    let (want_decisions, want_admin) = local_rows(dir);
    let mut decisions = Vec::new();
    let mut admin = Vec::new();
    for (is_admin, lines) in fixture_batches(dir, batch) {
        let out = if is_admin {
            admins(store, &lines, now()).await
        } else {
            scans(store, &lines, now()).await
        };
        assert!(out.error.is_none(), "{:?}", out.error);
        assert!(out.rejected.is_empty());
        decisions.extend(out.decisions);
        admin.extend(out.admin);
    }
    // Every event once, as the local pipeline decided it: a redelivered event
    // (in another record) adds no row.
    assert_eq!(decisions.len(), want_decisions.len());
    for (got, want) in decisions.iter().zip(&want_decisions) {
        assert_eq!(got, want);
    }
    assert_eq!(admin, want_admin);
}
