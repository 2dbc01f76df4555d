//! Hostile identifiers (SPEC 5): door, zone, card and employee ids with `/`,
//! `..`, `%2F`, NUL, Windows separators, partition look-alikes, very long
//! strings, Unicode confusables and SQL metacharacters go through ingest, the
//! lake, snapshots and every report: nothing is written outside the lake, no
//! query breaks or changes its meaning, and every id comes back byte for byte.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use accesslake_ingest::{EmbeddedStore, StateStore, snapshot};
use accesslake_model::{Table, parse_rfc3339};
use accesslake_queries::DataFusionEngine;
use accesslake_reports::{REPORTS, ReportArgs, ReportParams, html, render, run_report};
use common::*;
use serde_json::{Value, json};

const Z1: &str = "z/../../../escape";
const Z2: &str = "z'; DROP TABLE decisions; --";
const D1: &str = "../../../../tmp/accesslake-hostile-door";
const D2: &str = "d\u{0}nul";
const D3: &str = "d/*c*/--";

/// (employee_id, name, department, card_id); each has a grant to both zones.
fn people() -> Vec<(String, String, String, String)> {
    [
        ("e1", "Ada", "R&D", "c1"),
        (
            "e/../../x",
            "Robert'); DROP TABLE students;--",
            "</td><script>x()</script>",
            "c/../../c",
        ),
        (
            "e%2F..%2Fy",
            "Nul\u{0}Byte",
            "Ops\r\nInjected,\"col\"",
            "c\\..\\..\\win",
        ),
        (
            "dt=2026-01-01",
            "Part Ition",
            "=cmd|' /C calc'!A0",
            "dt=../../x",
        ),
        ("e'||'x", "Quote O'Brien", "$from", "c' OR '1'='1"),
        ("_hidden", "Under Score", ".dot", ".c"),
    ]
    .into_iter()
    .map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()))
    .chain(std::iter::once((
        "L".repeat(4_000),
        "Long".into(),
        "Ops".into(),
        "C".repeat(4_000),
    )))
    .collect()
}

/// Look-alikes of e1/c1 (Cyrillic е and с), and c1 with a zero-width space:
/// different ids, never matched to the real ones.
const CONFUSABLE_EMPLOYEE: &str = "\u{435}1";
const CONFUSABLE_CARD: &str = "\u{441}1";
const ZERO_WIDTH_CARD: &str = "c1\u{200b}";

fn admin(n: &mut u32, ty: &str, at: &str, data: Value) -> String {
    *n += 1;
    json!({"event_id": format!("a{n:03}"), "type": ty, "occurred_at": at,
           "actor": "security'; --", "data": data})
    .to_string()
}

fn scan(id: &str, at: &str, door: &str, card: &str, dir: &str) -> String {
    json!({"event_id": id, "occurred_at": at, "door_id": door, "card_id": card, "direction": dir})
        .to_string()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    lake: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let input = root.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let t0 = "2026-03-01T09:00:00Z";
    let mut n = 0;
    let mut a = vec![
        admin(
            &mut n,
            "zone_upserted",
            t0,
            json!({"zone_id": Z1, "name": "<script>alert('z')</script>", "site_id": "s%2F..%2F", "timezone": "UTC", "capacity": 10}),
        ),
        admin(
            &mut n,
            "zone_upserted",
            t0,
            json!({"zone_id": Z2, "name": "Hall \"quoted\"", "site_id": "../site", "timezone": "Europe/London", "capacity": 0}),
        ),
    ];
    for (door, zone) in [(D1, Z1), (D2, Z2), (D3, Z1)] {
        a.push(admin(
            &mut n,
            "door_upserted",
            t0,
            json!({"door_id": door, "zone_id": zone, "name": door}),
        ));
    }
    let mut everyone = people();
    everyone.push((
        CONFUSABLE_EMPLOYEE.into(),
        "Look Alike".into(),
        "R&D".into(),
        CONFUSABLE_CARD.into(),
    ));
    for (e, name, dept, card) in &everyone {
        a.push(admin(
            &mut n,
            "employee_upserted",
            t0,
            json!({"employee_id": e, "name": name, "department": dept, "status": "active"}),
        ));
        a.push(admin(
            &mut n,
            "card_issued",
            t0,
            json!({"card_id": card, "employee_id": e}),
        ));
    }
    for (e, ..) in people() {
        for z in [Z1, Z2] {
            a.push(admin(
                &mut n,
                "access_granted",
                t0,
                json!({"employee_id": e, "zone_id": z, "schedule": "always"}),
            ));
        }
    }
    let mut s = Vec::new();
    for (i, (_, _, _, card)) in people().iter().enumerate() {
        let at = |h: u32| format!("2026-03-02T{h:02}:{i:02}:00Z");
        s.push(scan(&format!("s{i}-1"), &at(8), D1, card, "in"));
        s.push(scan(&format!("s{i}-2"), &at(12), D2, card, "in"));
        s.push(scan(&format!("s{i}-3"), &at(13), D2, card, "out"));
        s.push(scan(&format!("s{i}-4"), &at(17), D1, card, "out"));
        s.push(scan(&format!("s{i}-5"), &at(20), D3, card, "in"));
    }
    s.push(scan(
        "x-1",
        "2026-03-02T09:00:00Z",
        D1,
        CONFUSABLE_CARD,
        "in",
    ));
    s.push(scan(
        "x-2",
        "2026-03-02T09:01:00Z",
        D1,
        ZERO_WIDTH_CARD,
        "in",
    ));
    // event ids are identifiers too: one that looks like a path.
    s.push(scan("../../x-3", "2026-03-02T09:02:00Z", "/", "c9", "in"));
    std::fs::write(input.join("admin.jsonl"), a.join("\n")).unwrap();
    std::fs::write(input.join("entries.jsonl"), s.join("\n")).unwrap();

    let lake = root.join("lake");
    let summary = ingest(
        &lake,
        &[input.join("admin.jsonl"), input.join("entries.jsonl")],
        7,
    )
    .unwrap();
    assert_eq!(summary.stats.rejected, 0, "{summary:?}");
    let state = EmbeddedStore::open(&lake.join("_state/state.redb"))
        .unwrap()
        .load()
        .unwrap();
    rt().block_on(snapshot::write_snapshot(
        &accesslake_transform::Lake::local(&lake).unwrap(),
        &state,
        parse_rfc3339("2026-03-03T06:00:00Z").unwrap(),
    ))
    .unwrap();
    Fixture {
        _dir: dir,
        root,
        lake,
    }
}

/// Every file under `dir`, relative to it.
fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, base, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_str().unwrap().to_string());
        }
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[test]
fn nothing_is_written_outside_the_lake_and_its_partitions() {
    let f = fixture();
    let mut files = Vec::new();
    walk(&f.root, &f.root, &mut files);
    let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    for file in &files {
        let parts: Vec<&str> = file.split('/').collect();
        let ok = match parts.as_slice() {
            ["in", "admin.jsonl" | "entries.jsonl"] => true,
            ["lake", "_state", "state.redb"] => true,
            ["lake", table, dt, name] => {
                tables.contains(table)
                    && dt.strip_prefix("dt=").is_some_and(is_date)
                    && name.ends_with(".parquet")
                    && !name.contains("..")
            }
            _ => false,
        };
        assert!(ok, "unexpected file {file:?} among {files:#?}");
    }
    assert!(!Path::new("/tmp/accesslake-hostile-door").exists());
    // The zones' and people's ids named no folder: one partition per table and day.
    let decisions: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with("lake/decisions/"))
        .collect();
    assert!(
        decisions
            .iter()
            .all(|f| f.starts_with("lake/decisions/dt=2026-03-02/")),
        "{decisions:?}"
    );
}

/// A report's rows as JSON objects, through the JSON renderer.
fn report_rows(lake: &Path, name: &str, args: &ReportArgs) -> Vec<serde_json::Map<String, Value>> {
    let out = rt().block_on(async {
        let engine = DataFusionEngine::local(lake).await.unwrap();
        let def = accesslake_reports::report(name).unwrap();
        run_report(&engine, def, args).await.unwrap()
    });
    let v: Value = serde_json::from_str(&render::json(&out)).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

fn field<'a>(row: &'a serde_json::Map<String, Value>, col: &str) -> &'a str {
    row[col]
        .as_str()
        .unwrap_or_else(|| panic!("{col} in {row:?}"))
}

fn day() -> ReportArgs {
    ReportArgs {
        from: Some(parse_rfc3339("2026-03-02T00:00:00Z").unwrap()),
        to: Some(parse_rfc3339("2026-03-03T00:00:00Z").unwrap()),
        ..ReportArgs::default()
    }
}

#[test]
fn every_id_comes_back_byte_for_byte_and_matches_only_itself() {
    let f = fixture();
    // Each person's trail: their five decisions, all granted, their id exact.
    for (e, _, _, card) in people() {
        let rows = report_rows(
            &f.lake,
            "person_trail",
            &ReportArgs {
                employee_id: Some(e.clone()),
                ..day()
            },
        );
        let reasons: Vec<&str> = rows.iter().map(|r| field(r, "reason")).collect();
        assert_eq!(reasons, ["ok", "ok", "egress", "egress", "ok"], "{e:?}");
        assert!(
            rows.iter()
                .all(|r| field(r, "employee_id") == e && field(r, "card_id") == card)
        );
        let doors: Vec<&str> = rows.iter().map(|r| field(r, "door_id")).collect();
        assert_eq!(doors, [D1, D2, D2, D1, D3]);
    }
    // The look-alikes are other people: nothing of e1 is theirs, and theirs is denied.
    let rows = report_rows(
        &f.lake,
        "person_trail",
        &ReportArgs {
            employee_id: Some(CONFUSABLE_EMPLOYEE.into()),
            ..day()
        },
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(field(&rows[0], "reason"), "no_access");
    let denied = report_rows(&f.lake, "denied", &day());
    let mut got: Vec<(&str, &str, &str)> = denied
        .iter()
        .map(|r| {
            (
                field(r, "event_id"),
                field(r, "card_id"),
                field(r, "reason"),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("../../x-3", "c9", "unknown_door"),
            ("x-1", CONFUSABLE_CARD, "no_access"),
            ("x-2", ZERO_WIDTH_CARD, "unknown_card"),
        ]
    );
    // Each door's trail holds its own scans only.
    let n = people().len();
    for (door, want) in [(D1, 2 * n + 2), (D2, 2 * n), (D3, n), ("/", 1)] {
        let rows = report_rows(
            &f.lake,
            "door_trail",
            &ReportArgs {
                door_id: Some(door.into()),
                ..day()
            },
        );
        assert_eq!(rows.len(), want, "{door:?}");
        assert!(rows.iter().all(|r| field(r, "door_id") == door));
    }
    // At 12:30 everyone is in both zones, with names and departments as given.
    let muster = report_rows(
        &f.lake,
        "muster",
        &ReportArgs {
            at: Some(parse_rfc3339("2026-03-02T12:30:00Z").unwrap()),
            ..ReportArgs::default()
        },
    );
    let mut got: Vec<(String, String, String, String)> = muster
        .iter()
        .map(|r| {
            (
                field(r, "zone_id").into(),
                field(r, "employee_id").into(),
                field(r, "name").into(),
                field(r, "department").into(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, String, String)> = people()
        .into_iter()
        .flat_map(|(e, name, dept, _)| {
            [Z1, Z2].map(|z| (z.to_string(), e.clone(), name.clone(), dept.clone()))
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    // After hours (20:xx) and occupancy name the zones exactly.
    let after = report_rows(&f.lake, "after_hours", &day());
    assert_eq!(after.len(), n);
    assert!(
        after
            .iter()
            .all(|r| field(r, "door_id") == D3 && field(r, "zone_id") == Z1)
    );
    let occupancy = report_rows(&f.lake, "occupancy", &day());
    let mut entries: BTreeMap<&str, i64> = BTreeMap::new();
    for r in &occupancy {
        *entries.entry(field(r, "zone_id")).or_default() += r["entries"].as_i64().unwrap();
    }
    assert_eq!(
        entries,
        BTreeMap::from([(Z1, 2 * n as i64), (Z2, n as i64)])
    );
    // The snapshots keep every grant under its exact ids.
    let review = report_rows(&f.lake, "access_review", &ReportArgs::default());
    let mut got: Vec<(&str, &str)> = review
        .iter()
        .map(|r| (field(r, "employee_id"), field(r, "zone_id")))
        .collect();
    got.sort();
    let people = people();
    let mut want: Vec<(&str, &str)> = people
        .iter()
        .flat_map(|(e, ..)| [(e.as_str(), Z1), (e.as_str(), Z2)])
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn every_report_renders_hostile_text_as_text() {
    let f = fixture();
    let engine = rt().block_on(DataFusionEngine::local(&f.lake)).unwrap();
    for def in REPORTS {
        let args = match def.params {
            ReportParams::At => ReportArgs {
                at: Some(parse_rfc3339("2026-03-02T12:30:00Z").unwrap()),
                ..ReportArgs::default()
            },
            _ => ReportArgs {
                employee_id: Some(people()[1].0.clone()),
                door_id: Some(D2.into()),
                days: Some(1),
                at: Some(parse_rfc3339("2026-03-04T00:00:00Z").unwrap()),
                ..day()
            },
        };
        let r = rt()
            .block_on(run_report(&engine, def, &args))
            .unwrap_or_else(|e| panic!("{}: {e}", def.name));
        // JSON parses and holds as many rows as the report.
        let v: Value = serde_json::from_str(&render::json(&r)).unwrap();
        assert_eq!(
            v["rows"].as_array().unwrap().len(),
            r.rows.len(),
            "{}",
            def.name
        );
        // CSV: one record per row, however many quotes, commas and line breaks
        // the values hold (a quoted field may span lines).
        let csv = render::csv(&r);
        assert_eq!(csv_records(&csv), r.rows.len() + 1, "{}:\n{csv}", def.name);
        // HTML: the ids' markup is text, never elements.
        let page = html::report_page(def, &r);
        for raw in ["<script>alert", "<script>x()", "</td><script>"] {
            assert!(!page.contains(raw), "{} page holds {raw:?}", def.name);
        }
        assert!(!page.contains('\u{0}'), "{} page holds a NUL", def.name);
    }
}

/// Records of RFC 4180 CSV text: line breaks inside quotes do not end one.
fn csv_records(text: &str) -> usize {
    let (mut records, mut quoted, mut any) = (0, false, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => {
                records += 1;
                any = false;
                continue;
            }
            _ => {}
        }
        any = true;
    }
    records + usize::from(any)
}
