//! Queries under a memory limit (docs/queries.md): on a lake of many small
//! files, every report answers the same with a limit small enough that its
//! sorts spill to disk as with a limit it never reaches; a sort spills
//! rather than failing; and a limit too small for a query is an error.

mod common;

use std::path::Path;

use accesslake_model::parse_rfc3339;
use accesslake_queries::{DataFusionEngine, QueryEngine};
use accesslake_reports::ReportArgs;
use common::*;

/// Events per ingest chunk: a file per table, day and 2,000 events, as
/// Lambda batches leave them.
const CHUNK: usize = 2_000;
/// The limit under test: below what the fixture's sorts hold, above what a
/// plan's operators need for a batch each (a 16 MiB pool shared by a dozen
/// operators leaves under 2 MB apiece, less than one batch of a grouping).
const SMALL: usize = 64 << 20;
/// A limit the fixture never reaches.
const AMPLE: usize = 16 << 30;

fn engine(lake: &Path, limit: usize) -> DataFusionEngine {
    rt().block_on(DataFusionEngine::local_with_memory(lake, limit))
        .unwrap()
}

fn reports(engine: &DataFusionEngine) -> Vec<(&'static str, String)> {
    let t = |s: &str| parse_rfc3339(s).unwrap();
    let args = ReportArgs {
        from: Some(t("2026-03-01T00:00:00Z")),
        to: Some(t("2026-03-30T00:00:00Z")),
        at: Some(t("2026-03-05T10:00:00Z")),
        employee_id: Some("e-00001".into()),
        door_id: Some("hq-lobby-main".into()),
        days: Some(2),
    };
    every_report(engine, &args)
}

#[test]
fn reports_spill_and_answer_as_without_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 1_000, 25, 23);
    let lake = dir.path().join("lake");
    ingest(&lake, &files, CHUNK).unwrap();

    let small = engine(&lake, SMALL);
    let want = reports(&engine(&lake, AMPLE));
    let got = reports(&small);
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        assert!(
            g == w,
            "report {name} differs under {SMALL} bytes:\n{g}\nwanted:\n{w}"
        );
    }
    let door_trail = want.iter().find(|(n, _)| *n == "door_trail").unwrap();
    assert!(
        door_trail.1.lines().count() > 1_000,
        "{}",
        door_trail.1.lines().count()
    );

    // The limit is what made the difference: a sort of every decision eight
    // times over (about 200 MB of rows) spills.
    let plan = rt()
        .block_on(small.sql(
            "EXPLAIN ANALYZE SELECT d.*, n FROM decisions d \
             CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8)) AS c(n) \
             ORDER BY event_id, n",
        ))
        .unwrap();
    let plan = format!("{:?}", plan);
    let spills: u64 = plan
        .split("spill_count=")
        .skip(1)
        .map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert!(spills > 0, "no sort spilled under {SMALL} bytes:\n{plan}");
}

#[test]
fn a_limit_too_small_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 50, 3, 29);
    let lake = dir.path().join("lake");
    ingest(&lake, &files, CHUNK).unwrap();
    let tiny = engine(&lake, 1024);
    let err = rt()
        .block_on(
            tiny.sql(
                "SELECT d.event_id FROM decisions d JOIN decisions e ON d.card_id = e.card_id",
            ),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("Resources exhausted"), "{err}");
}
