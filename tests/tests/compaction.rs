//! Compaction (SPEC 4, docs/lake.md): the same reports before and after on a
//! lake of hundreds of small files with duplicates; killed at every step of
//! a partition's run, the reports stay right and a rerun finishes; files
//! landing meanwhile are left for the next run; retention.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use accesslake_ingest::{EmbeddedStore, StateStore, snapshot};
use accesslake_model::{Table, parse_rfc3339, utc_date};
use accesslake_queries::DataFusionEngine;
use accesslake_reports::ReportArgs;
use accesslake_transform::Lake;
use accesslake_transform::compact::{self, CompactOptions, MANIFEST, Metrics};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use chrono::NaiveDate;
use common::*;
use parquet::arrow::ArrowWriter;

const HOUR: i64 = 3_600_000_000;
/// Events per ingest chunk: hundreds of files.
const SMALL_FILES: usize = 3;

/// A lake of many small files (one ingest chunk per `chunk` events), a snapshot,
/// and duplicates as at-least-once writers leave them: whole files written
/// twice, and one file's rows again with a later processed_at and another
/// reason (compaction must keep the first).
struct Fixture {
    _dir: tempfile::TempDir,
    lake: PathBuf,
    duplicate_rows: u64,
}

fn fixture_lake(chunk: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 30, 4, 11);
    let lake = dir.path().join("lake");
    ingest(&lake, &files, chunk).unwrap();
    let state = EmbeddedStore::open(&lake.join("_state/state.redb"))
        .unwrap()
        .load()
        .unwrap();
    let at = parse_rfc3339("2026-06-01T12:00:00Z").unwrap();
    rt().block_on(snapshot::write_snapshot(
        &Lake::local(&lake).unwrap(),
        &state,
        at,
    ))
    .unwrap();

    let mut duplicate_rows = 0;
    for table in Table::EVENTS {
        for (i, f) in table_files(&lake, table)
            .iter()
            .step_by(7)
            .take(4)
            .enumerate()
        {
            std::fs::copy(f, f.with_file_name(format!("firehose-dup-{i}.parquet"))).unwrap();
            duplicate_rows += read_file(f)
                .iter()
                .map(|b| b.num_rows() as u64)
                .sum::<u64>();
        }
    }
    let victim = &table_files(&lake, Table::Decisions)[3];
    let batches: Vec<RecordBatch> = read_file(victim).into_iter().map(retried_later).collect();
    duplicate_rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
    write_parquet(&victim.with_file_name("retried-later.parquet"), &batches);
    Fixture {
        _dir: dir,
        lake,
        duplicate_rows,
    }
}

/// The same decisions decided an hour later with another reason.
fn retried_later(b: RecordBatch) -> RecordBatch {
    let schema = b.schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .zip(b.columns())
        .map(|(f, c)| -> ArrayRef {
            match f.name().as_str() {
                "processed_at" => Arc::new(
                    c.as_primitive::<TimestampMicrosecondType>()
                        .iter()
                        .map(|t| t.map(|t| t + HOUR))
                        .collect::<TimestampMicrosecondArray>()
                        .with_timezone("UTC"),
                ),
                "reason" => Arc::new(StringArray::from(vec!["tampered"; b.num_rows()])),
                _ => c.clone(),
            }
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batches[0].schema(),
        None,
    )
    .unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

/// Every report of SPEC 6, rendered as CSV, on the whole fixture.
fn all_reports(lake: &Path) -> Vec<(&'static str, String)> {
    let t = |s: &str| parse_rfc3339(s).unwrap();
    let args = ReportArgs {
        from: Some(t("2026-03-01T00:00:00Z")),
        to: Some(t("2026-03-07T00:00:00Z")),
        at: Some(t("2026-03-03T10:00:00Z")),
        employee_id: Some("e-00001".into()),
        door_id: Some("hq-lobby-main".into()),
        days: Some(2),
    };
    every_report(
        &rt().block_on(DataFusionEngine::local(lake)).unwrap(),
        &args,
    )
}

fn assert_reports(lake: &Path, want: &[(&'static str, String)], when: &str) {
    let got = all_reports(lake);
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert!(g == w, "report {name} differs {when}:\n{g}\nwanted:\n{w}");
    }
}

fn compact_all(lake: &Path, opts: &CompactOptions) -> Metrics {
    rt().block_on(compact::compact(&Lake::local(lake).unwrap(), opts))
        .unwrap()
}

fn partitions(lake: &Path, table: Table) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(lake.join(table.name()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// (name, size, mtime) of every object under the event tables.
fn listing(lake: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    for t in Table::EVENTS {
        for p in partitions(lake, t) {
            for f in std::fs::read_dir(p).unwrap().flatten() {
                let m = f.metadata().unwrap();
                out.push((f.path(), m.len(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn reports_are_the_same_after_compaction_and_the_files_are_few() {
    let fx = fixture_lake(SMALL_FILES);
    let lake = &fx.lake;
    let with_duplicates = all_reports(lake);
    let unique_decisions = {
        let mut ids: Vec<String> = rows(lake, Table::Decisions, &[])
            .iter()
            .map(|r| r.split('|').next().unwrap().to_string())
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    let files_before: usize = Table::EVENTS
        .iter()
        .map(|t| table_files(lake, *t).len())
        .sum();
    assert!(files_before > 200, "only {files_before} files");

    let m = compact_all(lake, &CompactOptions::default());
    let parts: usize = Table::EVENTS
        .iter()
        .map(|t| partitions(lake, *t).len())
        .sum();
    assert_eq!(m.partitions, parts);
    assert_eq!(m.files_in, files_before);
    assert_eq!(m.files_out, parts, "one file per partition at 128 MiB");
    assert_eq!(m.duplicates_removed, fx.duplicate_rows);
    assert_eq!(m.rows_out, m.rows_in - fx.duplicate_rows);
    for t in Table::EVENTS {
        for p in partitions(lake, t) {
            let names: Vec<String> = std::fs::read_dir(&p)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names.len(), 1, "{}: {names:?}", p.display());
            assert!(names[0].starts_with("compact-"), "{names:?}");
        }
    }
    assert_reports(lake, &with_duplicates, "after compaction");

    // Each event once, the first decision kept, rows in SPEC 4 order.
    let decisions = rows(lake, Table::Decisions, &[]);
    assert_eq!(decisions.len(), unique_decisions);
    assert!(decisions.iter().all(|r| !r.contains("reason=tampered")));
    for f in table_files(lake, Table::Decisions) {
        for b in read_file(&f) {
            let zone = b.column_by_name("zone_id").unwrap().as_string::<i32>();
            let at = b
                .column_by_name("occurred_at")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>();
            let key = |i: usize| {
                (
                    zone.is_null(i),
                    zone.is_valid(i).then(|| zone.value(i)),
                    at.value(i),
                )
            };
            for i in 1..b.num_rows() {
                assert!(key(i - 1) <= key(i), "{} row {i} out of order", f.display());
            }
        }
    }

    // A second run changes nothing.
    let before = listing(lake);
    let again = compact_all(lake, &CompactOptions::default());
    assert_eq!(again.partitions, 0);
    assert_eq!(again.partitions_up_to_date, parts);
    assert_eq!(again.files_in + again.files_out, 0);
    assert_eq!(listing(lake), before);
}

#[test]
fn outputs_are_split_near_the_target_size() {
    // Days of a larger site, so per-file overhead (footer, schema) is small
    // against the target.
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 900, 1, 5);
    let lake = dir.path().join("lake");
    ingest(&lake, &files, 2_000).unwrap();
    let day = busiest_day(&lake);
    let one = one_partition(&day);
    // Compacted whole, the partition is one file of `whole` bytes; against a
    // third of that it is three files of about a third each.
    let copy = tempdir_copy(&lake);
    let whole = compact_all(&lake, &one);
    assert_eq!(whole.files_out, 1);
    assert!(whole.bytes_out > 100_000, "{} bytes", whole.bytes_out);
    let target = whole.bytes_out / 3 + 1;
    let split = compact_all(
        copy.path(),
        &CompactOptions {
            target_size: target,
            ..one
        },
    );
    assert_eq!(split.files_out, 3);
    assert_eq!(split.rows_out, whole.rows_out);
    let copy_day = copy.path().join(day.strip_prefix(&lake).unwrap());
    for f in table_files(copy.path(), Table::Decisions)
        .iter()
        .filter(|f| f.starts_with(&copy_day))
    {
        let size = std::fs::metadata(f).unwrap().len();
        assert!(
            size <= target + target / 5 && size >= target / 2,
            "{size} against {target}"
        );
    }
    assert_eq!(
        rows(copy.path(), Table::Decisions, &[]),
        rows(&lake, Table::Decisions, &[]),
        "the same rows in three files as in one"
    );
}

/// The decisions partition with the most files.
fn busiest_day(lake: &Path) -> PathBuf {
    partitions(lake, Table::Decisions)
        .into_iter()
        .max_by_key(|p| std::fs::read_dir(p).unwrap().count())
        .unwrap()
}

fn day_of(partition: &Path) -> NaiveDate {
    let name = partition.file_name().unwrap().to_string_lossy();
    NaiveDate::parse_from_str(name.strip_prefix("dt=").unwrap(), "%Y-%m-%d").unwrap()
}

/// Options that compact one decisions partition.
fn one_partition(partition: &Path) -> CompactOptions {
    let dt = day_of(partition);
    CompactOptions {
        tables: vec![Table::Decisions],
        from: Some(dt),
        to: Some(dt),
        ..CompactOptions::default()
    }
}

#[test]
fn a_compaction_killed_at_any_step_leaves_right_reports_and_a_rerun_finishes() {
    // Fewer, larger files than the other tests: a partition of a dozen
    // inputs has every kind of step, and the reports run twice per step.
    let fx = fixture_lake(40);
    let want = all_reports(&fx.lake);
    let day = busiest_day(&fx.lake);
    let inputs = std::fs::read_dir(&day).unwrap().count();
    assert!(inputs >= 6, "{inputs} inputs");
    let opts = one_partition(&day);

    let run = |lake: &Path, allow: usize| {
        let store =
            FailingStore::puts_and_deletes(Lake::local(lake).unwrap().store().clone(), allow);
        let ops = store.ops.clone();
        let r = rt().block_on(compact::compact(
            &Lake::from_store(Arc::new(store), "failing"),
            &opts,
        ));
        (r, ops.load(Ordering::SeqCst))
    };
    // manifest, one output, commit, one delete per input, manifest delete
    let (ok, steps) = run(tempdir_copy(&fx.lake).path(), usize::MAX);
    ok.unwrap();
    assert_eq!(steps, 3 + inputs + 1);

    // Every step up to the commit and after it, and every fifth delete between.
    let points = (0..steps).filter(|&n| n < 5 || n + 3 >= steps || n % 5 == 0);
    for allow in points {
        let copy = tempdir_copy(&fx.lake);
        let lake = copy.path();
        let (r, _) = run(lake, allow);
        assert!(r.is_err(), "no failure with {allow} writes allowed");
        let copy_day = lake.join(day.strip_prefix(&fx.lake).unwrap());
        assert_reports(lake, &want, &format!("after a crash at write {allow}"));
        let m = compact_all(lake, &opts);
        assert!(m.failed.is_empty(), "{:?}", m.failed);
        let left: Vec<String> = std::fs::read_dir(&copy_day)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 1, "after a crash at write {allow}: {left:?}");
        assert!(left[0].starts_with("compact-") && left[0] != MANIFEST);
        assert_reports(
            lake,
            &want,
            &format!("after the rerun of a crash at {allow}"),
        );
        let again = compact_all(lake, &opts);
        assert_eq!(
            again.partitions + again.partitions_finished,
            0,
            "crash at {allow}"
        );
    }
}

fn tempdir_copy(lake: &Path) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_dir(lake, d.path());
    d
}

#[test]
fn files_landing_during_a_compaction_are_left_for_the_next_run() {
    let fx = fixture_lake(SMALL_FILES);
    let lake = fx.lake.clone();
    let day = partitions(&lake, Table::Decisions)[1].clone();
    let inputs = table_files(&lake, Table::Decisions)
        .into_iter()
        .filter(|f| f.starts_with(&day))
        .collect::<Vec<_>>();
    let ids_before: Vec<String> = event_ids(&lake);

    // While the outputs are put, a late file lands and a retried writer
    // replaces one input with more rows.
    let retried = inputs[0].clone();
    let hook_retried = retried.clone();
    let (late_rows, retry_rows) = (renamed(&inputs[1], "-late"), renamed(&inputs[2], "-retry"));
    let hook_day = day.clone();
    let mut store = FailingStore::puts(Lake::local(&lake).unwrap().store().clone(), usize::MAX);
    let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f2 = fired.clone();
    store.before_put = Some(Box::new(move |p| {
        if p.filename().is_some_and(|n| n.starts_with("compact-"))
            && !f2.swap(true, Ordering::SeqCst)
        {
            write_parquet(&hook_day.join("late-arrival.parquet"), &late_rows);
            let mut both = read_file(&hook_retried);
            both.extend(retry_rows.iter().cloned());
            write_parquet(&hook_retried, &both);
        }
    }));
    let m = rt()
        .block_on(compact::compact(
            &Lake::from_store(Arc::new(store), "hooked"),
            &one_partition(&day),
        ))
        .unwrap();
    assert!(fired.load(Ordering::SeqCst));
    assert_eq!(m.inputs_kept_changed, 1);
    assert!(day.join("late-arrival.parquet").exists());
    assert!(retried.exists(), "a replaced input is not deleted");
    let ids = event_ids(&lake);
    for id in &ids_before {
        assert!(ids.binary_search(id).is_ok(), "{id} lost");
    }
    assert!(ids.iter().any(|i| i.ends_with("-late")) && ids.iter().any(|i| i.ends_with("-retry")));

    let next = compact_all(&lake, &CompactOptions::default());
    assert!(next.partitions >= 1);
    assert_eq!(std::fs::read_dir(&day).unwrap().count(), 1);
    assert_eq!(event_ids(&lake), ids, "nothing lost, nothing twice");
}

/// The rows of a file with `suffix` added to every event_id: new events.
fn renamed(path: &Path, suffix: &str) -> Vec<RecordBatch> {
    read_file(path)
        .into_iter()
        .map(|b| {
            let schema = b.schema();
            let ids: StringArray = b
                .column(0)
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(|v| format!("{v}{suffix}")))
                .collect();
            let mut cols = b.columns().to_vec();
            cols[0] = Arc::new(ids);
            RecordBatch::try_new(schema, cols).unwrap()
        })
        .collect()
}

/// Every decision event_id in the lake, each once, sorted.
fn event_ids(lake: &Path) -> Vec<String> {
    let mut ids: Vec<String> = table_files(lake, Table::Decisions)
        .iter()
        .flat_map(|f| read_file(f))
        .flat_map(|b| {
            b.column(0)
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert!(ids.len() <= n);
    ids
}

#[test]
fn an_unreadable_file_leaves_its_partition_alone() {
    let fx = fixture_lake(SMALL_FILES);
    let lake = &fx.lake;
    let parts = partitions(lake, Table::Decisions);
    let bad_day = &parts[0];
    std::fs::write(bad_day.join("torn.parquet"), b"PAR1 not really").unwrap();
    // A folder that only looks like a partition is not the lake's: left alone.
    let odd = lake.join("decisions/dt=2026-3-2");
    std::fs::create_dir_all(&odd).unwrap();
    let valid = table_files(lake, Table::Decisions).pop().unwrap();
    std::fs::copy(&valid, odd.join("part-x.parquet")).unwrap();
    let before: Vec<PathBuf> = std::fs::read_dir(bad_day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();

    let m = compact_all(
        lake,
        &CompactOptions {
            tables: vec![Table::Decisions],
            ..CompactOptions::default()
        },
    );
    assert_eq!(m.failed.len(), 1, "{:?}", m.failed);
    assert!(m.failed[0].0.ends_with("torn.parquet"), "{:?}", m.failed);
    assert_eq!(m.partitions, parts.len() - 1);
    let mut after: Vec<PathBuf> = std::fs::read_dir(bad_day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut before = before;
    before.sort();
    after.sort();
    assert_eq!(after, before, "nothing in the partition was touched");
    for p in parts[1..].iter().filter(|p| **p != odd) {
        assert_eq!(std::fs::read_dir(p).unwrap().count(), 1);
    }
    assert!(odd.join("part-x.parquet").exists());
}

#[test]
fn retention_drops_every_partition_before_the_day() {
    let fx = fixture_lake(SMALL_FILES);
    let lake = Lake::local(&fx.lake).unwrap();
    let days: Vec<NaiveDate> = partitions(&fx.lake, Table::Decisions)
        .iter()
        .map(|p| day_of(p))
        .collect();
    let cut = days[2];
    let listed = listing(&fx.lake);
    let dry = rt()
        .block_on(compact::expire(&lake, &Table::ALL, cut, true))
        .unwrap();
    assert!(dry.files > 0);
    assert_eq!(listing(&fx.lake), listed, "a dry run deletes nothing");
    let done = rt()
        .block_on(compact::expire(&lake, &Table::ALL, cut, false))
        .unwrap();
    assert_eq!(done, dry);
    for t in Table::ALL {
        for p in partitions(&fx.lake, t) {
            let has_files = std::fs::read_dir(&p).unwrap().next().is_some();
            assert!(!has_files || day_of(&p) >= cut, "{}", p.display());
        }
    }
    // The snapshot (taken on 2026-06-01) is newer than the cut and stays.
    assert_eq!(table_files(&fx.lake, Table::Grants).len(), 1);
    assert!(utc_date(parse_rfc3339("2026-06-01T12:00:00Z").unwrap()) > cut);
}
