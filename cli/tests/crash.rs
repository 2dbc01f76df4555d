//! Crash safety of the local commands: `accesslake ingest` and `accesslake
//! compact` killed with SIGKILL at random points, several times in a row, then
//! run to completion, leave the same lake and state as an uninterrupted run.
//!
//! The kill delays come from a seed printed by the test; set
//! `ACCESSLAKE_CRASH_SEED` to replay one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_accesslake"));
    c.env("ACCESSLAKE_LOG", "warn");
    c
}

fn run(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("the binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A small deterministic generator for the kill delays (xorshift64*).
struct Delays(u64);

impl Delays {
    fn seeded() -> Self {
        let seed = std::env::var("ACCESSLAKE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        eprintln!("ACCESSLAKE_CRASH_SEED={seed}");
        Delays(seed)
    }

    /// A delay uniformly in [0, max).
    fn next(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        max.mul_f64(r as f64 / (1u64 << 53) as f64)
    }
}

/// Starts the command, kills it with SIGKILL after `delay` unless it ended
/// before. Returns whether it was killed (a kill point inside the run).
fn kill_after(args: &[&str], delay: Duration) -> bool {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let start = Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Child::kill is SIGKILL on Unix: no destructor, no flush, no cleanup.
    let killed = child.try_wait().unwrap().is_none() && child.kill().is_ok();
    child.wait().unwrap();
    killed
}

/// Every row of every table of a lake as CSV text, sorted, without the
/// columns that record when a run happened: duplicates and losses both show.
fn lake_text(lake: &Path) -> String {
    lake_text_with(lake, "")
}

/// The distinct rows of a lake, as [`lake_text`].
fn lake_distinct(lake: &Path) -> String {
    lake_text_with(lake, "DISTINCT ")
}

fn lake_text_with(lake: &Path, distinct: &str) -> String {
    let lake_s = lake.to_str().unwrap();
    let tables = [
        ("decisions", "processed_at"),
        ("admin_events", "received_at"),
        ("rejected", "received_at"),
    ];
    let mut out = String::new();
    for (table, run_time) in tables {
        let q = format!("SELECT {distinct}* EXCEPT ({run_time}) FROM {table}");
        out.push_str(&sorted_rows(lake_s, table, &q));
    }
    out
}

/// A query's CSV rows, sorted, under a line naming the table and the count.
fn sorted_rows(lake: &str, table: &str, query: &str) -> String {
    let o = run(&["sql", "--lake", lake, "--format", "csv", query]);
    let text = String::from_utf8(o.stdout).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    let mut out = format!("-- {table}: {} rows\n", lines.len() - 1);
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The state behind a lake, through the snapshot tables written from it.
fn state_text(lake: &Path) -> String {
    let lake_s = lake.to_str().unwrap();
    run(&["snapshot", "--lake", lake_s]);
    let mut out = String::new();
    for t in ["employees", "cards", "zones", "doors", "grants"] {
        let q = format!("SELECT * EXCEPT (snapshot_at, dt) FROM {t}");
        out.push_str(&sorted_rows(lake_s, t, &q));
    }
    out
}

fn parquet_files(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                parquet_files(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "parquet"))
            }
        })
        .sum()
}

/// Files left behind that are neither Parquet nor state: a killed run's
/// temporary files would show here.
fn stray_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "_state") {
                stray_files(&p, out);
            }
        } else if p.extension().is_none_or(|x| x != "parquet") {
            out.push(p);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

struct Input {
    _dir: tempfile::TempDir,
    root: PathBuf,
    files: Vec<String>,
}

fn input() -> Input {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let gen_dir = root.join("in");
    run(&[
        "gen",
        "--seed",
        "11",
        "--employees",
        "1500",
        "--days",
        "10",
        "--out",
        gen_dir.to_str().unwrap(),
    ]);
    let files = ["admin.jsonl", "entries.jsonl"]
        .iter()
        .map(|f| gen_dir.join(f).to_str().unwrap().to_string())
        .collect();
    Input {
        _dir: dir,
        root,
        files,
    }
}

fn ingest_args<'a>(lake: &'a str, files: &'a [String]) -> Vec<&'a str> {
    let mut a = vec!["ingest", "--chunk", "300", "--lake", lake];
    a.extend(files.iter().map(String::as_str));
    a
}

#[test]
fn ingest_killed_at_random_points_ends_with_the_same_lake_and_state() {
    let input = input();
    let reference = input.root.join("reference");
    let reference_s = reference.to_str().unwrap();
    let started = Instant::now();
    run(&ingest_args(reference_s, &input.files));
    let whole_run = started.elapsed();
    let want_lake = lake_text(&reference);
    assert!(want_lake.lines().count() > 5_000, "a fixture too small");

    let mut delays = Delays::seeded();
    let lake = input.root.join("killed");
    let lake_s = lake.to_str().unwrap();
    let mut kills = Vec::new();
    // Each killed run goes on from where the last one got to, so the delays
    // are short against a whole run: many runs, each killed while it works.
    for _ in 0..60 {
        let delay = delays.next(whole_run / 5);
        if kill_after(&ingest_args(lake_s, &input.files), delay) {
            kills.push(delay);
        }
        if kills.len() == 25 {
            break;
        }
    }
    eprintln!(
        "ingest of {whole_run:?} killed at {:?}",
        kills.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    assert!(
        kills.len() >= 15,
        "only {} kills hit a running ingest",
        kills.len()
    );

    run(&ingest_args(lake_s, &input.files));
    let mut stray = Vec::new();
    stray_files(&lake, &mut stray);
    assert!(stray.is_empty(), "files left by killed runs: {stray:?}");
    assert_eq!(
        lake_text(&lake),
        want_lake,
        "the lake after {} kills",
        kills.len()
    );
    assert_eq!(state_text(&lake), state_text(&reference));
}

#[test]
fn compact_killed_at_random_points_ends_with_the_same_rows() {
    let input = input();
    let small = input.root.join("small");
    let small_s = small.to_str().unwrap();
    // Small chunks give many small files per partition to compact.
    let mut args = ingest_args(small_s, &input.files);
    args[2] = "100";
    run(&args);
    let want = lake_text(&small);
    let before = parquet_files(&small);

    let reference = input.root.join("reference");
    copy_dir(&small, &reference);
    let started = Instant::now();
    run(&["compact", "--lake", reference.to_str().unwrap()]);
    let whole_run = started.elapsed();
    let compacted = parquet_files(&reference);
    assert!(
        compacted * 5 < before,
        "{before} files compacted to {compacted}"
    );

    let mut delays = Delays::seeded();
    let lake = input.root.join("killed");
    copy_dir(&small, &lake);
    let lake_s = lake.to_str().unwrap();
    let mut kills = Vec::new();
    for _ in 0..40 {
        if kills.len() == 12 {
            break;
        }
        let delay = delays.next(whole_run / 6);
        if kill_after(&["compact", "--lake", lake_s], delay) {
            kills.push(delay);
            // At no point may a reader miss a row. Between a run's outputs and
            // its deletes a row can be seen twice (docs/lake.md), which the
            // reports' dedupe by event_id absorbs.
            assert_eq!(
                lake_distinct(&lake),
                want,
                "the lake right after a kill at {delay:?}"
            );
        }
    }
    eprintln!(
        "compact of {whole_run:?} killed at {:?}",
        kills.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    assert!(
        kills.len() >= 6,
        "only {} kills hit a running compact",
        kills.len()
    );

    run(&["compact", "--lake", lake_s]);
    let mut stray = Vec::new();
    stray_files(&lake, &mut stray);
    assert!(stray.is_empty(), "files left by killed runs: {stray:?}");
    assert_eq!(
        lake_text(&lake),
        want,
        "the lake after {} kills",
        kills.len()
    );
    assert_eq!(parquet_files(&lake), compacted);
}
