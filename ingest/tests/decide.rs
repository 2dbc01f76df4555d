//! Every decision rule of SPEC 3, its order, and its boundaries.

mod world;

use accesslake_model::{IdNumbers, Outcome, Reason};
use world::{World, standard, t};

fn reason(w: &mut World, at: &str, door: &str, card: &str, dir: &str) -> Reason {
    w.scan(at, door, card, dir).reason
}

#[test]
fn each_rule_gives_its_reason() {
    let mut w = standard();
    w.zone("other", "Europe/London").door("od", "other");
    let at = "2026-03-02T10:00:00Z";
    assert_eq!(reason(&mut w, at, "nope", "c1", "in"), Reason::UnknownDoor);
    assert_eq!(reason(&mut w, at, "d", "c1", "out"), Reason::Egress);
    assert_eq!(
        reason(&mut w, at, "d", "c-unknown", "in"),
        Reason::UnknownCard
    );
    assert_eq!(reason(&mut w, at, "od", "c1", "in"), Reason::NoAccess);
    assert_eq!(reason(&mut w, at, "d", "c1", "in"), Reason::Ok);
    assert_eq!(reason(&mut w, at, "d", "c1", "in"), Reason::AntiPassback);
    for (status, want) in [
        ("lost", Reason::CardLost),
        ("stolen", Reason::CardStolen),
        ("revoked", Reason::CardRevoked),
        ("destroyed", Reason::CardRevoked),
        ("expired", Reason::CardExpired),
    ] {
        w.status("c1", status);
        let d = w.scan(at, "d", "c1", "in");
        assert_eq!(d.reason, want, "{status}");
        assert_eq!(d.outcome, Outcome::Denied);
        assert_eq!(
            d.employee_id.as_deref(),
            Some("e1"),
            "holder is reported for {status}"
        );
        assert_eq!(d.presence_change, 0);
    }
    w.status("c1", "active");
    w.employee("e1", "inactive");
    assert_eq!(
        reason(&mut w, at, "d", "c1", "in"),
        Reason::EmployeeInactive
    );
}

#[test]
fn rules_apply_in_order() {
    let mut w = standard();
    let at = "2026-03-02T10:00:00Z";
    // 1 before 2: egress at an unknown door is unknown_door.
    assert_eq!(reason(&mut w, at, "nope", "c1", "out"), Reason::UnknownDoor);
    // 2 before 3 and 4: egress whatever the card.
    assert_eq!(reason(&mut w, at, "d", "c-unknown", "out"), Reason::Egress);
    w.status("c1", "stolen");
    assert_eq!(reason(&mut w, at, "d", "c1", "out"), Reason::Egress);
    // 4 before 5 and 6.
    w.card("c2", "e1", Some("2027-01-01T00:00:00Z"), None)
        .status("c2", "lost");
    w.employee("e1", "inactive");
    assert_eq!(reason(&mut w, at, "d", "c2", "in"), Reason::CardLost);
    // 5 before 6.
    w.card("c2", "e1", Some("2027-01-01T00:00:00Z"), None);
    assert_eq!(reason(&mut w, at, "d", "c2", "in"), Reason::CardNotYetValid);
    // 6 before 7.
    w.zone("z2", "UTC").door("d2", "z2");
    w.card("c3", "e1", None, None);
    assert_eq!(
        reason(&mut w, at, "d2", "c3", "in"),
        Reason::EmployeeInactive
    );
    // 7 before 8.
    w.employee("e1", "active");
    assert_eq!(reason(&mut w, at, "d2", "c3", "in"), Reason::NoAccess);
    // 8 before 9: inside and outside the schedule is outside_schedule.
    w.grant("e1", "z2", r#""always""#);
    assert_eq!(reason(&mut w, at, "d2", "c3", "in"), Reason::Ok);
    w.grant(
        "e1",
        "z2",
        r#"{"weekdays":[6,7],"start":"00:00","end":"24:00"}"#,
    );
    assert_eq!(
        reason(&mut w, at, "d2", "c3", "in"),
        Reason::OutsideSchedule
    );
}

#[test]
fn validity_bounds_are_from_inclusive_until_exclusive() {
    let mut w = standard();
    w.card(
        "c1",
        "e1",
        Some("2026-03-02T09:00:00Z"),
        Some("2026-03-02T17:00:00+00:00"),
    );
    let cases = [
        ("2026-03-02T08:59:59.999999Z", Reason::CardNotYetValid),
        ("2026-03-02T09:00:00Z", Reason::Ok),
        ("2026-03-02T16:59:59.999999Z", Reason::AntiPassback),
        ("2026-03-02T17:00:00Z", Reason::CardExpired),
        ("2026-03-02T18:00:00+01:00", Reason::CardExpired),
    ];
    for (at, want) in cases {
        assert_eq!(reason(&mut w, at, "d", "c1", "in"), want, "{at}");
    }
}

#[test]
fn schedule_start_inclusive_end_exclusive_in_zone_time() {
    let mut w = standard();
    w.zone("ny", "America/New_York").door("nyd", "ny");
    w.grant(
        "e1",
        "ny",
        r#"{"weekdays":[1,2,3,4,5],"start":"07:00","end":"19:00"}"#,
    );
    // 2026-03-02 is a Monday; New York is UTC-5 in early March.
    let cases = [
        ("2026-03-02T11:59:59.999999Z", Reason::OutsideSchedule), // 06:59:59.999999
        ("2026-03-02T12:00:00Z", Reason::Ok),                     // 07:00
        ("2026-03-02T23:59:59.999999Z", Reason::Egress),          // (leave)
        ("2026-03-02T23:59:59.999999Z", Reason::Ok),              // 18:59:59.999999
        ("2026-03-03T00:00:00Z", Reason::OutsideSchedule),        // 19:00
        ("2026-03-07T15:00:00Z", Reason::OutsideSchedule),        // Saturday 10:00
    ];
    for (at, want) in cases {
        let dir = if want == Reason::Egress { "out" } else { "in" };
        assert_eq!(reason(&mut w, at, "nyd", "c1", dir), want, "{at}");
    }
}

#[test]
fn schedules_follow_wall_clock_across_dst_in_two_timezones() {
    let mut w = standard();
    w.zone("ldn", "Europe/London").door("ld", "ldn");
    w.zone("ny", "America/New_York").door("nyd", "ny");
    let every_day = r#"{"weekdays":[1,2,3,4,5,6,7],"start":"07:00","end":"19:00"}"#;
    w.grant("e1", "ldn", every_day).grant("e1", "ny", every_day);
    let mut check = |at: &str, door: &str, want: Reason, hour: i8| {
        let d = w.scan(at, door, "c1", "in");
        assert_eq!(d.reason, want, "{at} at {door}");
        assert_eq!(d.local.map(|l| l.hour), Some(hour), "{at} at {door}");
        if d.presence_change == 1 {
            w.scan(at, door, "c1", "out");
        }
    };
    // London springs forward on Sunday 2026-03-29: 06:30 UTC is 06:30 the day before, 07:30 that day.
    check("2026-03-28T06:30:00Z", "ld", Reason::OutsideSchedule, 6);
    check("2026-03-29T06:30:00Z", "ld", Reason::Ok, 7);
    // ... and falls back on 2026-10-25: 18:30 UTC is 19:30 the day before, 18:30 that day.
    check("2026-10-24T18:30:00Z", "ld", Reason::OutsideSchedule, 19);
    check("2026-10-25T18:30:00Z", "ld", Reason::Ok, 18);
    // New York springs forward on 2026-03-08 and falls back on 2026-11-01.
    check("2026-03-07T11:30:00Z", "nyd", Reason::OutsideSchedule, 6);
    check("2026-03-08T11:30:00Z", "nyd", Reason::Ok, 7);
    check("2026-10-31T23:30:00Z", "nyd", Reason::OutsideSchedule, 19);
    check("2026-11-01T23:30:00Z", "nyd", Reason::Ok, 18);
    // The repeated hour of the fall-back night reads 01:xx both times.
    let d1 = w.scan("2026-11-01T05:30:00Z", "nyd", "c1", "out");
    let d2 = w.scan("2026-11-01T06:30:00Z", "nyd", "c1", "out");
    assert_eq!(d1.local.map(|l| l.hour), Some(1));
    assert_eq!(d2.local.map(|l| l.hour), Some(1));
}

#[test]
fn overnight_windows_run_into_the_next_day() {
    let mut w = standard();
    w.zone("u", "UTC").door("ud", "u");
    // Friday night shift 22:00 → Saturday 06:00 is listed as weekday 5.
    w.grant(
        "e1",
        "u",
        r#"{"weekdays":[5],"start":"22:00","end":"06:00"}"#,
    );
    let cases = [
        ("2026-03-06T21:59:59Z", Reason::OutsideSchedule), // Fri before start
        ("2026-03-06T22:00:00Z", Reason::Ok),              // Fri start
        ("2026-03-07T05:59:59Z", Reason::Ok),              // Sat before end
        ("2026-03-07T06:00:00Z", Reason::OutsideSchedule), // Sat end
        ("2026-03-07T22:30:00Z", Reason::OutsideSchedule), // Sat night: Saturday not listed
        ("2026-03-06T03:00:00Z", Reason::OutsideSchedule), // Fri early: Thursday not listed
    ];
    for (at, want) in cases {
        let d = w.scan(at, "ud", "c1", "in");
        assert_eq!(d.reason, want, "{at}");
        if d.presence_change == 1 {
            w.scan(at, "ud", "c1", "out");
        }
    }
    // Sunday night into Monday wraps the week.
    w.grant(
        "e1",
        "u",
        r#"{"weekdays":[7],"start":"23:00","end":"01:00"}"#,
    );
    assert_eq!(
        reason(&mut w, "2026-03-09T00:30:00Z", "ud", "c1", "in"),
        Reason::Ok
    );
    // start == end is a full 24 hours from start.
    w.grant(
        "e1",
        "u",
        r#"{"weekdays":[1],"start":"12:00","end":"12:00"}"#,
    );
    w.scan("2026-03-09T00:31:00Z", "ud", "c1", "out");
    assert_eq!(
        reason(&mut w, "2026-03-10T11:59:00Z", "ud", "c1", "in"),
        Reason::Ok
    );
}

#[test]
fn presence_and_egress() {
    let mut w = standard();
    let at = "2026-03-02T10:00:00Z";
    let d = w.scan(at, "d", "c1", "out");
    assert_eq!(
        (d.reason, d.presence_change),
        (Reason::Egress, 0),
        "not inside yet"
    );
    assert_eq!(w.scan(at, "d", "c1", "in").presence_change, 1);
    assert!(w.state.is_inside("e1", "z"));
    // Someone else's card used to leave changes nothing for e1.
    w.employee("e2", "active").card("c2", "e2", None, None);
    assert_eq!(w.scan(at, "d", "c2", "out").presence_change, 0);
    let d = w.scan(at, "d", "c-unknown", "out");
    assert_eq!(
        (d.reason, d.presence_change, d.employee_id),
        (Reason::Egress, 0, None)
    );
    // A lost card still lets its holder out, and clears their presence.
    w.status("c1", "lost");
    let d = w.scan(at, "d", "c1", "out");
    assert_eq!(
        (d.reason, d.outcome, d.presence_change),
        (Reason::Egress, Outcome::Granted, -1)
    );
    assert!(!w.state.is_inside("e1", "z"));
}

#[test]
fn a_reissued_card_speaks_for_its_new_holder() {
    let mut w = standard();
    let at = "2026-03-02T10:00:00Z";
    w.scan(at, "d", "c1", "in");
    w.employee("e2", "active").grant("e2", "z", r#""always""#);
    w.card("c1", "e2", None, None);
    let d = w.scan(at, "d", "c1", "out");
    assert_eq!(d.employee_id.as_deref(), Some("e2"));
    assert_eq!(d.presence_change, 0, "e2 was not inside; e1 still is");
    assert!(w.state.is_inside("e1", "z"));
    assert_eq!(w.scan(at, "d", "c1", "in").reason, Reason::Ok);
}

#[test]
fn a_moved_door_decides_in_its_new_zone() {
    let mut w = standard();
    w.zone("z2", "Asia/Singapore");
    let d = w.scan("2026-03-02T10:00:00Z", "d", "c1", "in");
    assert_eq!(d.zone_id.as_deref(), Some("z"));
    w.scan("2026-03-02T10:00:01Z", "d", "c1", "out");
    w.door("d", "z2");
    let d = w.scan("2026-03-02T10:00:02Z", "d", "c1", "in");
    assert_eq!(
        (d.zone_id.as_deref(), d.site_id.as_deref(), d.reason),
        (Some("z2"), Some("site-z2"), Reason::NoAccess)
    );
    let l = d.local.unwrap();
    assert_eq!(
        (l.date.to_string(), l.hour, l.weekday),
        ("2026-03-02".into(), 18, 1)
    );
}

#[test]
fn unknown_door_has_no_zone_and_no_local_time() {
    let mut w = standard();
    let d = w.scan("2026-03-02T10:00:00Z", "ghost", "c1", "in");
    assert_eq!(d.reason, Reason::UnknownDoor);
    assert_eq!((d.site_id, d.zone_id, d.local), (None, None, None));
    assert_eq!(d.employee_id.as_deref(), Some("e1"));
    assert_eq!(d.occurred_at, t("2026-03-02T10:00:00Z"));
}

#[test]
fn a_decision_carries_the_states_numbers_for_its_ids() {
    let mut w = standard();
    w.zone("z2", "Europe/London")
        .door("d2", "z2")
        .employee("e2", "active")
        .card("c2", "e2", None, None)
        .grant("e2", "z2", r#""always""#)
        .grant("e1", "z2", r#""always""#);
    let at = "2026-03-02T10:00:00Z";
    let a = w.scan(at, "d", "c1", "in").numbers;
    let b = w.scan(at, "d2", "c2", "in").numbers;
    let c = w.scan(at, "d2", "c1", "in").numbers;
    let numbered = |n: u32| n != IdNumbers::NONE;
    for n in [a, b, c] {
        assert!(numbered(n.zone) && numbered(n.door) && numbered(n.card) && numbered(n.employee));
    }
    // The same id, the same number; another id, another number.
    assert_eq!(
        (c.zone, c.door, c.card, c.employee),
        (b.zone, b.door, a.card, a.employee)
    );
    assert!(a.zone != b.zone && a.door != b.door && a.card != b.card && a.employee != b.employee);
    // Ids the state does not keep have none.
    let unknown = w.scan(at, "nope", "c-unknown", "in").numbers;
    assert_eq!(
        [unknown.zone, unknown.door, unknown.card, unknown.employee],
        [IdNumbers::NONE; 4]
    );
}
