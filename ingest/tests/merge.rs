//! SPEC 3 "Local ordering": each file in its own line order, files merged on
//! the occurred_at of their next record; ties admin first, then file order.

use accesslake_ingest::reader::{Item, Merge, stream};
use accesslake_model::{Event, FixedClock};

fn entry(id: &str, at: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","occurred_at":"{at}","door_id":"d","card_id":"c","direction":"in"}}"#
    )
}

fn admin(id: &str, at: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","type":"access_revoked","occurred_at":"{at}","actor":"x","data":{{"employee_id":"e","zone_id":"z"}}}}"#
    )
}

fn event_id(e: Event) -> String {
    match e {
        Event::Entry(e) => e.event_id.to_string(),
        Event::Admin(a) => a.event_id,
    }
}

/// The merged order of `files`, as `next` gives it; `next_into` must put
/// the same events and rejected lines, each in the same order, where it
/// puts them.
fn order(files: Vec<(&str, Vec<String>)>) -> Vec<String> {
    let clock = FixedClock(0);
    let merge = || {
        let streams = files
            .iter()
            .map(|(name, lines)| stream(name, std::io::Cursor::new(lines.join("\n").into_bytes())))
            .collect();
        Merge::from_streams(streams, &clock).unwrap()
    };
    let mut m = merge();
    let (mut out, mut events, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(item) = m.next().unwrap() {
        out.push(match item {
            Item::Event(e) => {
                let id = event_id(e);
                events.push(id.clone());
                id
            }
            Item::Rejected(r) => {
                rejected.push(r.source_ref.clone());
                format!("rejected {}", r.source_ref)
            }
        });
    }
    let mut m = merge();
    let (mut moved, mut moved_rejected) = (Vec::new(), Vec::new());
    while m.next_into(&mut moved, &mut moved_rejected).unwrap() {}
    assert_eq!(moved.into_iter().map(event_id).collect::<Vec<_>>(), events);
    assert_eq!(
        moved_rejected
            .into_iter()
            .map(|r| r.source_ref)
            .collect::<Vec<_>>(),
        rejected
    );
    out
}

#[test]
fn smallest_next_record_first_with_ties_admin_then_file_order() {
    let got = order(vec![
        (
            "e1",
            vec![
                entry("x1", "2026-03-02T08:00:00Z"),
                entry("x2", "2026-03-02T09:00:00Z"),
            ],
        ),
        (
            "e2",
            vec![
                entry("y1", "2026-03-02T08:00:00Z"),
                entry("y2", "2026-03-02T08:30:00+00:00"),
            ],
        ),
        (
            "a",
            vec![
                admin("a1", "2026-03-02T09:00:00+01:00"),
                admin("a2", "2026-03-02T09:00:00Z"),
            ],
        ),
    ]);
    // 08:00 tie: admin a1 (08:00Z written as 09:00+01:00) first, then x1 (file named first), y1.
    assert_eq!(got, ["a1", "x1", "y1", "y2", "a2", "x2"]);
}

#[test]
fn a_late_line_is_processed_where_it_stands() {
    let got = order(vec![
        (
            "e",
            vec![
                entry("e1", "2026-03-02T08:00:00Z"),
                entry("e2", "2026-03-02T12:00:00Z"),
                entry("late", "2026-03-02T09:00:00Z"),
            ],
        ),
        (
            "a",
            vec![
                admin("a1", "2026-03-02T10:00:00Z"),
                admin("a2", "2026-03-02T13:00:00Z"),
            ],
        ),
    ]);
    // `late` waits behind e2 in its file; the merge never reorders within a file.
    assert_eq!(got, ["e1", "a1", "e2", "late", "a2"]);
}

#[test]
fn a_bad_line_is_rejected_when_read_and_holds_nothing_up() {
    let got = order(vec![
        (
            "e",
            vec![
                entry("e1", "2026-03-02T08:00:00Z"),
                "garbage".into(),
                entry("e2", "2026-03-02T12:00:00Z"),
            ],
        ),
        ("a", vec![admin("a1", "2026-03-02T10:00:00Z")]),
    ]);
    assert_eq!(got, ["e1", "rejected e:2", "a1", "e2"]);
}
