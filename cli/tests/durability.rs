//! Durability order of the local commands, read off their system calls:
//! a file is synced (its data, and every folder up to the lake's root)
//! before anything records it as written or removes what it replaces.
//!
//! - `ingest`: every Parquet file before the state commit that records its
//!   chunk's ids;
//! - `compact`: every output before the manifest says `committed`, the
//!   committed manifest before the first input is deleted, and the deletes
//!   before the manifest goes;
//! - `snapshot`: the new files before the older snapshots are deleted.
//!
//! A process crash keeps the page cache, so `crash.rs` cannot see a missing
//! sync; a power loss would. The commands run under `strace` (Debian's
//! `strace` package; `scripts/test` installs it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const STATE_FILE: &str = "/_state/state.redb";

/// One completed system call: its name, and the paths it named (for a
/// sync, the file or folder of its descriptor).
#[derive(Debug, Clone)]
struct Call {
    name: String,
    paths: Vec<String>,
    ok: bool,
}

impl Call {
    fn is_sync_of(&self, path: &str) -> bool {
        self.ok && matches!(self.name.as_str(), "fsync" | "fdatasync") && self.paths[0] == path
    }

    fn is_rename_to(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.ok && self.name.starts_with("rename") && pred(&self.paths[1])
    }

    fn is_unlink(&self) -> bool {
        self.ok && self.name.starts_with("unlink")
    }
}

/// Runs the binary under strace; its calls of interest, in order.
fn traced(dir: &Path, args: &[&str]) -> Vec<Call> {
    let log = dir.join("strace.log");
    let status = Command::new("strace")
        .args(["-f", "-y", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat",
        ])
        .arg(env!("CARGO_BIN_EXE_accesslake"))
        .args(args)
        .env("ACCESSLAKE_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!("strace runs ({e}): install Debian's strace package (scripts/test does)")
        });
    assert!(status.success(), "{args:?} under strace: {status}");
    parse(&std::fs::read_to_string(&log).unwrap())
}

/// Parses `strace -f -y` output. A call another thread interrupted is
/// split into `<unfinished ...>` and `<... NAME resumed>`; it counts where
/// it completed.
fn parse(log: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut open: HashMap<&str, (String, Vec<String>)> = HashMap::new();
    for line in log.lines() {
        let Some((tid, rest)) = line.trim_start().split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let (name, paths) = open.remove(tid).expect("a resumed call was started");
            assert!(resumed.starts_with(&name), "{line}");
            calls.push(Call {
                name,
                paths,
                ok: result_ok(rest),
            });
            continue;
        }
        let Some((name, args)) = rest.split_once('(') else {
            continue; // exits, signals
        };
        let paths = call_paths(name, args);
        if let Some(args) = args.strip_suffix(" <unfinished ...>") {
            open.insert(tid, (name.to_string(), call_paths(name, args)));
        } else {
            calls.push(Call {
                name: name.to_string(),
                paths,
                ok: result_ok(rest),
            });
        }
    }
    calls
}

fn result_ok(line: &str) -> bool {
    line.rsplit_once(" = ")
        .is_some_and(|(_, r)| r.trim() == "0")
}

fn call_paths(name: &str, args: &str) -> Vec<String> {
    if matches!(name, "fsync" | "fdatasync") {
        // `6</tmp/lake/x.parquet>)`: the descriptor's path.
        let start = args.find('<').map_or(0, |i| i + 1);
        let end = args.rfind('>').unwrap_or(args.len());
        return vec![args[start..end].to_string()];
    }
    // The quoted arguments (rename, unlink).
    args.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The folders from `file`'s up to and including `root`.
fn folders(file: &str, root: &Path) -> Vec<String> {
    Path::new(file)
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(root))
        .map(|d| d.display().to_string())
        .collect()
}

/// Asserts that `file` and its folders up to `root` are synced in
/// `calls[from..to]`.
fn assert_synced(calls: &[Call], from: usize, to: usize, file: &str, root: &Path, before: &str) {
    let window = &calls[from..to];
    assert!(
        window.iter().any(|c| c.is_sync_of(file)),
        "{file} is not synced before {before}"
    );
    for folder in folders(file, root) {
        assert!(
            window.iter().any(|c| c.is_sync_of(&folder)),
            "folder {folder} of {file} is not synced before {before}"
        );
    }
}

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_accesslake"))
        .args(args)
        .env("ACCESSLAKE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A lake of several chunks (several files per partition) and its input.
fn ingested(dir: &Path) -> (PathBuf, Vec<Call>) {
    let input = dir.join("in");
    let lake = dir.join("lake");
    run(&[
        "gen",
        "--seed",
        "3",
        "--employees",
        "40",
        "--days",
        "4",
        "--out",
        input.to_str().unwrap(),
    ]);
    let calls = traced(
        dir,
        &[
            "ingest",
            "--chunk",
            "300",
            "--lake",
            lake.to_str().unwrap(),
            input.join("admin.jsonl").to_str().unwrap(),
            input.join("entries.jsonl").to_str().unwrap(),
        ],
    );
    (lake, calls)
}

fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The canonical form of a temporary folder: strace prints resolved paths.
fn canonical(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().canonicalize().unwrap()
}

#[test]
fn ingest_syncs_each_file_before_the_commit_that_records_it() {
    let tmp = workdir();
    let dir = canonical(&tmp);
    let (lake, calls) = ingested(&dir);
    let state = format!("{}{STATE_FILE}", lake.display());
    let mut commits = std::collections::BTreeSet::new();
    let mut files = 0;
    for (i, call) in calls.iter().enumerate() {
        if !call.is_rename_to(|p| p.ends_with(".parquet")) {
            continue;
        }
        let file = &call.paths[1];
        let commit = i + calls[i..]
            .iter()
            .position(|c| c.is_sync_of(&state))
            .unwrap_or_else(|| panic!("no state commit after {file}"));
        assert_synced(&calls, i, commit, file, &lake, "the state commit");
        commits.insert(commit);
        files += 1;
    }
    // Not vacuous: the run wrote files in several chunks.
    assert!(files >= 10, "{files} files");
    assert!(commits.len() >= 3, "{} commits", commits.len());
}

#[test]
fn compact_syncs_outputs_then_the_manifest_then_the_deletes() {
    let tmp = workdir();
    let dir = canonical(&tmp);
    let (lake, _) = ingested(&dir);
    let calls = traced(&dir, &["compact", "--lake", lake.to_str().unwrap()]);
    let manifest_of = |file: &str| {
        let folder = Path::new(file).parent().unwrap();
        folder.join("_compaction.json").display().to_string()
    };
    let mut outputs = 0;
    for (i, call) in calls.iter().enumerate() {
        let is_output = |p: &str| {
            Path::new(p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("compact-"))
        };
        if !call.is_rename_to(is_output) {
            continue;
        }
        outputs += 1;
        let output = &call.paths[1];
        let manifest = manifest_of(output);
        let committed = i + calls[i..]
            .iter()
            .position(|c| c.is_rename_to(|p| p == manifest))
            .unwrap_or_else(|| panic!("no committed manifest after {output}"));
        assert_synced(
            &calls,
            i,
            committed,
            output,
            &lake,
            "the committed manifest",
        );

        // The committed manifest, then the deletes of the inputs, then
        // (with the deletes synced) the manifest's own delete.
        let folder = Path::new(output).parent().unwrap();
        let unlinks: Vec<usize> = (committed..calls.len())
            .filter(|&j| {
                calls[j].is_unlink() && Path::new(&calls[j].paths[0]).parent() == Some(folder)
            })
            .collect();
        let manifest_gone = *unlinks
            .iter()
            .find(|&&j| calls[j].paths[0] == manifest)
            .expect("the manifest is deleted at the end");
        let deletes: Vec<usize> = unlinks.into_iter().filter(|&j| j < manifest_gone).collect();
        let (Some(&first), Some(&last)) = (deletes.first(), deletes.last()) else {
            panic!("no input in {folder:?} is deleted");
        };
        assert_synced(
            &calls,
            committed,
            first,
            &manifest,
            &lake,
            "the first delete",
        );
        let folder = folder.display().to_string();
        assert!(
            calls[last..manifest_gone]
                .iter()
                .any(|c| c.is_sync_of(&folder)),
            "the deletes in {folder} are not synced before its manifest goes"
        );
    }
    assert!(outputs >= 3, "{outputs} outputs");
}

#[test]
fn snapshot_syncs_the_new_files_before_deleting_the_old() {
    let tmp = workdir();
    let dir = canonical(&tmp);
    let (lake, _) = ingested(&dir);
    let args = ["snapshot", "--lake", lake.to_str().unwrap()];
    run(&args);
    // Snapshots of one day replace each other; a run across midnight
    // replaces nothing, so the next one is checked.
    let calls = (0..3)
        .map(|_| traced(&dir, &args))
        .find(|calls| calls.iter().any(Call::is_unlink))
        .expect("a snapshot replaces the day's earlier one");
    let first_delete = calls.iter().position(Call::is_unlink).unwrap();
    let mut files = 0;
    for (i, call) in calls[..first_delete].iter().enumerate() {
        if call.is_rename_to(|p| p.ends_with(".parquet")) {
            assert_synced(
                &calls,
                i,
                first_delete,
                &call.paths[1],
                &lake,
                "the old snapshot's delete",
            );
            files += 1;
        }
    }
    assert_eq!(files, 5, "employees, cards, zones, doors, grants");
}

#[test]
fn the_trace_reader_joins_calls_split_by_threads() {
    let log = "\
7  fdatasync(6</l/a.parquet> <unfinished ...>
8  rename(\"/l/b#1\", \"/l/b\") = 0
7  <... fdatasync resumed>) = 0
8  unlink(\"/l/c\") = -1 ENOENT (No such file or directory)
";
    let calls = parse(log);
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].name, "rename");
    assert_eq!(calls[0].paths, ["/l/b#1", "/l/b"]);
    assert!(calls[1].is_sync_of("/l/a.parquet"));
    assert!(!calls[2].ok);
}
