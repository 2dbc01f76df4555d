//! Properties of the decision engine over random worlds and random streams.

mod world;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use accesslake_ingest::{MemoryStore, Processor};
use accesslake_model::{Decision, Direction, Event, FixedClock, Outcome, Reason, format_rfc3339};
use proptest::prelude::*;
use world::{admin_event, entry, t};

const TZS: [&str; 5] = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];

#[derive(Debug, Clone)]
enum Step {
    Scan {
        id: u8,
        minute: u32,
        door: u8,
        card: u8,
        out: bool,
    },
    Status {
        card: u8,
        status: u8,
        minute: u32,
    },
    Grant {
        emp: u8,
        zone: u8,
        sched: Option<(u8, u16, u16)>,
        minute: u32,
    },
    Revoke {
        emp: u8,
        zone: u8,
        minute: u32,
    },
    Reissue {
        card: u8,
        emp: u8,
        minute: u32,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let minute = 0u32..(14 * 1440);
    prop_oneof![
        8 => (0u8..120, minute.clone(), 0u8..7, 0u8..7, any::<bool>())
            .prop_map(|(id, minute, door, card, out)| Step::Scan { id, minute, door, card, out }),
        1 => (0u8..6, 0u8..6, minute.clone()).prop_map(|(card, status, minute)| Step::Status { card, status, minute }),
        1 => (0u8..4, 0u8..3, proptest::option::of((any::<u8>(), 0u16..1440, 1u16..1441)), minute.clone())
            .prop_map(|(emp, zone, sched, minute)| Step::Grant { emp, zone, sched, minute }),
        1 => (0u8..4, 0u8..3, minute.clone()).prop_map(|(emp, zone, minute)| Step::Revoke { emp, zone, minute }),
        1 => (0u8..6, 0u8..4, minute).prop_map(|(card, emp, minute)| Step::Reissue { card, emp, minute }),
    ]
}

const BASE: &str = "2026-03-01T00:00:00Z";

fn at(minute: u32) -> String {
    format_rfc3339(t(BASE) + i64::from(minute) * 60_000_000 + 17)
}

fn schedule(s: Option<(u8, u16, u16)>) -> String {
    match s {
        None => r#""always""#.into(),
        Some((days, start, end)) => {
            let list: Vec<String> = (1..=7)
                .filter(|d| days & (1 << (d - 1)) != 0)
                .map(|d: u8| d.to_string())
                .collect();
            let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
            format!(
                r#"{{"weekdays":[{}],"start":"{}","end":"{}"}}"#,
                list.join(","),
                hm(start.min(1439)),
                hm(end)
            )
        }
    }
}

/// Setup (zones in five timezones, doors, employees, cards) then the steps.
fn events(tzs: &[usize], active: &[bool], steps: &[Step]) -> Vec<Event> {
    let mut evs = Vec::new();
    let mut n = 0u32;
    let mut admin = |kind: &str, at_: String, data: String| {
        n += 1;
        Event::Admin(Box::new(admin_event(&format!("a{n}"), kind, &at_, &data)))
    };
    let setup = || "2026-02-01T00:00:00Z".to_string();
    for (z, tz) in tzs.iter().enumerate() {
        evs.push(admin(
            "zone_upserted",
            setup(),
            format!(
                r#"{{"zone_id":"z{z}","name":"Z","site_id":"s","timezone":"{}","capacity":2}}"#,
                TZS[*tz]
            ),
        ));
    }
    for d in 0..6 {
        evs.push(admin(
            "door_upserted",
            setup(),
            format!(r#"{{"door_id":"d{d}","zone_id":"z{}","name":"D"}}"#, d % 3),
        ));
    }
    for (e, on) in active.iter().enumerate() {
        let status = if *on { "active" } else { "inactive" };
        evs.push(admin(
            "employee_upserted",
            setup(),
            format!(r#"{{"employee_id":"e{e}","name":"N","department":"D","status":"{status}"}}"#),
        ));
    }
    for c in 0..5 {
        evs.push(admin(
            "card_issued",
            setup(),
            format!(r#"{{"card_id":"c{c}","employee_id":"e{}"}}"#, c % 4),
        ));
    }
    let statuses = [
        "active",
        "lost",
        "stolen",
        "revoked",
        "destroyed",
        "expired",
    ];
    for s in steps {
        evs.push(match *s {
            Step::Scan {
                id,
                minute,
                door,
                card,
                out,
            } => Event::Entry(entry(
                &format!("s{id}"),
                &at(minute),
                &format!("d{door}"),
                &format!("c{card}"),
                if out { "out" } else { "in" },
            )),
            Step::Status {
                card,
                status,
                minute,
            } => admin(
                "card_status_changed",
                at(minute),
                format!(
                    r#"{{"card_id":"c{card}","status":"{}"}}"#,
                    statuses[status as usize]
                ),
            ),
            Step::Grant {
                emp,
                zone,
                sched,
                minute,
            } => admin(
                "access_granted",
                at(minute),
                format!(
                    r#"{{"employee_id":"e{emp}","zone_id":"z{zone}","schedule":{}}}"#,
                    schedule(sched)
                ),
            ),
            Step::Revoke { emp, zone, minute } => admin(
                "access_revoked",
                at(minute),
                format!(r#"{{"employee_id":"e{emp}","zone_id":"z{zone}"}}"#),
            ),
            Step::Reissue { card, emp, minute } => admin(
                "card_issued",
                at(minute),
                format!(r#"{{"card_id":"c{card}","employee_id":"e{emp}"}}"#),
            ),
        });
    }
    evs
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(t("2026-06-01T00:00:00Z")))
}

fn run_chunked(evs: &[Event], cuts: &[usize], reload: bool) -> Vec<Decision> {
    let mut p = Processor::new(MemoryStore::new(), clock()).unwrap();
    let mut out = Vec::new();
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (evs.len() + 1)).collect();
    bounds.sort_unstable();
    bounds.push(evs.len());
    for end in bounds {
        let chunk = p.process(&evs[start..end], vec![]).unwrap();
        p.commit(&chunk).unwrap();
        out.extend(chunk.decisions);
        if reload {
            let store = std::mem::take(p.store_mut());
            p = Processor::new(store, clock()).unwrap();
        }
        start = end;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decision_invariants(
        tzs in proptest::collection::vec(0usize..5, 3),
        active in proptest::collection::vec(proptest::bool::weighted(0.85), 4),
        steps in proptest::collection::vec(step(), 1..250),
    ) {
        let evs = events(&tzs, &active, &steps);
        let decisions = run_chunked(&evs, &[], false);

        // Every event id is decided at most once, and every distinct one is decided.
        let ids: Vec<&str> = decisions.iter().map(|d| d.event_id.as_str()).collect();
        let distinct: HashSet<&str> = ids.iter().copied().collect();
        prop_assert_eq!(ids.len(), distinct.len());
        let scanned: HashSet<String> = steps.iter().filter_map(|s| match s {
            Step::Scan { id, .. } => Some(format!("s{id}")),
            _ => None,
        }).collect();
        prop_assert_eq!(distinct.len(), scanned.len());

        // Presence per (employee, zone) stays 0 or 1 in processing order.
        let mut presence: HashMap<(String, String), i32> = HashMap::new();
        for d in &decisions {
            prop_assert_eq!(d.outcome, d.reason.outcome());
            prop_assert_eq!(d.presence_change == 1, d.reason == Reason::Ok);
            if d.presence_change == -1 {
                prop_assert_eq!(d.reason, Reason::Egress);
            }
            if d.reason != Reason::UnknownDoor && d.direction == Direction::Out {
                prop_assert_eq!((d.outcome, d.reason), (Outcome::Granted, Reason::Egress));
            }
            prop_assert_eq!(d.zone_id.is_none(), d.reason == Reason::UnknownDoor);
            // Only an unknown card has no holder; c6 is never issued (c5 may be, by a reissue).
            if d.employee_id.is_none() {
                prop_assert!(matches!(d.reason, Reason::UnknownCard | Reason::Egress | Reason::UnknownDoor));
            }
            if d.card_id == "c6" {
                prop_assert!(d.employee_id.is_none());
            }
            if let (Some(e), Some(z)) = (&d.employee_id, &d.zone_id) {
                let p = presence.entry((e.to_string(), z.to_string())).or_default();
                *p += i32::from(d.presence_change);
                prop_assert!(*p == 0 || *p == 1, "presence {} for {e} in {z}", p);
            }
        }
    }

    #[test]
    fn same_input_same_output_however_chunked_or_reloaded(
        tzs in proptest::collection::vec(0usize..5, 3),
        active in proptest::collection::vec(proptest::bool::weighted(0.85), 4),
        steps in proptest::collection::vec(step(), 1..150),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let evs = events(&tzs, &active, &steps);
        let whole = run_chunked(&evs, &[], false);
        prop_assert_eq!(&whole, &run_chunked(&evs, &[], false));
        prop_assert_eq!(&whole, &run_chunked(&evs, &cuts, false));
        prop_assert_eq!(&whole, &run_chunked(&evs, &cuts, true));
    }
}
