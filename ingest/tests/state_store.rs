//! The conformance suite every StateStore passes: the embedded redb store and
//! the memory store run the same scenarios.

mod world;

use std::sync::Arc;

use accesslake_ingest::store::rejected_key;
use accesslake_ingest::{EmbeddedStore, MemoryStore, Processor, StateStore};
use accesslake_model::{Event, FixedClock, Rejected, Source};
use world::{admin_event, entry, t};

fn setup_events() -> Vec<Event> {
    let a = |id: &str, kind: &str, at: &str, data: &str| {
        Event::Admin(Box::new(admin_event(id, kind, at, data)))
    };
    vec![
        a(
            "a1",
            "zone_upserted",
            "2026-01-01T00:00:00Z",
            r#"{"zone_id":"z","name":"Zone","site_id":"s","timezone":"Europe/Paris","capacity":4}"#,
        ),
        a(
            "a2",
            "door_upserted",
            "2026-01-01T00:00:01Z",
            r#"{"door_id":"d","zone_id":"z","name":"Door"}"#,
        ),
        a(
            "a3",
            "employee_upserted",
            "2026-01-01T00:00:02Z",
            r#"{"employee_id":"e/1","name":"Zoë","department":"R&D","status":"active"}"#,
        ),
        a(
            "a4",
            "card_issued",
            "2026-01-01T00:00:03Z",
            r#"{"card_id":"c\u0000","employee_id":"e/1","valid_from":"2025-01-01T00:00:00Z","valid_until":null}"#,
        ),
        a(
            "a5",
            "access_granted",
            "2026-01-01T00:00:04Z",
            r#"{"employee_id":"e/1","zone_id":"z","schedule":{"weekdays":[1,5],"start":"22:00","end":"06:00"}}"#,
        ),
        a(
            "a6",
            "access_granted",
            "2026-01-01T00:00:05Z",
            r#"{"employee_id":"e/1","zone_id":"z","schedule":"always"}"#,
        ),
        a(
            "a7",
            "employee_upserted",
            "2026-01-01T00:00:02Z",
            r#"{"employee_id":"e2","name":"X","department":"Y","status":"inactive"}"#,
        ),
        a(
            "a8",
            "access_revoked",
            "2026-01-01T00:00:09Z",
            r#"{"employee_id":"e2","zone_id":"z"}"#,
        ),
    ]
}

fn conformance<S: StateStore>(make: impl Fn() -> S, reopen: impl Fn(S) -> S) {
    let clock = Arc::new(FixedClock(t("2026-06-01T00:00:00Z")));
    let mut p = Processor::new(make(), clock.clone()).unwrap();
    assert_eq!(
        p.store().load().unwrap(),
        accesslake_ingest::State::default()
    );

    let rejected = vec![Rejected::new(
        0,
        Source::File,
        "f:1".into(),
        "bad".into(),
        b"{oops",
    )];
    let out = p.process(&setup_events(), rejected.clone()).unwrap();
    assert_eq!(out.rejected.len(), 1);
    // Nothing is known before the commit ...
    assert_eq!(p.store().known_admin_ids(&["a1"]).unwrap(), [false]);
    p.commit(&out).unwrap();
    // ... and everything after it.
    assert_eq!(
        p.store().known_admin_ids(&["a1", "a8", "zz"]).unwrap(),
        [true, true, false]
    );
    assert_eq!(
        p.store().known_entry_ids(&["a1"]).unwrap(),
        [false],
        "separate namespaces"
    );
    let key = p.store().rejected_key("f:1", b"{oops");
    assert_eq!(
        p.store().known_rejected_keys(&[&key, "f:1#0"]).unwrap(),
        [true, false]
    );

    let scans: Vec<Event> = vec![
        Event::Entry(entry("s1", "2026-03-02T10:00:00Z", "d", "c\\u0000", "in")),
        Event::Entry(entry("s2", "2026-03-02T10:01:00Z", "d", "c\\u0000", "in")),
    ];
    let out = p.process(&scans, vec![]).unwrap();
    p.commit(&out).unwrap();
    assert_eq!(
        p.store().known_entry_ids(&["s1", "s2", "s3"]).unwrap(),
        [true, true, false]
    );
    // A check flags what was committed and every repeat after the first.
    assert_eq!(
        p.store()
            .check_entry_ids(&["s3", "s1", "s3", "s4", "s3", "s2", "s4"])
            .unwrap()
            .duplicate,
        [false, true, true, false, true, true, true]
    );
    assert_eq!(
        p.store()
            .check_admin_ids(&["s3", "a1", "s3"])
            .unwrap()
            .duplicate,
        [false, true, true]
    );
    // Repeats within a chunk are decided once, and the commit records each
    // id that was decided.
    let repeated = entry("r1", "2026-03-02T10:02:00Z", "d", "c\\u0000", "in");
    let out = p
        .process(
            &[
                Event::Entry(repeated.clone()),
                Event::Entry(entry("r2", "2026-03-02T10:03:00Z", "d", "c\\u0000", "in")),
                Event::Entry(repeated),
                Event::Entry(entry("s1", "2026-03-02T10:04:00Z", "d", "c\\u0000", "in")),
            ],
            vec![],
        )
        .unwrap();
    assert_eq!((out.decisions.len(), out.stats.duplicate_entries), (2, 2));
    p.commit(&out).unwrap();
    assert_eq!(
        p.store().known_entry_ids(&["r1", "r2", "r3"]).unwrap(),
        [true, true, false]
    );

    // What a fresh load sees equals the processor's memory: dimensions, the
    // replaced grant, presence, versions.
    let store = reopen(std::mem::replace(p.store_mut(), make()));
    let loaded = store.load().unwrap();
    assert_eq!(&loaded, p.state());
    assert!(loaded.is_inside("e/1", "z"));
    assert_eq!(
        loaded.grant("e/1", "z").unwrap().schedule,
        accesslake_model::Schedule::Always
    );
    assert_eq!(loaded.versions.len(), 7);

    // Leaving removes the presence from the store; a removed grant is removed.
    let mut p = Processor::new(store, clock.clone()).unwrap();
    let out = p
        .process(
            &[
                Event::Entry(entry("s3", "2026-03-02T18:00:00Z", "d", "c\\u0000", "out")),
                Event::Admin(Box::new(admin_event(
                    "a9",
                    "access_revoked",
                    "2026-03-02T18:00:00Z",
                    r#"{"employee_id":"e/1","zone_id":"z"}"#,
                ))),
            ],
            rejected,
        )
        .unwrap();
    assert_eq!(out.decisions[0].presence_change, -1);
    assert_eq!(
        (out.rejected.len(), out.stats.duplicate_rejected),
        (0, 1),
        "a rejected record lands once"
    );
    p.commit(&out).unwrap();
    let store = reopen(std::mem::replace(p.store_mut(), make()));
    let loaded = store.load().unwrap();
    assert!(!loaded.is_inside("e/1", "z"));
    assert!(loaded.grant("e/1", "z").is_none());
    assert_eq!(loaded, *p.state());

    // An uncommitted chunk leaves no trace.
    let mut p = Processor::new(store, clock).unwrap();
    let before = p.store().load().unwrap();
    let out = p
        .process(
            &[Event::Entry(entry(
                "s4",
                "2026-03-03T10:00:00Z",
                "d",
                "c\\u0000",
                "in",
            ))],
            vec![],
        )
        .unwrap();
    assert_eq!(out.decisions.len(), 1);
    assert_eq!(p.store().load().unwrap(), before);
    assert_eq!(p.store().known_entry_ids(&["s4"]).unwrap(), [false]);
    p.reload().unwrap();
    assert_eq!(p.state(), &before);
}

#[test]
fn memory_store_conforms() {
    conformance(MemoryStore::new, |s| s);
}

#[test]
fn embedded_store_conforms_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let n = std::cell::Cell::new(0);
    conformance(
        || {
            n.set(n.get() + 1);
            EmbeddedStore::open(&dir.path().join(format!("scratch-{}.redb", n.get()))).unwrap()
        },
        |s| {
            // Close the database and open the file again, as a new process would.
            let file = s.path().to_path_buf();
            drop(s);
            EmbeddedStore::open(&file).unwrap()
        },
    );
    // A commit whose ids no check of the store keyed (or not exactly these
    // ids) keys them itself.
    let mut s = EmbeddedStore::open(&path).unwrap();
    let checked = s.check_entry_ids(&["k1", "k2"]).unwrap();
    let state = accesslake_ingest::State::default();
    s.commit(&accesslake_ingest::Commit {
        state: &state,
        dirty: &[],
        entry_ids: &["k1", "k3", "k4"],
        admin_ids: &["k5"],
        entry_keys: &checked.keys,
        admin_keys: &accesslake_ingest::store::IdKeys::default(),
        rejected_keys: &[],
    })
    .unwrap();
    assert_eq!(
        s.known_entry_ids(&["k1", "k2", "k3", "k4", "k5"]).unwrap(),
        [true, false, true, true, false]
    );
    assert_eq!(s.known_admin_ids(&["k5", "k1"]).unwrap(), [true, false]);
    drop(s);

    // The lake id and batch numbers persist and never repeat.
    let mut s = EmbeddedStore::open(&path).unwrap();
    let id = s.lake_id().to_string();
    assert_eq!(s.reserve_batch_seq().unwrap(), 1);
    s.set_pending_files(&["decisions/dt=2026-03-02/part-x-1.parquet".into()])
        .unwrap();
    drop(s);
    let mut s = EmbeddedStore::open(&path).unwrap();
    assert_eq!(s.lake_id(), id);
    assert_eq!(s.reserve_batch_seq().unwrap(), 2);
    assert_eq!(
        s.pending_files().unwrap(),
        ["decisions/dt=2026-03-02/part-x-1.parquet"]
    );
    s.clear_pending().unwrap();
    assert!(s.pending_files().unwrap().is_empty());
}

#[test]
fn embedded_store_moves_string_ids_of_an_older_store_into_the_keyed_index() {
    use redb::{ReadableDatabase, TableDefinition, TableHandle};
    let legacy_entry: TableDefinition<&str, ()> = TableDefinition::new("entry_event_ids");
    let legacy_admin: TableDefinition<&str, ()> = TableDefinition::new("admin_event_ids");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    // A store as an older accesslake left it: event ids as strings.
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(legacy_entry).unwrap();
            for id in ["s1", "s2", "s\u{0}/.."] {
                t.insert(id, ()).unwrap();
            }
            txn.open_table(legacy_admin)
                .unwrap()
                .insert("a1", ())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    for _ in 0..2 {
        let s = EmbeddedStore::open(&path).unwrap();
        assert_eq!(
            s.known_entry_ids(&["s1", "s2", "s\u{0}/..", "s3", "a1"])
                .unwrap(),
            [true, true, true, false, false]
        );
        assert_eq!(s.known_admin_ids(&["a1", "s1"]).unwrap(), [true, false]);
    }
    let db = redb::Database::open(&path).unwrap();
    let names: Vec<String> = db
        .begin_read()
        .unwrap()
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n == "entry_event_ids" || n == "admin_event_ids"),
        "{names:?}"
    );
}

/// An oversize line as the reader keeps it: its first 65,536 bytes.
fn oversize_rejected() -> Rejected {
    let raw = format!("{{\"firmware_dump\":\"{}\"}}", "A".repeat(70_000));
    Rejected::new(
        0,
        Source::File,
        "in.jsonl:7".into(),
        "line is 70017 bytes, over the 65536-byte limit".into(),
        &raw.as_bytes()[..65_536],
    )
}

/// A new store names rejected records by XXH3 and keeps doing so; the same
/// record is rejected once however often its file is read.
#[test]
fn embedded_store_names_rejected_records_by_xxh3_from_its_creation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let clock = Arc::new(FixedClock(t("2026-06-01T00:00:00Z")));
    let r = oversize_rejected();
    let fnv = rejected_key(&r.source_ref, r.raw.as_bytes());
    let mut p = Processor::new(EmbeddedStore::open(&path).unwrap(), clock.clone()).unwrap();
    let key = p.store().rejected_key(&r.source_ref, r.raw.as_bytes());
    assert!(
        key.starts_with("in.jsonl:7#x") && key.len() == "in.jsonl:7#x".len() + 16,
        "{key}"
    );
    assert_ne!(key, fnv);
    // XXH3-64 as its reference implementation computes it: the keys a
    // store holds stay valid across versions.
    assert_eq!(key, "in.jsonl:7#xa066f2a8b99dc60a");
    assert_eq!(
        p.store().rejected_key("f:1", b"{oops"),
        "f:1#x064c53c178d1c9df"
    );
    assert_eq!(p.store().rejected_key("", b""), "#x2d06800538d394c2");
    // Another byte, another key.
    assert_ne!(
        p.store().rejected_key(&r.source_ref, b"{oops"),
        p.store().rejected_key(&r.source_ref, b"{oopt")
    );
    let out = p.process(&[], vec![r.clone()]).unwrap();
    assert_eq!(out.stats.rejected, 1);
    p.commit(&out).unwrap();
    drop(p);
    let mut p = Processor::new(EmbeddedStore::open(&path).unwrap(), clock).unwrap();
    assert_eq!(p.store().rejected_key(&r.source_ref, r.raw.as_bytes()), key);
    assert_eq!(
        p.store().known_rejected_keys(&[&key, &fnv]).unwrap(),
        [true, false]
    );
    let again = p.process(&[], vec![r]).unwrap();
    assert_eq!(
        (again.stats.rejected, again.stats.duplicate_rejected),
        (0, 1)
    );
}

/// A store that held rejected keys before it recorded how it names them
/// holds FNV-1a keys, which cannot be made again without the records'
/// bytes: it keeps naming by FNV-1a, so an unchanged file read again adds
/// no rejected row. A scheme it does not know is an error, not a guess.
#[test]
fn embedded_store_keeps_fnv1a_names_of_rejected_records_kept_before() {
    use redb::TableDefinition;
    let meta: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
    let keys: TableDefinition<&str, ()> = TableDefinition::new("rejected_keys");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let r = oversize_rejected();
    let fnv = rejected_key(&r.source_ref, r.raw.as_bytes());
    drop(EmbeddedStore::open(&path).unwrap());
    let rewrite = |scheme: Option<&[u8]>| {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut m = txn.open_table(meta).unwrap();
            match scheme {
                Some(s) => m.insert("rejected_key_hash", s).unwrap(),
                None => m.remove("rejected_key_hash").unwrap(),
            };
            txn.open_table(keys)
                .unwrap()
                .insert(fnv.as_str(), ())
                .unwrap();
        }
        txn.commit().unwrap();
    };
    // As an older accesslake left it: an FNV-1a key and no scheme.
    rewrite(None);
    for _ in 0..2 {
        let clock = Arc::new(FixedClock(t("2026-06-01T00:00:00Z")));
        let mut p = Processor::new(EmbeddedStore::open(&path).unwrap(), clock).unwrap();
        assert_eq!(p.store().rejected_key(&r.source_ref, r.raw.as_bytes()), fnv);
        let again = p.process(&[], vec![r.clone()]).unwrap();
        assert_eq!(
            (again.stats.rejected, again.stats.duplicate_rejected),
            (0, 1)
        );
    }
    rewrite(Some(b"crc32"));
    let err = EmbeddedStore::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("unknown rejected key scheme \"crc32\""),
        "{err}"
    );
}

/// An embedded store at `path` after the setup events and a granted scan
/// (`s1`, `e/1` into `z`), committed as `accesslake ingest` commits a chunk.
fn ingested(path: &std::path::Path) -> Processor<EmbeddedStore> {
    let clock = Arc::new(FixedClock(t("2026-06-01T00:00:00Z")));
    let mut p = Processor::new(EmbeddedStore::open(path).unwrap(), clock).unwrap();
    let mut events = setup_events();
    events.push(Event::Entry(entry(
        "s1",
        "2026-03-02T10:00:00Z",
        "d",
        "c\\u0000",
        "in",
    )));
    let out = p.process(&events, vec![]).unwrap();
    p.commit(&out).unwrap();
    p
}

/// A store written before versions were kept with their entity (an
/// `entities` and a `versions` table, keyed by (kind, id, second id)) is
/// converted the first time it is opened: the same state, in the rows a
/// new store writes, and the old tables gone.
#[test]
fn embedded_store_merges_the_entity_and_version_tables_of_an_older_store() {
    use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
    let rows: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entity_state");
    let legacy_entities: TableDefinition<(&str, &str, &str), &[u8]> =
        TableDefinition::new("entities");
    let legacy_versions: TableDefinition<(&str, &str, &str), i64> =
        TableDefinition::new("versions");
    let kinds = ["zone", "door", "employee", "card", "grant", "presence"];
    let dir = tempfile::tempdir().unwrap();
    let (new, old) = (dir.path().join("new.redb"), dir.path().join("old.redb"));

    // Every kind of row: entities with versions, a revoke of a grant that
    // never was (a version without an entity), presence (no version).
    let p = ingested(&new);
    let want = p.store().load().unwrap();
    assert!(want.is_inside("e/1", "z"));
    drop(p);

    // The same rows in the older tables, read off the documented layout:
    // key = kind byte, first id's length (u32 LE), first id, second id;
    // value = flags (1: version, 2: entity), version (i64 LE), entity.
    let written: Vec<(Vec<u8>, Vec<u8>)> = {
        let db = redb::Database::open(&new).unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(rows).unwrap();
        table
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect()
    };
    assert!(written.len() >= 7, "{} rows", written.len());
    {
        let db = redb::Database::create(&old).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut entities = txn.open_table(legacy_entities).unwrap();
            let mut versions = txn.open_table(legacy_versions).unwrap();
            for (k, v) in &written {
                let len = u32::from_le_bytes(k[1..5].try_into().unwrap()) as usize;
                let a = std::str::from_utf8(&k[5..5 + len]).unwrap();
                let b = std::str::from_utf8(&k[5 + len..]).unwrap();
                let key = (kinds[k[0] as usize], a, b);
                let mut rest = &v[1..];
                if v[0] & 1 != 0 {
                    versions
                        .insert(key, i64::from_le_bytes(rest[..8].try_into().unwrap()))
                        .unwrap();
                    rest = &rest[8..];
                }
                if v[0] & 2 != 0 {
                    entities.insert(key, rest).unwrap();
                } else {
                    assert!(rest.is_empty());
                }
            }
        }
        txn.commit().unwrap();
    }

    for _ in 0..2 {
        let s = EmbeddedStore::open(&old).unwrap();
        assert_eq!(s.load().unwrap(), want);
    }
    let db = redb::Database::open(&old).unwrap();
    let txn = db.begin_read().unwrap();
    let names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    assert!(
        !names.iter().any(|n| n == "entities" || n == "versions"),
        "{names:?}"
    );
    let converted: Vec<(Vec<u8>, Vec<u8>)> = txn
        .open_table(rows)
        .unwrap()
        .iter()
        .unwrap()
        .map(|r| {
            let (k, v) = r.unwrap();
            (k.value().to_vec(), v.value().to_vec())
        })
        .collect();
    assert_eq!(converted, written);
}

/// The batch path (a Lambda-style run against the embedded store) sees the
/// ids `accesslake ingest` recorded in its sorted runs, and does not decide
/// them again.
#[tokio::test(flavor = "multi_thread")]
async fn ids_decided_by_ingest_are_known_to_the_batch_path() {
    use accesslake_ingest::BatchStore;
    let dir = tempfile::tempdir().unwrap();
    let p = ingested(&dir.path().join("state.redb"));
    let store = p.store();
    let err = store.decisions(&["s1"]).await.unwrap_err();
    assert!(
        err.to_string().contains("decided by the local pipeline"),
        "{err}"
    );
    assert!(store.decisions(&["s9"]).await.unwrap()[0].is_none());
    let err = store.admin_records(&["a1"]).await.unwrap_err();
    assert!(
        err.to_string().contains("applied by the local pipeline"),
        "{err}"
    );
    assert!(store.admin_records(&["zz"]).await.unwrap()[0].is_none());
}
