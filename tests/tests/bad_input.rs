//! SPEC 5: every malformed line becomes a `rejected` row naming `file:line`,
//! and the rest of the file is decided.

mod common;

use std::io::Write;

use accesslake_model::Table;
use common::*;

const SETUP: &str = r#"{"event_id":"a1","type":"zone_upserted","occurred_at":"2026-03-01T00:00:00Z","actor":"t","data":{"zone_id":"z","name":"Z","site_id":"s","timezone":"Europe/London","capacity":5}}
{"event_id":"a2","type":"door_upserted","occurred_at":"2026-03-01T00:00:01Z","actor":"t","data":{"door_id":"d","zone_id":"z","name":"D"}}
"#;

fn scan(id: u32) -> String {
    format!(
        r#"{{"event_id":"g{id}","occurred_at":"2026-03-02T08:00:{id:02}Z","door_id":"d","card_id":"c","direction":"out"}}"#
    )
}

#[test]
fn each_malformed_class_is_rejected_and_the_rest_decided() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(SETUP.as_bytes()).unwrap();
    let oversize = format!(
        r#"{{"event_id":"big","occurred_at":"2026-03-02T08:00:00Z","door_id":"d","card_id":"c","direction":"in","pad":"{}"}}"#,
        "x".repeat(200_000)
    );
    let bad: Vec<(Vec<u8>, &str)> = vec![
        (b"this is not json".to_vec(), "invalid JSON"),
        (br#"{"event_id":"m1","occurred_at":"2026-03-02T08:00:00Z","door_id":"d","direction":"in"}"#.to_vec(), "`card_id`: missing"),
        (br#"{"event_id":"m2","occurred_at":"2026-03-02 08:00:00","door_id":"d","card_id":"c","direction":"in"}"#.to_vec(), "`occurred_at`"),
        (br#"{"event_id":"m3","occurred_at":"2026-03-02T08:00:00Z","door_id":"d","card_id":"c","direction":"sideways"}"#.to_vec(), "`direction`"),
        (oversize.into_bytes(), "over the 65536-byte limit"),
        ([&b"{\"event_id\":\"m5\",\"door_id\":\"d\xff\xfe\"}"[..]].concat(), "invalid UTF-8"),
        (b"[\"an\",\"array\"]".to_vec(), "JSON object"),
        // Valid RFC 3339 whose UTC date is in year 10000: no partition can hold it.
        (br#"{"event_id":"m6","occurred_at":"9999-12-31T23:59:59-23:59","door_id":"d","card_id":"c","direction":"in"}"#.to_vec(), "outside years 0000-9999"),
    ];
    let mut line = 2;
    let mut expected_refs = Vec::new();
    for (i, (b, _)) in bad.iter().enumerate() {
        f.write_all(scan(i as u32).as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
        f.write_all(b).unwrap();
        f.write_all(b"\r\n").unwrap();
        line += 2;
        expected_refs.push(format!("{}:{line}", path.display()));
    }
    f.write_all(b"\n   \n").unwrap(); // blank lines are skipped, not rejected
    f.write_all(scan(59).as_bytes()).unwrap();
    drop(f);

    let lake = dir.path().join("lake");
    let s = ingest(&lake, std::slice::from_ref(&path), 3).unwrap();
    let all = rows(&lake, Table::Rejected, &["received_at", "raw"]);
    assert_eq!(s.stats.rejected, bad.len() as u64, "{all:#?}");
    assert_eq!(
        s.stats.entries_decided,
        bad.len() as u64 + 1,
        "the good lines around the bad ones are decided"
    );
    assert_eq!(s.stats.admin_applied, 2);

    let rejected = rows(&lake, Table::Rejected, &["received_at"]);
    assert_eq!(rejected.len(), bad.len());
    for ((_, want), sref) in bad.iter().zip(&expected_refs) {
        let row = rejected
            .iter()
            .find(|r| r.contains(&format!("source_ref={sref}|")))
            .unwrap_or_else(|| panic!("no rejected row for {sref} in {rejected:#?}"));
        assert!(row.contains("source=file|"), "{row}");
        assert!(row.contains(want), "{sref}: {row:.300}");
    }
    // The oversize line keeps its first 64 KiB; invalid UTF-8 is replaced, not dropped.
    let big = rejected
        .iter()
        .find(|r| r.contains("over the 65536"))
        .unwrap();
    let raw = big.split("|raw=").nth(1).unwrap();
    assert_eq!(raw.len(), 65_536);
    assert!(rejected.iter().any(|r| r.contains("d\u{fffd}\u{fffd}")));
    let decided = rows(&lake, Table::Decisions, RUN_TIME_COLUMNS);
    assert!(decided.iter().any(|r| r.contains("event_id=g59|")));
}

#[test]
fn a_huge_line_without_newline_does_not_hold_the_file_in_memory() {
    // 8 MiB of one line: rejected with only 64 KiB kept, and the next line is read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(SETUP.as_bytes()).unwrap();
    f.write_all(&vec![b'{'; 8 << 20]).unwrap();
    f.write_all(b"\n").unwrap();
    f.write_all(scan(1).as_bytes()).unwrap();
    drop(f);
    let lake = dir.path().join("lake");
    let s = ingest(&lake, &[path], 1000).unwrap();
    assert_eq!((s.stats.rejected, s.stats.entries_decided), (1, 1));
    let r = rows(&lake, Table::Rejected, &["received_at"]);
    assert!(
        r[0].contains(&format!("line is {} bytes", 8 << 20)),
        "{:.200}",
        r[0]
    );
}

#[test]
fn a_missing_input_file_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let err = ingest(&lake, &[dir.path().join("nope.jsonl")], 10).unwrap_err();
    assert!(err.to_string().contains("nope.jsonl"), "{err}");
    assert!(table_files(&lake, Table::Decisions).is_empty());
}
