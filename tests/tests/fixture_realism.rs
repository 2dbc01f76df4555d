//! The generated fixture exercises the whole contract: every reason code,
//! several timezones and offsets, late lines, redeliveries and bad lines.

mod common;

use std::io::BufRead;

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_model::{Event, Reason, parse_line};
use common::*;

#[test]
fn every_reason_code_and_every_kind_of_trouble_appears() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let cfg = GenConfig {
        seed: 42,
        employees: 300,
        days: 14,
        ..GenConfig::default()
    };
    let g = generate_to_dir(&cfg, &input).unwrap();
    let files = vec![input.join("admin.jsonl"), input.join("entries.jsonl")];
    let s = ingest(&dir.path().join("lake"), &files, 100_000).unwrap();

    for r in Reason::ALL {
        assert!(
            s.stats.by_reason.get(&r).copied().unwrap_or(0) > 0,
            "no {} in {:?}",
            r.as_str(),
            s.stats.by_reason
        );
    }
    assert!(
        s.stats.admin_not_applied > 0,
        "no stale or unknown-entity admin events"
    );
    assert_eq!(s.stats.rejected, g.malformed_lines);
    assert_eq!(
        s.stats.duplicate_entries + s.stats.duplicate_admin,
        g.duplicate_lines
    );
    // Working days dominate: most scans are granted.
    assert!(
        s.stats.granted > 20 * s.stats.denied,
        "{} granted, {} denied",
        s.stats.granted,
        s.stats.denied
    );

    let f = std::io::BufReader::new(std::fs::File::open(&files[1]).unwrap());
    let mut prev = i64::MIN;
    let (mut late, mut offsets) = (0, std::collections::BTreeSet::new());
    for line in f.split(b'\n') {
        let line = line.unwrap();
        if let Ok(Some(Event::Entry(e))) = parse_line(&line) {
            if e.occurred_at < prev {
                late += 1;
            }
            prev = prev.max(e.occurred_at);
            let text = String::from_utf8_lossy(&line);
            let at = text.split("\"occurred_at\":\"").nth(1).unwrap();
            offsets.insert(at[23..at.find('"').unwrap()].to_string());
        }
    }
    assert!(late > 0, "no reader uploaded late");
    assert!(
        offsets.contains("Z") && offsets.contains("-05:00") && offsets.contains("-04:00"),
        "{offsets:?}"
    );
}
