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

/// Runs the binary and checks it fails with a message containing `want`.
fn assert_fails_with(args: &[&str], want: &str) {
    let out = accesslake(args);
    assert!(!out.status.success(), "{args:?}");
    assert!(
        text(&out.stderr).contains(want),
        "{args:?}: {}",
        text(&out.stderr)
    );
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

#[test]
fn demo_writes_every_report_and_an_index() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("demo");
    let out = accesslake(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--employees",
        "40",
        "--days",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("scans decided") && stdout.contains("index.html"),
        "{stdout}"
    );
    let reports = dir.join("reports");
    for name in [
        "occupancy",
        "muster",
        "denied",
        "inactive_card_use",
        "after_hours",
        "anti_passback",
        "person_trail",
        "door_trail",
        "admin_changes",
        "access_review",
        "dormant_cards",
    ] {
        for ext in ["html", "csv", "json"] {
            let f = reports.join(format!("{name}.{ext}"));
            assert!(
                f.metadata().map(|m| m.len() > 0).unwrap_or(false),
                "{} missing",
                f.display()
            );
        }
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(reports.join(format!("{name}.json"))).unwrap())
                .unwrap();
        assert_eq!(json["report"], name);
    }
    let index = std::fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(index.contains("href=\"occupancy.html\"") && index.contains("scans decided"));
    assert!(index.contains("href=\"access_review.html\"") && index.contains("cards unused"));
    let occupancy = std::fs::read_to_string(reports.join("occupancy.html")).unwrap();
    assert!(
        occupancy.contains("<svg")
            && occupancy.contains("class=\"capacity\"")
            && occupancy.contains("<table>")
    );
    // A second run replaces the demo's own folder ...
    assert!(
        accesslake(&[
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--employees",
            "20",
            "--days",
            "1"
        ])
        .status
        .success()
    );
    // ... but never a folder it did not make.
    let other = d.path().join("mine");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("thesis.txt"), "precious").unwrap();
    let out = accesslake(&["demo", "--dir", other.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(other.join("thesis.txt").exists());
}

#[test]
fn report_and_sql_commands() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    assert!(generate(&input, "4").status.success());
    let lake = d.path().join("lake");
    let (a, e) = (input.join("admin.jsonl"), input.join("entries.jsonl"));
    assert!(
        accesslake(&[
            "ingest",
            "--lake",
            lake.to_str().unwrap(),
            a.to_str().unwrap(),
            e.to_str().unwrap()
        ])
        .status
        .success()
    );
    let l = lake.to_str().unwrap();

    let denied = [
        "report",
        "denied",
        "--lake",
        l,
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-05",
        "--format",
        "csv",
    ];
    let out = accesslake(&denied);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(
        csv.starts_with("event_id,occurred_at,reason,employee_id,card_id,door_id,zone_id\r\n"),
        "{csv}"
    );
    assert!(csv.lines().count() > 1);
    assert!(
        !text(&out.stderr).contains("datafusion:"),
        "no stats without --stats"
    );
    let stats = accesslake(&[&denied[..], &["--stats"]].concat());
    assert_eq!(
        text(&stats.stdout),
        csv,
        "--stats changes nothing on stdout"
    );
    let stderr = text(&stats.stderr);
    assert!(
        stderr.starts_with("datafusion: denied in ")
            && stderr.contains(", scanned ")
            && !stderr.contains("scanned 0 B")
            && stderr.contains("(billed as 10.0 MiB, ≈ $0.000048)"),
        "{stderr}"
    );

    let out = accesslake(&[
        "report",
        "muster",
        "--lake",
        l,
        "--at",
        "2026-03-03T10:00:00+00:00",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["params"]["at"], "2026-03-03T10:00:00.000000Z");
    assert!(!json["rows"].as_array().unwrap().is_empty());

    for (args, want) in [
        (vec!["report", "nope", "--lake", l], "unknown report `nope`"),
        (
            vec!["report", "denied", "--lake", l, "--from", "2026-03-02"],
            "needs --to",
        ),
        (
            vec![
                "report",
                "denied",
                "--lake",
                l,
                "--from",
                "yesterday",
                "--to",
                "2026-03-03",
            ],
            "RFC 3339",
        ),
        (
            vec![
                "report",
                "denied",
                "--lake",
                d.path().to_str().unwrap(),
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-03",
            ],
            "is not a lake",
        ),
        (
            vec![
                "report",
                "denied",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-03",
            ],
            "--lake is needed",
        ),
        (
            vec![
                "report",
                "denied",
                "--engine",
                "athena",
                "--lake",
                l,
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-03",
            ],
            "is for --engine datafusion",
        ),
    ] {
        assert_fails_with(&args, want);
    }

    let out = accesslake(&[
        "sql",
        "--lake",
        l,
        "--format",
        "csv",
        "--param",
        "r=ok",
        "SELECT count(*) AS n FROM decisions WHERE reason = $r",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let n: u64 = text(&out.stdout).lines().nth(1).unwrap().parse().unwrap();
    assert!(n > 100);
    // CSV is written batch by batch as the engine answers (a batch per
    // file here): every row once, and the header of an empty answer.
    let count = |sql: &str| -> u64 {
        let out = accesslake(&["sql", "--lake", l, "--format", "csv", sql]);
        text(&out.stdout).lines().nth(1).unwrap().parse().unwrap()
    };
    let out = accesslake(&[
        "sql",
        "--lake",
        l,
        "--format",
        "csv",
        "SELECT event_id, occurred_at FROM decisions",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = text(&out.stdout);
    let mut lines: Vec<&str> = all.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.remove(0), "event_id,occurred_at");
    assert_eq!(lines.len() as u64, count("SELECT count(*) FROM decisions"));
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(
        lines.len() as u64,
        count("SELECT count(DISTINCT event_id) FROM decisions")
    );
    let out = accesslake(&[
        "sql",
        "--lake",
        l,
        "--format",
        "csv",
        "SELECT event_id, reason FROM decisions WHERE reason = 'no such reason'",
    ]);
    assert_eq!(text(&out.stdout), "event_id,reason\r\n");
    // A query that needs more memory than --memory allows fails and says why.
    assert_fails_with(
        &[
            "sql",
            "--lake",
            l,
            "--memory",
            "1KiB",
            "SELECT d.event_id FROM decisions d JOIN decisions e ON d.card_id = e.card_id",
        ],
        "Resources exhausted",
    );
    // A parameter is a value, not SQL.
    let out = accesslake(&[
        "sql",
        "--lake",
        l,
        "--format",
        "csv",
        "--param",
        "r=ok' OR '1'='1",
        "SELECT count(*) AS n FROM decisions WHERE reason = $r",
    ]);
    assert_eq!(text(&out.stdout).lines().nth(1), Some("0"));

    // Statements from standard input, ending in `;`, with \d.
    let mut child = Command::new(env!("CARGO_BIN_EXE_accesslake"))
        .args(["sql", "--lake", l])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"\\d\nSELECT outcome,\n  count(*) AS n\nFROM decisions GROUP BY outcome ORDER BY outcome;\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("admin_events")
            && stdout.contains("decisions")
            && stdout.contains("rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("denied") && stdout.contains("granted"),
        "{stdout}"
    );

    // On a terminal (a pseudo-terminal from util-linux `script`): a line
    // editor, Ctrl-C on a continuation line drops the half-typed statement,
    // and every statement lands in the history file for the next session.
    // Each line is typed once the prompt it answers is on screen, as a person
    // would (the editor reads keys only while it shows a prompt).
    let history = d.path().join("history");
    let command = format!("'{}' sql --lake '{l}'", env!("CARGO_BIN_EXE_accesslake"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("ACCESSLAKE_HISTORY", &history)
        .env("ACCESSLAKE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let screen = screen.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = 0;
    for (prompt, keys) in [
        ("accesslake> ", "SELECT 1 +\n"),
        ("...> ", "\x03"),
        ("accesslake> ", "SELECT 41 +\n"),
        ("...> ", " 1 AS answer;\n"),
        ("accesslake> ", "\\q\n"),
    ] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let s = screen.lock().unwrap().clone();
            if let Some(at) = s[seen..].find(prompt) {
                seen += at + prompt.len();
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {prompt:?} on screen:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        stdin.write_all(keys.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let screen = screen.lock().unwrap().clone();
    assert!(status.success(), "{screen}");
    assert!(screen.contains("42"), "{screen}");
    let saved = std::fs::read_to_string(&history).expect("history written");
    assert!(saved.contains("SELECT 41 +"), "{saved}");
    assert!(!saved.contains("SELECT 1 +"), "{saved}");
}

#[test]
fn snapshot_compact_and_retention_commands() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    assert!(generate(&input, "3").status.success());
    let lake = d.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let (admin, entries) = (input.join("admin.jsonl"), input.join("entries.jsonl"));
    let out = accesslake(&[
        "ingest",
        "--chunk",
        "50",
        "--lake",
        lake_s,
        admin.to_str().unwrap(),
        entries.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let files = |table: &str| -> usize {
        std::fs::read_dir(lake.join(table))
            .map(|parts| {
                parts
                    .map(|p| std::fs::read_dir(p.unwrap().path()).unwrap().count())
                    .sum()
            })
            .unwrap_or(0)
    };
    let before = files("decisions");
    let days = std::fs::read_dir(lake.join("decisions")).unwrap().count();
    assert!(before > days, "{before} files in {days} days");

    // snapshot
    let out = accesslake(&["snapshot", "--lake", lake_s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("employees 4"),
        "{}",
        text(&out.stdout)
    );
    let review = accesslake(&[
        "report",
        "access_review",
        "--lake",
        lake_s,
        "--format",
        "csv",
    ]);
    assert!(review.status.success(), "{}", text(&review.stderr));
    assert!(text(&review.stdout).lines().count() > 10);

    // dry run: the plan, nothing changed
    let out = accesslake(&["compact", "--lake", lake_s, "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("partitions to compact"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(files("decisions"), before);

    let out = accesslake(&["compact", "--lake", lake_s, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        m["files_out"].as_u64().unwrap() as usize,
        m["partitions"].as_u64().unwrap() as usize
    );
    assert_eq!(files("decisions"), days);
    let out = accesslake(&["compact", "--lake", lake_s]);
    assert!(
        text(&out.stdout).contains("compacted 0 partitions"),
        "{}",
        text(&out.stdout)
    );

    // clear errors
    for (args, want) in [
        (
            vec!["compact", "--lake", lake_s, "--table", "grants"],
            "unknown table",
        ),
        (
            vec!["compact", "--lake", lake_s, "--target-size", "12XB"],
            "unknown size unit",
        ),
        (
            vec!["compact", "--lake", lake_s, "--dt", "2026-13-01"],
            "invalid value",
        ),
        (
            vec![
                "snapshot",
                "--lake",
                d.path().join("nothing").to_str().unwrap(),
            ],
            "no state",
        ),
        (
            vec!["report", "dormant_cards", "--lake", lake_s, "--days", "0"],
            "--days",
        ),
    ] {
        assert_fails_with(&args, want);
    }

    // retention: everything before the second day goes, in every table
    let mut dts: Vec<String> = std::fs::read_dir(lake.join("decisions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dts.sort();
    let cut = dts[1].trim_start_matches("dt=");
    let out = accesslake(&["compact", "--lake", lake_s, "--expire-before", cut]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("deleted "),
        "{}",
        text(&out.stdout)
    );
    assert!(
        std::fs::read_dir(lake.join("decisions").join(&dts[0]))
            .unwrap()
            .next()
            .is_none()
    );
    assert_eq!(files("decisions"), days - 1);
}

/// POSTs JSON to the emulator's own API (preset Athena results).
fn moto_api(path: &str, body: &serde_json::Value) {
    use std::io::{Read, Write};
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL: run scripts/test, which starts the moto emulator");
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer
            .split_whitespace()
            .nth(1)
            .is_some_and(|c| c.starts_with('2')),
        "{answer}"
    );
}

#[test]
fn catalog_and_athena_commands() {
    // The template CloudFormation deploys is what the binary prints.
    let out = accesslake(&["catalog", "template"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../infra/glue-catalog.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(printed, committed);

    assert_fails_with(
        &["catalog", "sync", "--lake", "/tmp/lake"],
        "must be s3://bucket",
    );
    assert_fails_with(
        &[
            "catalog",
            "sync",
            "--lake",
            "s3://acme-lake/x",
            "--projection-start",
            "2024-13-01",
        ],
        "not a YYYY-MM-DD date",
    );

    // On the emulator, in a region of this test's own (moto's preset
    // Athena results are per region).
    let region = "ap-south-1";
    let db = format!("cli_{}", std::process::id());
    let on_moto = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_accesslake"))
            .args(args)
            .env("AWS_REGION", region)
            .output()
            .unwrap()
    };
    let sync = [
        "catalog",
        "sync",
        "--database",
        &db,
        "--lake",
        "s3://acme-lake/prod",
    ];
    let out = on_moto(&sync);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("database {db}: created")),
        "{stdout}"
    );
    assert_eq!(stdout.matches(" created").count(), 9, "{stdout}");
    let out = on_moto(&sync);
    assert!(
        text(&out.stdout).contains("nothing changed"),
        "{}",
        text(&out.stdout)
    );

    // A report on Athena: Athena's rows (preset) rendered like DataFusion's,
    // and what the query cost on standard error.
    let header = [
        "event_id",
        "occurred_at",
        "reason",
        "employee_id",
        "card_id",
        "door_id",
        "zone_id",
    ];
    let cols: Vec<serde_json::Value> = header
        .iter()
        .map(|c| {
            let t = if *c == "occurred_at" {
                "timestamp"
            } else {
                "varchar"
            };
            serde_json::json!({"Name": c, "Label": c, "Type": t})
        })
        .collect();
    let cell = |v: &str| serde_json::json!({"VarCharValue": v});
    moto_api(
        "/moto-api/static/athena/query-results",
        &serde_json::json!({"region": region, "results": [{
            "column_info": cols,
            "rows": [
                {"Data": header.iter().map(|h| cell(h)).collect::<Vec<_>>()},
                {"Data": [cell("ev-1"), cell("2026-03-02 08:15:00.000"), cell("card_lost"),
                          cell("e-00007"), cell("c-7"), cell("hq-f1-east"), {}]},
            ],
        }]}),
    );
    let out = on_moto(&[
        "report",
        "denied",
        "--engine",
        "athena",
        "--database",
        &db,
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "event_id,occurred_at,reason,employee_id,card_id,door_id,zone_id\r\n\
         ev-1,2026-03-02T08:15:00.000000Z,card_lost,e-00007,c-7,hq-f1-east,\r\n"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("athena: denied in ")
            && stderr.contains("scanned 0 B (billed as 10.0 MiB, ≈ $0.000048)"),
        "{stderr}"
    );
}
