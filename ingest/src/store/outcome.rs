//! How a decided entry event and a recorded admin event are kept in a store,
//! so that a redelivered event gets its first outcome back (the same row, the
//! same `processed_at`) instead of being decided again.

use accesslake_model::{
    AdminRecord, AdminType, Decision, Direction, Id, IdNumbers, LocalTime, Micros, Reason,
};
use serde::{Deserialize, Serialize};

use crate::batch::Stored;
use crate::{Error, Result};

/// A decision as stored, read back into owned strings (`S = Id`). Written
/// by [`encode_decision`]; its serde form (`S = &str`) is what the tests
/// hold that writer to.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct DecisionV<S> {
    /// The record that carried the event (see [`crate::batch::Stored`]).
    #[serde(rename = "ref")]
    source_ref: S,
    occurred_at: Micros,
    processed_at: Micros,
    site_id: Option<S>,
    zone_id: Option<S>,
    door_id: S,
    card_id: S,
    employee_id: Option<S>,
    direction: S,
    reason: S,
    presence_change: i8,
    /// Zone-local date (YYYY-MM-DD), hour and ISO weekday.
    local: Option<(S, i8, i8)>,
}

/// An admin record as stored; `S` as in [`DecisionV`].
#[derive(Serialize, Deserialize)]
struct AdminV<S> {
    #[serde(rename = "ref")]
    source_ref: S,
    occurred_at: Micros,
    received_at: Micros,
    actor: S,
    #[serde(rename = "type")]
    admin_type: S,
    entity_id: S,
    payload: S,
    applied: bool,
    error: Option<S>,
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
///
/// Written straight into one string, as serde_json writes [`DecisionV`]
/// (a test holds the two to the same bytes): every entry decision is
/// encoded once, and serde's field-by-field machinery cost several times
/// the handler's deciding.
pub fn encode_decision(stored: &Stored<Decision>) -> String {
    let d = &stored.row;
    let mut out = String::with_capacity(256);
    let opt = |out: &mut String, v: Option<&str>| match v {
        Some(v) => push_json_str(out, v),
        None => out.push_str("null"),
    };
    out.push_str("{\"ref\":");
    push_json_str(&mut out, &stored.source_ref);
    out.push_str(",\"occurred_at\":");
    out.push_str(itoa::Buffer::new().format(d.occurred_at));
    out.push_str(",\"processed_at\":");
    out.push_str(itoa::Buffer::new().format(d.processed_at));
    out.push_str(",\"site_id\":");
    opt(&mut out, d.site_id.as_deref());
    out.push_str(",\"zone_id\":");
    opt(&mut out, d.zone_id.as_deref());
    out.push_str(",\"door_id\":");
    push_json_str(&mut out, &d.door_id);
    out.push_str(",\"card_id\":");
    push_json_str(&mut out, &d.card_id);
    out.push_str(",\"employee_id\":");
    opt(&mut out, d.employee_id.as_deref());
    out.push_str(",\"direction\":");
    push_json_str(&mut out, d.direction.as_str());
    out.push_str(",\"reason\":");
    push_json_str(&mut out, d.reason.as_str());
    out.push_str(",\"presence_change\":");
    out.push_str(itoa::Buffer::new().format(d.presence_change));
    out.push_str(",\"local\":");
    match d.local {
        Some(l) => {
            out.push_str("[\"");
            accesslake_model::push_date(&mut out, l.date);
            out.push_str("\",");
            out.push_str(itoa::Buffer::new().format(l.hour));
            out.push(',');
            out.push_str(itoa::Buffer::new().format(l.weekday));
            out.push(']');
        }
        None => out.push_str("null"),
    }
    out.push('}');
    out
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it: `"` and
/// `\\`, the five short forms of control characters and `\u00xx` for the
/// other characters below U+0020; everything else as it is.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Ids seldom hold a byte to escape, and then go out as they are.
    let Some(first) = accesslake_model::first_json_special(s.as_bytes()) else {
        out.push_str(s);
        out.push('"');
        return;
    };
    let mut start = 0;
    for (i, b) in s.bytes().enumerate().skip(first) {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x20.. => continue,
            _ => "",
        };
        // `b` is ASCII, so `i` is a character boundary.
        out.push_str(&s[start..i]);
        start = i + 1;
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

pub fn decode_decision(event_id: &str, text: &str) -> Result<Stored<Decision>> {
    let v: DecisionV<Id> = serde_json::from_str(text).map_err(|e| corrupt("decision", e))?;
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
        numbers: IdNumbers::UNKNOWN,
    };
    Ok(Stored {
        row,
        source_ref: v.source_ref.into_string(),
    })
}

/// An admin record as stored under its event id.
pub fn encode_admin(stored: &Stored<AdminRecord>) -> String {
    let r = &stored.row;
    let v = AdminV {
        source_ref: stored.source_ref.as_str(),
        occurred_at: r.occurred_at,
        received_at: r.received_at,
        actor: r.actor.as_str(),
        admin_type: r.admin_type.as_str(),
        entity_id: r.entity_id.as_str(),
        payload: r.payload.as_str(),
        applied: r.applied,
        error: r.error,
    };
    serde_json::to_string(&v).unwrap_or_default()
}

pub fn decode_admin(event_id: &str, text: &str) -> Result<Stored<AdminRecord>> {
    let v: AdminV<String> = serde_json::from_str(text).map_err(|e| corrupt("admin record", e))?;
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
    use proptest::prelude::*;

    /// serde_json's form of a stored decision, the oracle of `encode_decision`.
    fn serde_form(stored: &Stored<Decision>) -> String {
        let d = &stored.row;
        let date = d.local.map(|l| accesslake_model::format_date(l.date));
        serde_json::to_string(&DecisionV {
            source_ref: stored.source_ref.as_str(),
            occurred_at: d.occurred_at,
            processed_at: d.processed_at,
            site_id: d.site_id.as_deref(),
            zone_id: d.zone_id.as_deref(),
            door_id: &d.door_id,
            card_id: &d.card_id,
            employee_id: d.employee_id.as_deref(),
            direction: d.direction.as_str(),
            reason: d.reason.as_str(),
            presence_change: d.presence_change,
            local: d
                .local
                .zip(date.as_deref())
                .map(|(l, date)| (date, l.hour, l.weekday)),
        })
        .unwrap()
    }

    /// Any text, with control characters, quotes, backslashes and
    /// multi-byte characters well represented.
    fn text() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            (0u8..0x20).prop_map(char::from),
            prop::sample::select(vec!['"', '\\', '/', '\u{7f}', 'é', '€', '😀', '\u{2028}']),
            any::<char>(),
            (b'a'..=b'z').prop_map(char::from),
        ];
        prop::collection::vec(ch, 0..24).prop_map(|v| v.into_iter().collect())
    }

    fn stored_decision() -> impl Strategy<Value = Stored<Decision>> {
        let ids = (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            text(),
            text(),
            proptest::option::of(text()),
        );
        let local = proptest::option::of((-400_000i32..400_000, any::<i8>(), any::<i8>()));
        (
            ids,
            (any::<i64>(), any::<i64>(), any::<bool>(), any::<i8>()),
            prop::sample::select(Reason::ALL.to_vec()),
            local,
        )
            .prop_map(
                |(
                    (source_ref, site, zone, door, card, employee),
                    (at, processed, into, change),
                    reason,
                    local,
                )| {
                    Stored {
                        row: Decision {
                            event_id: "e".into(),
                            occurred_at: at,
                            processed_at: processed,
                            site_id: site.map(Into::into),
                            zone_id: zone.map(Into::into),
                            door_id: door.into(),
                            card_id: card.into(),
                            employee_id: employee.map(Into::into),
                            direction: if into { Direction::In } else { Direction::Out },
                            outcome: reason.outcome(),
                            reason,
                            presence_change: change,
                            local: local.map(|(days, hour, weekday)| LocalTime {
                                date: chrono::NaiveDate::from_num_days_from_ce_opt(days).unwrap(),
                                hour,
                                weekday,
                            }),
                            numbers: IdNumbers::UNKNOWN,
                        },
                        source_ref,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn decisions_are_written_as_serde_json_writes_them(d in stored_decision()) {
            let text = encode_decision(&d);
            prop_assert_eq!(&text, &serde_form(&d));
        }
    }

    #[test]
    fn a_byte_to_escape_is_found_wherever_it_stands() {
        for len in 1..=20 {
            for at in 0..len {
                for (b, escaped) in [
                    (b'"', true),
                    (b'\\', true),
                    (0x00, true),
                    (0x1f, true),
                    (b' ', false),
                    (b'!', false),
                    (b'#', false),
                    (b'[', false),
                    (b']', false),
                    (0x7f, false),
                    (0x80, false),
                    (0xa2, false),
                    (0xdc, false),
                    (0xff, false),
                ] {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    let found = accesslake_model::first_json_special(&s).is_some();
                    assert_eq!(found, escaped, "{s:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in text(), plain in "[a-z0-9:-]{0,40}") {
            for s in [s.as_str(), plain.as_str()] {
                let mut ours = String::new();
                push_json_str(&mut ours, s);
                prop_assert_eq!(&ours, &serde_json::to_string(s).unwrap());
            }
        }
    }

    #[test]
    fn every_character_below_space_is_escaped_as_serde_json_escapes_it() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let mut ours = String::new();
        push_json_str(&mut ours, &all);
        assert_eq!(ours, serde_json::to_string(&all).unwrap());
        assert_eq!(serde_json::from_str::<String>(&ours).unwrap(), all);
    }

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
            numbers: IdNumbers::UNKNOWN,
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
