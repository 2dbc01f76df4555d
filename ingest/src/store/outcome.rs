//! How a decided entry event and a recorded admin event are kept in a store,
//! so that a redelivered event gets its first outcome back (the same row, the
//! same `processed_at`) instead of being decided again.

use accesslake_model::{
    AdminRecord, AdminType, Decision, Direction, Id, LocalTime, Micros, Reason,
};
use serde::{Deserialize, Serialize};

use crate::batch::Stored;
use crate::{Error, Result};

#[derive(Serialize, Deserialize)]
struct DecisionV {
    /// The record that carried the event (see [`crate::batch::Stored`]).
    #[serde(rename = "ref")]
    source_ref: String,
    occurred_at: Micros,
    processed_at: Micros,
    site_id: Option<Id>,
    zone_id: Option<Id>,
    door_id: Id,
    card_id: Id,
    employee_id: Option<Id>,
    direction: String,
    reason: String,
    presence_change: i8,
    /// Zone-local date (YYYY-MM-DD), hour and ISO weekday.
    local: Option<(String, i8, i8)>,
}

#[derive(Serialize, Deserialize)]
struct AdminV {
    #[serde(rename = "ref")]
    source_ref: String,
    occurred_at: Micros,
    received_at: Micros,
    actor: String,
    #[serde(rename = "type")]
    admin_type: String,
    entity_id: String,
    payload: String,
    applied: bool,
    error: Option<String>,
}

/// The error codes an admin record can carry (SPEC 2.2).
const ADMIN_ERRORS: [&str; 4] = ["stale", "unknown_zone", "unknown_employee", "unknown_card"];

fn corrupt(kind: &'static str, detail: impl ToString) -> Error {
    Error::Corrupt {
        kind,
        detail: detail.to_string(),
    }
}

/// A decision as stored under its event id (the id itself is the key).
pub fn encode_decision(stored: &Stored<Decision>) -> String {
    let d = &stored.row;
    let v = DecisionV {
        source_ref: stored.source_ref.clone(),
        occurred_at: d.occurred_at,
        processed_at: d.processed_at,
        site_id: d.site_id.clone(),
        zone_id: d.zone_id.clone(),
        door_id: d.door_id.clone(),
        card_id: d.card_id.clone(),
        employee_id: d.employee_id.clone(),
        direction: d.direction.as_str().to_string(),
        reason: d.reason.as_str().to_string(),
        presence_change: d.presence_change,
        local: d
            .local
            .map(|l| (accesslake_model::format_date(l.date), l.hour, l.weekday)),
    };
    // Serializing a plain struct of strings and integers cannot fail.
    serde_json::to_string(&v).unwrap_or_default()
}

pub fn decode_decision(event_id: &str, text: &str) -> Result<Stored<Decision>> {
    let v: DecisionV = serde_json::from_str(text).map_err(|e| corrupt("decision", e))?;
    let reason = Reason::parse(&v.reason).ok_or_else(|| corrupt("decision", "reason"))?;
    let direction = match v.direction.as_str() {
        "in" => Direction::In,
        "out" => Direction::Out,
        _ => return Err(corrupt("decision", "direction")),
    };
    let local = match v.local {
        None => None,
        Some((date, hour, weekday)) => Some(LocalTime {
            date: chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|_| corrupt("decision", "local date"))?,
            hour,
            weekday,
        }),
    };
    let row = Decision {
        event_id: event_id.into(),
        occurred_at: v.occurred_at,
        processed_at: v.processed_at,
        site_id: v.site_id,
        zone_id: v.zone_id,
        door_id: v.door_id,
        card_id: v.card_id,
        employee_id: v.employee_id,
        direction,
        outcome: reason.outcome(),
        reason,
        presence_change: v.presence_change,
        local,
    };
    Ok(Stored {
        row,
        source_ref: v.source_ref,
    })
}

/// An admin record as stored under its event id.
pub fn encode_admin(stored: &Stored<AdminRecord>) -> String {
    let r = &stored.row;
    let v = AdminV {
        source_ref: stored.source_ref.clone(),
        occurred_at: r.occurred_at,
        received_at: r.received_at,
        actor: r.actor.clone(),
        admin_type: r.admin_type.as_str().to_string(),
        entity_id: r.entity_id.clone(),
        payload: r.payload.clone(),
        applied: r.applied,
        error: r.error.map(str::to_string),
    };
    serde_json::to_string(&v).unwrap_or_default()
}

pub fn decode_admin(event_id: &str, text: &str) -> Result<Stored<AdminRecord>> {
    let v: AdminV = serde_json::from_str(text).map_err(|e| corrupt("admin record", e))?;
    let admin_type =
        AdminType::parse(&v.admin_type).ok_or_else(|| corrupt("admin record", "type"))?;
    let error = match v.error {
        None => None,
        Some(e) => Some(
            ADMIN_ERRORS
                .into_iter()
                .find(|known| *known == e)
                .ok_or_else(|| corrupt("admin record", "error code"))?,
        ),
    };
    let row = AdminRecord {
        event_id: event_id.into(),
        occurred_at: v.occurred_at,
        received_at: v.received_at,
        actor: v.actor,
        admin_type,
        entity_id: v.entity_id,
        payload: v.payload,
        applied: v.applied,
        error,
    };
    Ok(Stored {
        row,
        source_ref: v.source_ref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accesslake_model::Outcome;

    #[test]
    fn decisions_and_admin_records_round_trip() {
        let d = Decision {
            event_id: "e1".into(),
            occurred_at: 1_772_438_462_123_000,
            processed_at: 1_772_438_500_000_000,
            site_id: Some("hq".into()),
            zone_id: Some("hq-lobby".into()),
            door_id: "hq-f1-east".into(),
            card_id: "0042:18231".into(),
            employee_id: None,
            direction: Direction::In,
            outcome: Outcome::Denied,
            reason: Reason::UnknownCard,
            presence_change: 0,
            local: Some(LocalTime {
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                hour: 8,
                weekday: 1,
            }),
        };
        let d = Stored {
            row: d,
            source_ref: "4954".into(),
        };
        let back = decode_decision("e1", &encode_decision(&d)).unwrap();
        assert_eq!(back, d);

        let r = AdminRecord {
            event_id: "a1".into(),
            occurred_at: 1,
            received_at: 2,
            actor: "hr".into(),
            admin_type: AdminType::CardIssued,
            entity_id: "c1".into(),
            payload: r#"{"card_id":"c1"}"#.into(),
            applied: false,
            error: Some("unknown_employee"),
        };
        let r = Stored {
            row: r,
            source_ref: "s3://drop/bulk.jsonl:7".into(),
        };
        assert_eq!(decode_admin("a1", &encode_admin(&r)).unwrap(), r);
        assert!(decode_admin("a1", r#"{"bad":1}"#).is_err());
        let tampered = encode_admin(&r).replace("unknown_employee", "oops");
        assert!(decode_admin("a1", &tampered).is_err());
    }
}
