//! Personal data stays out of logs (SPEC 5): every command of a full local
//! run, at the most verbose log level, prints no card id and no employee
//! name on standard error; malformed records are named by `file:line`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn accesslake(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_accesslake"))
        .args(args)
        .env("ACCESSLAKE_LOG", "trace")
        .output()
        .expect("the binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

/// Card ids and employee names of a generated fixture.
fn personal_data(input: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in ["admin.jsonl", "entries.jsonl"] {
        // The generator writes some malformed lines, invalid UTF-8 among them.
        let bytes = std::fs::read(input.join(file)).unwrap();
        for line in String::from_utf8_lossy(&bytes).lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let data = v.get("data").unwrap_or(&v);
            for key in ["card_id", "name"] {
                if v["type"] == "zone_upserted" || v["type"] == "door_upserted" {
                    continue; // place names are not personal
                }
                if let Some(s) = data.get(key).and_then(|s| s.as_str()) {
                    out.insert(s.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn a_full_run_at_trace_level_logs_no_card_id_and_no_name() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    let lake = d.path().join("lake");
    let (lake_s, input_s) = (lake.to_str().unwrap(), input.to_str().unwrap());
    accesslake(&[
        "gen",
        "--seed",
        "5",
        "--employees",
        "60",
        "--days",
        "4",
        "--out",
        input_s,
    ]);
    let secrets = personal_data(&input);
    let cards = secrets.iter().filter(|s| s.contains(':')).count();
    assert!(cards > 50 && secrets.len() > cards + 50, "{secrets:?}");
    let (card, name) = (
        secrets.iter().find(|s| s.contains(':')).unwrap().clone(),
        secrets.iter().find(|s| s.contains(' ')).unwrap().clone(),
    );

    // Malformed records that carry personal data: their errors must not.
    let bad = input.join("bad.jsonl");
    std::fs::write(
        &bad,
        format!(
            "{{\"event_id\":\"b1\",\"card_id\":\"{card}\",\"door_id\":\n\
             {{\"event_id\":\"b2\",\"occurred_at\":\"2026-03-02T08:00:00Z\",\"door_id\":\"d\",\"card_id\":\"{card}\",\"direction\":\"{card}\"}}\n\
             {{\"event_id\":\"b3\",\"type\":\"employee_upserted\",\"occurred_at\":\"yesterday {name}\",\"actor\":\"hr\",\"data\":{{\"employee_id\":\"e\",\"name\":\"{name}\"}}}}\n"
        ),
    )
    .unwrap();

    let mut logs = String::new();
    let mut run = |args: &[&str]| {
        let (stdout, stderr) = accesslake(args);
        logs.push_str(&stderr);
        stdout
    };
    let files = ["admin.jsonl", "entries.jsonl", "bad.jsonl"].map(|f| input.join(f));
    let mut ingest = vec!["ingest", "--chunk", "100", "--lake", lake_s];
    ingest.extend(files.iter().map(|f| f.to_str().unwrap()));
    let summary = run(&ingest);
    assert!(summary.contains("rejected"), "{summary}");
    run(&["compact", "--lake", lake_s]);
    run(&["snapshot", "--lake", lake_s]);
    let out = d.path().join("report.out");
    for report in [
        "occupancy",
        "muster",
        "denied",
        "inactive_card_use",
        "after_hours",
        "anti_passback",
        "admin_changes",
        "access_review",
        "dormant_cards",
    ] {
        let mut args = vec!["report", report, "--lake", lake_s, "--format", "csv"];
        args.extend(["--out", out.to_str().unwrap()]);
        match report {
            "muster" => args.extend(["--at", "2026-03-04T10:00:00Z"]),
            "access_review" | "dormant_cards" => {}
            _ => args.extend(["--from", "2026-03-01", "--to", "2026-03-06"]),
        }
        run(&args);
    }
    // The reports do hold the data (they are for people allowed to see it).
    run(&[
        "report",
        "muster",
        "--lake",
        lake_s,
        "--at",
        "2026-03-04T10:00:00Z",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    let muster = std::fs::read_to_string(&out).unwrap();
    assert!(
        secrets.iter().any(|s| muster.contains(s.as_str())),
        "{muster}"
    );

    // The rejected records are named by where they are, for the operator.
    let rejected = run(&[
        "sql",
        "--lake",
        lake_s,
        "--format",
        "csv",
        "SELECT source_ref, error FROM rejected WHERE source_ref LIKE '%bad.jsonl%' ORDER BY source_ref",
    ]);
    assert!(
        logs.lines().count() > 10,
        "too little logged to tell: {logs}"
    );
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| logs.contains(s.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "personal data in the logs: {leaked:?}\n{logs}"
    );
    for line in 1..=3 {
        assert!(
            rejected.contains(&format!("bad.jsonl:{line}")),
            "{rejected}"
        );
    }
    for s in [&card, &name] {
        assert!(
            !rejected.contains(s.as_str()),
            "an error quotes {s:?}: {rejected}"
        );
    }
}
