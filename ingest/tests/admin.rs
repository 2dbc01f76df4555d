//! Admin semantics (SPEC 2.2, 3.1): duplicate → stale → unknown entity.

mod world;

use accesslake_ingest::apply_admin;
use accesslake_model::{AdminType, CardStatus, Event, Reason};
use world::{World, admin_event, entry, processor, standard, t};

fn apply(
    w: &mut World,
    id: &str,
    kind: &str,
    at: &str,
    data: &str,
) -> (bool, Option<&'static str>) {
    let rec = apply_admin(&mut w.state, &admin_event(id, kind, at, data), 7);
    assert_eq!(rec.received_at, 7);
    (rec.applied, rec.error)
}

#[test]
fn stale_events_are_recorded_not_applied() {
    let mut w = standard();
    let emp = |name: &str| {
        format!(r#"{{"employee_id":"e1","name":"{name}","department":"D","status":"active"}}"#)
    };
    assert_eq!(
        apply(
            &mut w,
            "a1",
            "employee_upserted",
            "2026-03-02T10:00:00Z",
            &emp("New")
        ),
        (true, None)
    );
    assert_eq!(
        apply(
            &mut w,
            "a2",
            "employee_upserted",
            "2026-03-02T09:59:59.999999Z",
            &emp("Old")
        ),
        (false, Some("stale"))
    );
    assert_eq!(w.state.employees["e1"].name, "New");
    // Equal occurred_at is applied (last writer wins on a tie).
    assert_eq!(
        apply(
            &mut w,
            "a3",
            "employee_upserted",
            "2026-03-02T10:00:00Z",
            &emp("Tie")
        ),
        (true, None)
    );
    assert_eq!(w.state.employees["e1"].name, "Tie");
    // card_issued and card_status_changed version the same card.
    assert_eq!(
        apply(
            &mut w,
            "a4",
            "card_status_changed",
            "2026-03-05T00:00:00Z",
            r#"{"card_id":"c1","status":"lost"}"#
        ),
        (true, None)
    );
    assert_eq!(
        apply(
            &mut w,
            "a5",
            "card_issued",
            "2026-03-04T00:00:00Z",
            r#"{"card_id":"c1","employee_id":"e1"}"#
        ),
        (false, Some("stale"))
    );
    assert_eq!(w.state.cards["c1"].status, CardStatus::Lost);
    // A revoke at a later time beats a grant sent late.
    assert_eq!(
        apply(
            &mut w,
            "a6",
            "access_revoked",
            "2026-03-05T00:00:00Z",
            r#"{"employee_id":"e1","zone_id":"z"}"#
        ),
        (true, None)
    );
    assert_eq!(
        apply(
            &mut w,
            "a7",
            "access_granted",
            "2026-03-04T00:00:00Z",
            r#"{"employee_id":"e1","zone_id":"z","schedule":"always"}"#
        ),
        (false, Some("stale"))
    );
    assert!(w.state.grant("e1", "z").is_none());
    // Stale is checked before unknown entity.
    assert_eq!(
        apply(
            &mut w,
            "a8",
            "access_granted",
            "2026-03-04T00:00:00Z",
            r#"{"employee_id":"e1","zone_id":"z","schedule":"always"}"#
        ),
        (false, Some("stale"))
    );
}

#[test]
fn unknown_entities_are_named() {
    let mut w = standard();
    let at = "2026-03-02T10:00:00Z";
    let cases = [
        (
            "door_upserted",
            r#"{"door_id":"d9","zone_id":"z9","name":"x"}"#,
            "unknown_zone",
        ),
        (
            "card_issued",
            r#"{"card_id":"c9","employee_id":"e9"}"#,
            "unknown_employee",
        ),
        (
            "card_status_changed",
            r#"{"card_id":"c9","status":"lost"}"#,
            "unknown_card",
        ),
        (
            "access_granted",
            r#"{"employee_id":"e9","zone_id":"z9","schedule":"always"}"#,
            "unknown_employee",
        ),
        (
            "access_granted",
            r#"{"employee_id":"e1","zone_id":"z9","schedule":"always"}"#,
            "unknown_zone",
        ),
        (
            "access_revoked",
            r#"{"employee_id":"e9","zone_id":"z"}"#,
            "unknown_employee",
        ),
        (
            "access_revoked",
            r#"{"employee_id":"e1","zone_id":"z9"}"#,
            "unknown_zone",
        ),
    ];
    for (i, (kind, data, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            apply(&mut w, &format!("u{i}"), kind, at, data),
            (false, Some(want)),
            "{kind} {data}"
        );
    }
    assert!(!w.state.doors.contains_key("d9"));
    assert!(!w.state.cards.contains_key("c9"));
    // An unapplied event does not version its entity: a later-arriving older event still applies.
    assert_eq!(
        apply(
            &mut w,
            "late",
            "door_upserted",
            "2026-01-02T00:00:00Z",
            r#"{"door_id":"d9","zone_id":"z","name":"x"}"#
        ),
        (true, None)
    );
}

#[test]
fn revoking_a_missing_grant_is_an_applied_no_op() {
    let mut w = standard();
    assert_eq!(
        apply(
            &mut w,
            "r1",
            "access_revoked",
            "2026-03-02T10:00:00Z",
            r#"{"employee_id":"e1","zone_id":"z"}"#
        ),
        (true, None)
    );
    assert_eq!(
        apply(
            &mut w,
            "r2",
            "access_revoked",
            "2026-03-02T10:00:01Z",
            r#"{"employee_id":"e1","zone_id":"z"}"#
        ),
        (true, None)
    );
    assert!(w.state.grants().next().is_none());
}

#[test]
fn card_issued_replaces_holder_status_and_validity() {
    let mut w = standard();
    w.status("c1", "stolen").employee("e2", "active");
    apply(
        &mut w,
        "c",
        "card_issued",
        "2026-03-02T10:00:00Z",
        r#"{"card_id":"c1","employee_id":"e2","valid_until":"2026-12-31T00:00:00Z"}"#,
    );
    let c = &w.state.cards["c1"];
    assert_eq!(
        (c.employee_id.as_str(), c.status, c.valid_from),
        ("e2", CardStatus::Active, None)
    );
    assert_eq!(c.valid_until, Some(t("2026-12-31T00:00:00Z")));
}

#[test]
fn grants_remember_who_granted_them_and_when() {
    let w = standard();
    let g = w.state.grant("e1", "z").unwrap();
    assert_eq!(
        (g.granted_by.as_str(), g.granted_at),
        ("test-admin", t(world::SETUP))
    );
}

#[test]
fn duplicates_leave_no_second_row_however_late() {
    let mut p = processor();
    let setup = [
        admin_event(
            "a1",
            "zone_upserted",
            "2026-01-01T00:00:00Z",
            r#"{"zone_id":"z","name":"Z","site_id":"s","timezone":"UTC","capacity":3}"#,
        ),
        admin_event(
            "a2",
            "door_upserted",
            "2026-01-01T00:00:01Z",
            r#"{"door_id":"d","zone_id":"z","name":"D"}"#,
        ),
        admin_event(
            "a1",
            "zone_upserted",
            "2026-01-01T00:00:00Z",
            r#"{"zone_id":"z","name":"Z","site_id":"s","timezone":"UTC","capacity":3}"#,
        ),
    ];
    let events: Vec<Event> = setup
        .into_iter()
        .map(|a| Event::Admin(Box::new(a)))
        .collect();
    let out = p.process(&events, vec![]).unwrap();
    assert_eq!(out.admin.len(), 2);
    assert_eq!(out.stats.duplicate_admin, 1);
    p.commit(&out).unwrap();

    let scan = Event::Entry(entry("s1", "2026-03-02T10:00:00Z", "d", "c", "in"));
    let out = p.process(&[scan.clone(), scan.clone()], vec![]).unwrap();
    assert_eq!((out.decisions.len(), out.stats.duplicate_entries), (1, 1));
    assert_eq!(out.decisions[0].reason, Reason::UnknownCard);
    p.commit(&out).unwrap();
    // Redelivered in a later chunk, after the commit, and an admin event with the
    // same id as an entry event (separate namespaces).
    let same_id_admin = Event::Admin(Box::new(admin_event(
        "s1",
        "door_upserted",
        "2026-01-01T00:00:02Z",
        r#"{"door_id":"d2","zone_id":"z","name":"D"}"#,
    )));
    let out = p.process(&[scan, same_id_admin], vec![]).unwrap();
    assert_eq!(
        (
            out.decisions.len(),
            out.stats.duplicate_entries,
            out.admin.len()
        ),
        (0, 1, 1)
    );
    assert_eq!(out.admin[0].admin_type, AdminType::DoorUpserted);
}
