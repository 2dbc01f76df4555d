//! A small world built through real admin events, shared by the ingest tests.
#![allow(dead_code)]

use std::sync::Arc;

use accesslake_ingest::{MemoryStore, Processor, State, apply_admin};
use accesslake_model::{
    AdminEvent, Decision, EntryEvent, Event, FixedClock, parse_json, parse_rfc3339,
};

pub fn t(s: &str) -> i64 {
    parse_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub fn admin_event(id: &str, kind: &str, at: &str, data: &str) -> AdminEvent {
    let line = format!(
        r#"{{"event_id":"{id}","type":"{kind}","occurred_at":"{at}","actor":"test-admin","data":{data}}}"#
    );
    match parse_json(&line) {
        Ok(Event::Admin(a)) => *a,
        other => panic!("{line}: {other:?}"),
    }
}

pub fn entry(id: &str, at: &str, door: &str, card: &str, dir: &str) -> EntryEvent {
    let line = format!(
        r#"{{"event_id":"{id}","occurred_at":"{at}","door_id":"{door}","card_id":"{card}","direction":"{dir}"}}"#
    );
    match parse_json(&line) {
        Ok(Event::Entry(e)) => e,
        other => panic!("{line}: {other:?}"),
    }
}

/// Builds state by applying admin events, asserting each is applied.
#[derive(Default)]
pub struct World {
    pub state: State,
    n: u32,
}

pub const SETUP: &str = "2026-01-01T00:00:00Z";

impl World {
    pub fn new() -> Self {
        World {
            state: State::default(),
            n: 0,
        }
    }

    pub fn apply(&mut self, kind: &str, data: &str) -> &mut Self {
        self.apply_at(kind, SETUP, data)
    }

    pub fn apply_at(&mut self, kind: &str, at: &str, data: &str) -> &mut Self {
        self.n += 1;
        let ev = admin_event(&format!("setup-{}", self.n), kind, at, data);
        let rec = apply_admin(&mut self.state, &ev, 0);
        assert!(rec.applied, "{kind} {data}: {:?}", rec.error);
        self
    }

    pub fn zone(&mut self, id: &str, tz: &str) -> &mut Self {
        self.apply(
            "zone_upserted",
            &format!(r#"{{"zone_id":"{id}","name":"{id}","site_id":"site-{id}","timezone":"{tz}","capacity":10}}"#),
        )
    }

    pub fn door(&mut self, id: &str, zone: &str) -> &mut Self {
        self.apply(
            "door_upserted",
            &format!(r#"{{"door_id":"{id}","zone_id":"{zone}","name":"{id}"}}"#),
        )
    }

    pub fn employee(&mut self, id: &str, status: &str) -> &mut Self {
        self.apply(
            "employee_upserted",
            &format!(
                r#"{{"employee_id":"{id}","name":"N {id}","department":"D","status":"{status}"}}"#
            ),
        )
    }

    pub fn card(
        &mut self,
        card: &str,
        emp: &str,
        from: Option<&str>,
        until: Option<&str>,
    ) -> &mut Self {
        let q = |v: Option<&str>| v.map_or("null".to_string(), |s| format!("\"{s}\""));
        self.apply(
            "card_issued",
            &format!(
                r#"{{"card_id":"{card}","employee_id":"{emp}","valid_from":{},"valid_until":{}}}"#,
                q(from),
                q(until)
            ),
        )
    }

    pub fn status(&mut self, card: &str, status: &str) -> &mut Self {
        self.apply(
            "card_status_changed",
            &format!(r#"{{"card_id":"{card}","status":"{status}"}}"#),
        )
    }

    pub fn grant(&mut self, emp: &str, zone: &str, schedule: &str) -> &mut Self {
        self.apply(
            "access_granted",
            &format!(r#"{{"employee_id":"{emp}","zone_id":"{zone}","schedule":{schedule}}}"#),
        )
    }

    /// Decides a scan and applies its presence change, like the processor does.
    pub fn scan(&mut self, at: &str, door: &str, card: &str, dir: &str) -> Decision {
        self.n += 1;
        let ev = entry(&format!("scan-{}", self.n), at, door, card, dir);
        let d = accesslake_ingest::decide(&self.state, &ev, 0);
        accesslake_ingest::decide::apply_presence(&mut self.state, &d);
        d
    }
}

/// A standard world: zone `z` in London with door `d`, employee `e1` holding
/// active card `c1` with an always-grant.
pub fn standard() -> World {
    let mut w = World::new();
    w.zone("z", "Europe/London")
        .door("d", "z")
        .employee("e1", "active")
        .card("c1", "e1", None, None)
        .grant("e1", "z", r#""always""#);
    w
}

pub fn processor() -> Processor<MemoryStore> {
    Processor::new(
        MemoryStore::new(),
        Arc::new(FixedClock(t("2026-06-01T00:00:00Z"))),
    )
    .unwrap()
}
