//! The `accesslake` binary as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

fn accesslake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accesslake"))
        .args(args)
        .env("ACCESSLAKE_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn generate(dir: &Path, seed: &str) -> Output {
    accesslake(&[
        "gen",
        "--seed",
        seed,
        "--employees",
        "40",
        "--days",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ])
}

#[test]
fn gen_is_deterministic_for_a_seed() {
    let d = tempfile::tempdir().unwrap();
    let (a, b, c) = (d.path().join("a"), d.path().join("b"), d.path().join("c"));
    for (dir, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let out = generate(dir, seed);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("admin events"));
    }
    for f in ["admin.jsonl", "entries.jsonl"] {
        let fa = std::fs::read(a.join(f)).unwrap();
        assert!(!fa.is_empty());
        assert_eq!(
            fa,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs for one seed"
        );
        assert_ne!(
            fa,
            std::fs::read(c.join(f)).unwrap(),
            "{f} is the same for two seeds"
        );
    }
}

#[test]
fn ingest_reports_counts_and_succeeds_with_bad_lines() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    assert!(generate(&input, "3").status.success());
    let lake = d.path().join("lake");
    let args = |json: bool| {
        let mut v = vec![
            "ingest".to_string(),
            "--lake".into(),
            lake.display().to_string(),
            input.join("admin.jsonl").display().to_string(),
            input.join("entries.jsonl").display().to_string(),
        ];
        if json {
            v.push("--json".into());
        }
        v
    };
    let a = args(true);
    let out = accesslake(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["decisions"].as_u64().unwrap() > 300);
    assert!(
        s["rejected"].as_u64().unwrap() > 0,
        "the fixture has malformed lines: {s}"
    );
    assert_eq!(
        s["granted"].as_u64().unwrap() + s["denied"].as_u64().unwrap(),
        s["decisions"].as_u64().unwrap()
    );
    assert!(s["files_written"].as_u64().unwrap() > 0);

    let a = args(false);
    let out = accesslake(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success());
    let summary = text(&out.stdout);
    assert!(
        summary.contains("scans decided") && summary.contains("duplicates dropped"),
        "{summary}"
    );
    assert!(
        summary.contains("files written                 0"),
        "a second run writes nothing:\n{summary}"
    );
}

#[test]
fn missing_input_and_unwritable_lake_are_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake");
    let out = accesslake(&[
        "ingest",
        "--lake",
        lake.to_str().unwrap(),
        "/nonexistent/entries.jsonl",
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("/nonexistent/entries.jsonl") && err.starts_with("accesslake: "),
        "{err}"
    );

    let input = d.path().join("x.jsonl");
    std::fs::write(&input, "{}\n").unwrap();
    let blocker = d.path().join("file-not-dir");
    std::fs::write(&blocker, "").unwrap();
    let out = accesslake(&[
        "ingest",
        "--lake",
        blocker.join("lake").to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("lake"), "{err}");
}

#[test]
fn help_names_every_command_and_option() {
    let out = accesslake(&["--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("gen") && help.contains("ingest"), "{help}");
    let out = accesslake(&["ingest", "--help"]);
    let help = text(&out.stdout);
    for opt in ["--lake", "--chunk", "--json", "FILES"] {
        assert!(help.contains(opt), "{opt} missing from:\n{help}");
    }
    let out = accesslake(&["gen"]);
    assert!(!out.status.success(), "gen without --out must fail");
}
