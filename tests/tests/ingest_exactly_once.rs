//! Exactly-once rows: however the same events arrive — in one run, in two
//! runs, with every line delivered twice, in small chunks, or through runs
//! that fail mid-batch — the lake holds the same rows.

mod common;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use accesslake_model::{Event, Table, parse_line};
use common::*;

fn lake_rows(lake: &Path) -> (Vec<String>, Vec<String>) {
    (
        rows(lake, Table::Decisions, RUN_TIME_COLUMNS),
        rows(lake, Table::AdminEvents, RUN_TIME_COLUMNS),
    )
}

fn assert_same_lake(
    got: &(Vec<String>, Vec<String>),
    want: &(Vec<String>, Vec<String>),
    what: &str,
) {
    assert_same_rows(&got.0, &want.0, &format!("decisions, {what}"));
    assert_same_rows(&got.1, &want.1, &format!("admin_events, {what}"));
}

fn lines(path: &Path) -> Vec<Vec<u8>> {
    let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    f.split(b'\n').map(|l| l.unwrap()).collect()
}

fn write(path: &Path, lines: &[Vec<u8>]) -> PathBuf {
    let mut f = std::fs::File::create(path).unwrap();
    for l in lines {
        f.write_all(l).unwrap();
        f.write_all(b"\n").unwrap();
    }
    path.to_path_buf()
}

fn time_of(line: &[u8]) -> Option<i64> {
    match parse_line(line) {
        Ok(Some(e)) => Some(Event::occurred_at(&e)),
        _ => None,
    }
}

/// The first line position at which every earlier event is before `t` and
/// every later one at or after it, if the file splits cleanly there.
fn clean_split(lines: &[Vec<u8>], t: i64) -> Option<usize> {
    let times: Vec<Option<i64>> = lines.iter().map(|l| time_of(l)).collect();
    let pos = times
        .iter()
        .position(|x| x.is_some_and(|x| x >= t))
        .unwrap_or(lines.len());
    let before_ok = times[..pos].iter().flatten().all(|&x| x < t);
    let after_ok = times[pos..].iter().flatten().all(|&x| x >= t);
    (before_ok && after_ok).then_some(pos)
}

#[test]
fn one_run_equals_two_runs_equals_every_line_twice() {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 60, 6, 11);
    let admin = lines(&files[0]);
    let entries = lines(&files[1]);

    let whole = dir.path().join("whole");
    let s = ingest(&whole, &files, 100_000).unwrap();
    let reference = lake_rows(&whole);
    assert!(
        reference.0.len() > 1000,
        "fixture too small: {}",
        reference.0.len()
    );
    assert_eq!(reference.0.len() as u64, s.stats.entries_decided);
    assert!(
        s.stats.duplicate_entries > 0 && s.stats.rejected > 0,
        "fixture lacks duplicates or bad lines"
    );

    // Two runs over the halves of each file, split at an instant where both files split cleanly.
    let start = accesslake_model::parse_rfc3339("2026-03-04T00:00:00Z").unwrap();
    let (t, a_pos, e_pos) = (0..72)
        .map(|h| start + h * 3_600_000_000)
        .find_map(|t| Some((t, clean_split(&admin, t)?, clean_split(&entries, t)?)))
        .expect("no clean split point");
    assert!(
        a_pos > 0 && e_pos > 0 && e_pos < entries.len(),
        "split at {t} is trivial"
    );
    let halves = dir.path().join("halves");
    let h = dir.path();
    let first = [
        write(&h.join("a1.jsonl"), &admin[..a_pos]),
        write(&h.join("e1.jsonl"), &entries[..e_pos]),
    ];
    let second = [
        write(&h.join("a2.jsonl"), &admin[a_pos..]),
        write(&h.join("e2.jsonl"), &entries[e_pos..]),
    ];
    ingest(&halves, &first, 100_000).unwrap();
    ingest(&halves, &second, 100_000).unwrap();
    assert_same_lake(&lake_rows(&halves), &reference, "two runs over halves");

    // Every line delivered twice, in place.
    let twice = |l: &[Vec<u8>]| {
        l.iter()
            .flat_map(|x| [x.clone(), x.clone()])
            .collect::<Vec<_>>()
    };
    let doubled = dir.path().join("doubled");
    let s2 = ingest(
        &doubled,
        &[
            write(&h.join("a2x.jsonl"), &twice(&admin)),
            write(&h.join("e2x.jsonl"), &twice(&entries)),
        ],
        100_000,
    )
    .unwrap();
    assert_same_lake(&lake_rows(&doubled), &reference, "every line twice");
    assert_eq!(s2.stats.entries_decided, s.stats.entries_decided);

    // Small chunks (many commits, many files) change nothing either.
    let small = dir.path().join("small");
    let s3 = ingest(&small, &files, 257).unwrap();
    assert_same_lake(&lake_rows(&small), &reference, "small chunks");
    assert!(s3.files_written > s.files_written);
    assert_same_rows(
        &rows(&small, Table::Rejected, RUN_TIME_COLUMNS),
        &rows(&whole, Table::Rejected, RUN_TIME_COLUMNS),
        "rejected, small chunks",
    );

    // And running the whole input again adds nothing at all.
    let again = ingest(&whole, &files, 100_000).unwrap();
    assert_eq!(
        (
            again.stats.entries_decided,
            again.stats.rejected,
            again.files_written
        ),
        (0, 0, 0)
    );
    assert_same_lake(&lake_rows(&whole), &reference, "a second run");
}

#[test]
fn a_run_that_fails_mid_batch_is_finished_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 30, 4, 5);
    let whole = dir.path().join("whole");
    let total = ingest(&whole, &files, 100).unwrap().files_written as usize;
    assert!(total > 15, "want many batches, got {total} files");
    let reference = lake_rows(&whole);
    let reference_rejected = rows(&whole, Table::Rejected, RUN_TIME_COLUMNS);

    for allow in [0, 1, 2, total / 3, total / 2, total - 1] {
        let lake = dir.path().join(format!("crash-{allow}"));
        assert!(
            ingest_failing(&lake, &files, 100, allow),
            "the injected failure at put {allow} did not happen"
        );
        // The next run cleans up the half-written batch and finishes the input.
        let s = ingest(&lake, &files, 100).unwrap();
        assert!(allow == 0 || s.recovered_files > 0 || s.stats.entries_decided > 0);
        assert_same_lake(
            &lake_rows(&lake),
            &reference,
            &format!("after a failure at put {allow}"),
        );
        assert_same_rows(
            &rows(&lake, Table::Rejected, RUN_TIME_COLUMNS),
            &reference_rejected,
            "rejected",
        );
    }
}
