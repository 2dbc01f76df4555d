//! The input contract of SPEC 2 and 3.1, record by record.

use accesslake_model::*;

const ENTRY: &str = r#"{"event_id":"e1","occurred_at":"2026-03-02T08:01:02.123Z","door_id":"hq-f1-east","card_id":"0042:18231","direction":"in"}"#;

fn reject(line: &str) -> String {
    match parse_line(line.as_bytes()) {
        Err(e) => e.0,
        Ok(v) => panic!("accepted {line}: {v:?}"),
    }
}

fn admin(kind: &str, data: &str) -> String {
    format!(
        r#"{{"event_id":"a1","type":"{kind}","occurred_at":"2026-03-01T09:00:00Z","actor":"hr-system","data":{data}}}"#
    )
}

fn parse_admin(line: &str) -> AdminEvent {
    match parse_line(line.as_bytes()) {
        Ok(Some(Event::Admin(a))) => *a,
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn entry_event_decodes() {
    let Ok(Some(Event::Entry(e))) = parse_line(ENTRY.as_bytes()) else {
        panic!("not an entry")
    };
    assert_eq!(e.event_id, "e1");
    assert_eq!(e.door_id, "hq-f1-east");
    assert_eq!(e.card_id, "0042:18231");
    assert_eq!(e.direction, Direction::In);
    assert_eq!(
        e.occurred_at,
        parse_rfc3339("2026-03-02T08:01:02.123Z").unwrap()
    );
}

#[test]
fn unknown_fields_are_ignored_and_escapes_decoded() {
    let line = r#"{"event_id":"e\u0031","occurred_at":"2026-03-02T08:01:02Z","door_id":"d\/1","card_id":"c","direction":"out","reader_fw":"1.2","actor":5,"data":[1]}"#;
    let Ok(Some(Event::Entry(e))) = parse_line(line.as_bytes()) else {
        panic!("rejected")
    };
    assert_eq!(e.event_id, "e1");
    assert_eq!(e.door_id, "d/1");
    assert_eq!(e.direction, Direction::Out);
}

#[test]
fn blank_lines_are_skipped() {
    assert_eq!(parse_line(b""), Ok(None));
    assert_eq!(parse_line(b"   \t"), Ok(None));
}

#[test]
fn malformed_entries_are_rejected_with_the_field_named() {
    let cases = [
        ("not json", "invalid JSON"),
        ("[1,2,3]", "invalid JSON"),
        ("\"just a string\"", "invalid JSON"),
        (r#"{"event_id":"e1""#, "invalid JSON"),
        (
            &ENTRY.replace(r#""door_id":"hq-f1-east","#, ""),
            "`door_id`: missing",
        ),
        (
            &ENTRY.replace(r#""e1""#, "null"),
            "`event_id`: expected a string, found null",
        ),
        (
            &ENTRY.replace(r#""e1""#, "17"),
            "`event_id`: expected a string, found a number",
        ),
        (
            &ENTRY.replace(r#""e1""#, r#""""#),
            "`event_id`: must not be empty",
        ),
        (&ENTRY.replace("\"in\"", "\"IN\""), "`direction`"),
        (&ENTRY.replace("\"in\"", "\"sideways\""), "`direction`"),
        (&ENTRY.replace("\"in\"", "true"), "`direction`"),
        (
            &ENTRY.replace("2026-03-02T08:01:02.123Z", "2026-03-02 08:01:02Z"),
            "`occurred_at`",
        ),
        (
            &ENTRY.replace("2026-03-02T08:01:02.123Z", "2026-02-30T08:01:02Z"),
            "`occurred_at`",
        ),
        (
            &ENTRY.replace("2026-03-02T08:01:02.123Z", "2026-03-02T08:01:02"),
            "`occurred_at`",
        ),
        (
            &ENTRY.replace("\"2026-03-02T08:01:02.123Z\"", "1772438462"),
            "`occurred_at`",
        ),
        (
            &ENTRY.replace(
                r#""direction":"in""#,
                r#""direction":"in","direction":"out""#,
            ),
            "duplicate field",
        ),
    ];
    for (line, want) in cases {
        let got = reject(line);
        assert!(
            got.contains(want),
            "{line}\n  gave {got:?}, wanted {want:?}"
        );
    }
}

#[test]
fn oversize_and_invalid_utf8_are_rejected() {
    let pad = "x".repeat(MAX_RECORD_BYTES);
    let big = ENTRY.replace(r#""in"}"#, &format!(r#""in","pad":"{pad}"}}"#));
    assert!(reject(&big).contains("over the 65536-byte limit"));
    // exactly at the limit is fine
    let room = MAX_RECORD_BYTES - ENTRY.len() - r#","p":"""#.len();
    let exact = ENTRY.replace(r#""in"}"#, &format!(r#""in","p":"{}"}}"#, "y".repeat(room)));
    assert_eq!(exact.len(), MAX_RECORD_BYTES);
    assert!(parse_line(exact.as_bytes()).is_ok());

    let mut bad = ENTRY.as_bytes().to_vec();
    bad[20] = 0xff;
    let err = parse_line(&bad).unwrap_err();
    assert!(err.0.contains("invalid UTF-8"), "{err}");
}

#[test]
fn error_text_never_repeats_the_card_id() {
    let line = ENTRY.replace(r#""direction":"in""#, r#""direction":"0042:18231""#);
    assert!(!reject(&line).contains("0042:18231"));
    let line = ENTRY.replace(r#""door_id":"hq-f1-east""#, r#""door_id":["0042:18231"]"#);
    assert!(!reject(&line).contains("0042:18231"));
    let line = admin(
        "zone_upserted",
        r#"{"zone_id":"z","name":"n","site_id":"s","timezone":"UTC","capacity":"0042:18231"}"#,
    );
    assert!(!reject(&line).contains("0042:18231"));
}

#[test]
fn a_type_key_makes_an_admin_event_even_when_null() {
    let line = ENTRY.replace(r#""direction":"in""#, r#""direction":"in","type":null"#);
    assert!(reject(&line).contains("`type`"));
}

#[test]
fn every_admin_type_decodes() {
    let z = parse_admin(&admin(
        "zone_upserted",
        r#"{"zone_id":"hq-f1","name":"Floor 1","site_id":"hq","timezone":"Europe/London","capacity":120}"#,
    ));
    assert_eq!(z.data.entity_id(), "hq-f1");
    assert_eq!(
        z.payload,
        r#"{"capacity":120,"name":"Floor 1","site_id":"hq","timezone":"Europe/London","zone_id":"hq-f1"}"#
    );
    let AdminData::ZoneUpserted(zone) = &z.data else {
        panic!()
    };
    assert_eq!(zone.timezone, chrono_tz::Europe::London);

    let d = parse_admin(&admin(
        "door_upserted",
        r#"{"door_id":"d1","zone_id":"hq-f1","name":"East"}"#,
    ));
    assert_eq!(d.data.admin_type(), AdminType::DoorUpserted);

    let e = parse_admin(&admin(
        "employee_upserted",
        r#"{"employee_id":"e-1","name":"Ada","department":"R&D","status":"inactive"}"#,
    ));
    let AdminData::EmployeeUpserted(emp) = &e.data else {
        panic!()
    };
    assert_eq!(emp.status, EmployeeStatus::Inactive);

    let c = parse_admin(&admin(
        "card_issued",
        r#"{"card_id":"c1","employee_id":"e-1","valid_from":"2026-03-01T00:00:00+01:00","valid_until":null}"#,
    ));
    assert_eq!(
        c.data,
        AdminData::CardIssued {
            card_id: "c1".into(),
            employee_id: "e-1".into(),
            valid_from: Some(parse_rfc3339("2026-02-28T23:00:00Z").unwrap()),
            valid_until: None,
        }
    );

    for (status, want) in [
        ("active", CardStatus::Active),
        ("lost", CardStatus::Lost),
        ("stolen", CardStatus::Stolen),
        ("revoked", CardStatus::Revoked),
        ("destroyed", CardStatus::Destroyed),
        ("expired", CardStatus::Expired),
    ] {
        let s = parse_admin(&admin(
            "card_status_changed",
            &format!(r#"{{"card_id":"c1","status":"{status}"}}"#),
        ));
        assert_eq!(
            s.data,
            AdminData::CardStatusChanged {
                card_id: "c1".into(),
                status: want
            }
        );
    }

    let g = parse_admin(&admin(
        "access_granted",
        r#"{"employee_id":"e-1","zone_id":"z","schedule":{"weekdays":[5,1],"start":"22:00","end":"06:00"}}"#,
    ));
    assert_eq!(g.data.entity_id(), "e-1/z");
    let AdminData::AccessGranted { schedule, .. } = g.data else {
        panic!()
    };
    assert_eq!(
        schedule,
        Schedule::Window {
            weekdays: (1 << 1) | (1 << 5),
            start_min: 1320,
            end_min: 360
        }
    );
    assert_eq!(
        schedule.to_json(),
        r#"{"weekdays":[1,5],"start":"22:00","end":"06:00"}"#
    );

    let g = parse_admin(&admin(
        "access_granted",
        r#"{"employee_id":"e-1","zone_id":"z","schedule":"always"}"#,
    ));
    let AdminData::AccessGranted { schedule, .. } = g.data else {
        panic!()
    };
    assert_eq!(schedule, Schedule::Always);
    let g = parse_admin(&admin(
        "access_granted",
        r#"{"employee_id":"e-1","zone_id":"z","schedule":{"weekdays":[],"start":"00:00","end":"24:00"}}"#,
    ));
    let AdminData::AccessGranted { schedule, .. } = g.data else {
        panic!()
    };
    assert_eq!(
        schedule,
        Schedule::Window {
            weekdays: 0,
            start_min: 0,
            end_min: 1440
        }
    );

    let r = parse_admin(&admin(
        "access_revoked",
        r#"{"employee_id":"e-1","zone_id":"z"}"#,
    ));
    assert_eq!(r.data.admin_type(), AdminType::AccessRevoked);
}

#[test]
fn wrong_admin_values_are_rejected() {
    let zone = |tz: &str, cap: &str| {
        admin(
            "zone_upserted",
            &format!(
                r#"{{"zone_id":"z","name":"n","site_id":"s","timezone":{tz},"capacity":{cap}}}"#
            ),
        )
    };
    let grant = |sched: &str| {
        admin(
            "access_granted",
            &format!(r#"{{"employee_id":"e","zone_id":"z","schedule":{sched}}}"#),
        )
    };
    let cases = [
        (admin("zone_created", "{}"), "`type`"),
        (admin("ZONE_UPSERTED", "{}"), "`type`"),
        (zone("\"Mars/Olympus\"", "10"), "`timezone`"),
        (zone("\"GMT+1\"", "10"), "`timezone`"),
        (zone("\"Europe/London\"", "10.5"), "`data`"),
        (zone("\"Europe/London\"", "-1"), "`data`"),
        (zone("\"Europe/London\"", "\"10\""), "`data`"),
        (zone("\"Europe/London\"", "null"), "`data`"),
        (
            admin(
                "employee_upserted",
                r#"{"employee_id":"e","name":"n","department":"d","status":"away"}"#,
            ),
            "`status`",
        ),
        (
            admin(
                "card_status_changed",
                r#"{"card_id":"c","status":"misplaced"}"#,
            ),
            "`status`",
        ),
        (
            admin(
                "card_issued",
                r#"{"card_id":"c","employee_id":"e","valid_until":"tomorrow"}"#,
            ),
            "`valid_until`",
        ),
        (
            admin("card_issued", r#"{"card_id":"c"}"#),
            "missing field `employee_id`",
        ),
        (grant(r#""sometimes""#), "`schedule`"),
        (grant("7"), "`schedule`"),
        (
            grant(r#"{"weekdays":[0],"start":"07:00","end":"19:00"}"#),
            "weekdays",
        ),
        (
            grant(r#"{"weekdays":[8],"start":"07:00","end":"19:00"}"#),
            "weekdays",
        ),
        (
            grant(r#"{"weekdays":[1],"start":"7:00","end":"19:00"}"#),
            "schedule.start",
        ),
        (
            grant(r#"{"weekdays":[1],"start":"24:00","end":"19:00"}"#),
            "schedule.start",
        ),
        (
            grant(r#"{"weekdays":[1],"start":"07:00","end":"24:01"}"#),
            "schedule.end",
        ),
        (
            grant(r#"{"weekdays":[1],"start":"07:00","end":"19:60"}"#),
            "schedule.end",
        ),
        (
            grant(r#"{"weekdays":[1],"start":"07:00"}"#),
            "missing field `end`",
        ),
        (admin("access_revoked", "[]"), "`data`: expected an object"),
        (
            admin("access_revoked", "\"x\""),
            "`data`: expected an object",
        ),
        (
            admin("access_revoked", "null"),
            "`data`: expected an object",
        ),
        (
            admin(
                "door_upserted",
                r#"{"door_id":"","zone_id":"z","name":"n"}"#,
            ),
            "`door_id`: must not be empty",
        ),
    ];
    for (line, want) in cases {
        let got = reject(&line);
        assert!(
            got.contains(want),
            "{line}\n  gave {got:?}, wanted {want:?}"
        );
    }
    let no_actor = admin("access_revoked", r#"{"employee_id":"e","zone_id":"z"}"#)
        .replace(r#""actor":"hr-system","#, "");
    assert!(reject(&no_actor).contains("`actor`: missing"));
    let null_actor = admin("access_revoked", r#"{"employee_id":"e","zone_id":"z"}"#)
        .replace(r#""hr-system""#, "null");
    assert!(reject(&null_actor).contains("`actor`"));
    let no_data = admin("access_revoked", "{}").replace(r#","data":{}"#, "");
    assert!(reject(&no_data).contains("`data`: missing"));
}

/// Found by fuzzing (entry_event, `[9, 11]`): a line of whitespace that is
/// not JSON whitespace was skipped as blank; it is rejected now, so it shows.
#[test]
fn only_json_whitespace_is_blank() {
    for blank in ["", " ", "\t \r", "\n"] {
        assert!(
            matches!(parse_line(blank.as_bytes()), Ok(None)),
            "{blank:?}"
        );
    }
    for odd in ["\t\u{b}", "\u{c}", "\u{a0}", "\u{2028}", "\u{85}\u{3000}"] {
        let err = parse_line(odd.as_bytes()).unwrap_err();
        assert!(err.0.contains("JSON object"), "{odd:?}: {err:?}");
    }
}

#[test]
fn hostile_bytes_never_panic() {
    let nasty: Vec<Vec<u8>> = vec![
        vec![0u8; 10],
        b"{\"event_id\":\"\\ud800\"}".to_vec(),
        "{".repeat(10_000).into_bytes(),
        "[".repeat(60_000).into_bytes(),
        b"{\"a\":1e999999}".to_vec(),
        "{\"event_id\":\"e\u{0}\",\"occurred_at\":\"2026-03-02T08:01:02Z\",\"door_id\":\"../../etc\",\"card_id\":\"'; DROP TABLE x;--\",\"direction\":\"in\"}".as_bytes().to_vec(),
    ];
    for n in nasty {
        let _ = parse_line(&n);
    }
    proptest::proptest!(|(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400))| {
        let _ = parse_line(&bytes);
    });
    proptest::proptest!(|(s in "\\PC{0,200}")| {
        let _ = parse_line(s.as_bytes());
    });
}

#[test]
fn schedules_read_as_people_write_them() {
    use accesslake_model::Schedule;
    let w = |days: &[u8], start_min, end_min| Schedule::Window {
        weekdays: days.iter().fold(0, |m, d| m | (1 << d)),
        start_min,
        end_min,
    };
    assert_eq!(Schedule::Always.describe(), "always");
    assert_eq!(
        w(&[1, 2, 3, 4, 5], 420, 1140).describe(),
        "Mon-Fri 07:00-19:00"
    );
    assert_eq!(
        w(&[1, 3, 5], 1320, 360).describe(),
        "Mon,Wed,Fri 22:00-06:00"
    );
    assert_eq!(w(&[6, 7], 0, 1440).describe(), "Sat,Sun 00:00-24:00");
    assert_eq!(
        w(&[1, 2, 4, 5, 6, 7], 0, 60).describe(),
        "Mon,Tue,Thu-Sun 00:00-01:00"
    );
    assert_eq!(w(&[], 0, 60).describe(), "never 00:00-01:00");
}
