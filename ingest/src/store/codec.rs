//! How state entities are encoded as values in a key-value store: compact JSON,
//! so a store can be inspected with ordinary tools and evolves by adding fields.

use accesslake_model::{CardStatus, Door, Employee, EmployeeStatus, Id, Micros, Schedule, Zone};
use serde::{Deserialize, Serialize};

use crate::state::{Card, EntityRef, Grant, State};
use crate::{Error, Result};

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ZoneV {
    name: String,
    site_id: String,
    timezone: String,
    capacity: u32,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct DoorV {
    zone_id: String,
    name: String,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct EmployeeV {
    name: String,
    department: String,
    active: bool,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct CardV {
    employee_id: String,
    status: String,
    valid_from: Option<Micros>,
    valid_until: Option<Micros>,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct GrantV {
    schedule: ScheduleV,
    granted_by: String,
    granted_at: Micros,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
#[serde(untagged)]
enum ScheduleV {
    Always(String),
    Window {
        weekdays: u8,
        start_min: u16,
        end_min: u16,
    },
}

#[derive(Deserialize)]
struct WindowV {
    weekdays: u8,
    start_min: u16,
    end_min: u16,
}

impl From<WindowV> for ScheduleV {
    fn from(w: WindowV) -> ScheduleV {
        ScheduleV::Window {
            weekdays: w.weekdays,
            start_min: w.start_min,
            end_min: w.end_min,
        }
    }
}

/// Read by the shape of the value (a string or a window) in one pass:
/// serde's untagged enums buffer the value and try each variant, which
/// cost the handler about 1,300 instructions more per grant it read.
impl<'de> Deserialize<'de> for ScheduleV {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = ScheduleV;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"always\" or a weekly window")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<ScheduleV, E> {
                Ok(ScheduleV::Always(s.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<ScheduleV, A::Error> {
                WindowV::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Into::into)
            }
        }
        d.deserialize_any(Shape)
    }
}

fn corrupt(kind: &'static str, detail: impl ToString) -> Error {
    Error::Corrupt {
        kind,
        detail: detail.to_string(),
    }
}

/// The stored value of an entity, or `None` if it no longer exists
/// (a revoked grant, a presence that ended).
pub fn encode(state: &State, e: &EntityRef) -> Option<Vec<u8>> {
    let json = match e {
        EntityRef::Zone(id) => state.zones.get(id).map(|z| {
            serde_json::to_vec(&ZoneV {
                name: z.name.clone(),
                site_id: z.site_id.clone(),
                timezone: z.timezone.name().to_string(),
                capacity: z.capacity,
            })
        }),
        EntityRef::Door(id) => state.doors.get(id).map(|d| {
            serde_json::to_vec(&DoorV {
                zone_id: d.zone_id.clone(),
                name: d.name.clone(),
            })
        }),
        EntityRef::Employee(id) => state.employees.get(id).map(|p| {
            serde_json::to_vec(&EmployeeV {
                name: p.name.clone(),
                department: p.department.clone(),
                active: p.status == EmployeeStatus::Active,
            })
        }),
        EntityRef::Card(id) => state.cards.get(id).map(|c| {
            serde_json::to_vec(&CardV {
                employee_id: c.employee_id.to_string(),
                status: c.status.as_str().to_string(),
                valid_from: c.valid_from,
                valid_until: c.valid_until,
            })
        }),
        EntityRef::Grant(emp, zone) => state.grant(emp, zone).map(|g| {
            let schedule = match g.schedule {
                Schedule::Always => ScheduleV::Always("always".into()),
                Schedule::Window {
                    weekdays,
                    start_min,
                    end_min,
                } => ScheduleV::Window {
                    weekdays,
                    start_min,
                    end_min,
                },
            };
            serde_json::to_vec(&GrantV {
                schedule,
                granted_by: g.granted_by.clone(),
                granted_at: g.granted_at,
            })
        }),
        EntityRef::Presence(emp, zone) => {
            return state.is_inside(emp, zone).then(Vec::new);
        }
    };
    // Serializing these plain structs cannot fail.
    json.and_then(|r| r.ok())
}

/// Puts a stored entity back into `state`.
pub fn decode_into(state: &mut State, kind: &str, a: &str, b: &str, value: &[u8]) -> Result<()> {
    match kind {
        "zone" => {
            let z: ZoneV = de("zone", value, ZoneV::read)?;
            let timezone = z
                .timezone
                .parse()
                .map_err(|_| corrupt("zone", "timezone"))?;
            state.load_zone(Zone {
                zone_id: a.to_string(),
                name: z.name,
                site_id: z.site_id,
                timezone,
                capacity: z.capacity,
            });
        }
        "door" => {
            let d: DoorV = de("door", value, DoorV::read)?;
            state.load_door(Door {
                door_id: a.to_string(),
                zone_id: d.zone_id,
                name: d.name,
            });
        }
        "employee" => {
            let p: EmployeeV = de("employee", value, EmployeeV::read)?;
            state.load_employee(Employee {
                employee_id: a.to_string(),
                name: p.name,
                department: p.department,
                status: if p.active {
                    EmployeeStatus::Active
                } else {
                    EmployeeStatus::Inactive
                },
            });
        }
        "card" => {
            let c: CardV = de("card", value, CardV::read)?;
            let status = CardStatus::parse(&c.status).ok_or_else(|| corrupt("card", "status"))?;
            state.load_card(Card {
                card_id: Id::from(a),
                employee_id: Id::from(c.employee_id),
                status,
                valid_from: c.valid_from,
                valid_until: c.valid_until,
            });
        }
        "grant" => {
            let g: GrantV = de("grant", value, GrantV::read)?;
            let schedule = match g.schedule {
                ScheduleV::Always(s) if s == "always" => Schedule::Always,
                ScheduleV::Always(_) => return Err(corrupt("grant", "schedule")),
                ScheduleV::Window {
                    weekdays,
                    start_min,
                    end_min,
                } => Schedule::Window {
                    weekdays,
                    start_min,
                    end_min,
                },
            };
            state.load_grant(Grant {
                employee_id: a.to_string(),
                zone_id: b.to_string(),
                schedule,
                granted_by: g.granted_by,
                granted_at: g.granted_at,
            });
        }
        "presence" => {
            state.load_presence(a, b);
        }
        other => return Err(corrupt("entity", format!("unknown kind {other:?}"))),
    }
    Ok(())
}

/// Reads a stored value of `kind`: by `fast` when the value is laid out as
/// [`encode`] writes it (its fields in order, no spaces, no escapes), which
/// is every value this code stored; by serde_json otherwise, which also
/// names what is wrong with a corrupt one. Both read the same values alike.
fn de<'a, T: Deserialize<'a>>(
    kind: &'static str,
    value: &'a [u8],
    fast: fn(&mut Reader<'a>) -> Option<T>,
) -> Result<T> {
    let mut r = Reader { rest: value };
    match fast(&mut r) {
        Some(v) if r.rest.is_empty() => Ok(v),
        _ => serde_json::from_slice(value).map_err(|e| corrupt(kind, e)),
    }
}

/// A reader of JSON laid out exactly as expected; `None` at the first
/// byte that is not.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn lit(&mut self, text: &[u8]) -> Option<()> {
        self.rest = self.rest.strip_prefix(text)?;
        Some(())
    }

    /// A string with no escapes.
    fn str(&mut self) -> Option<&'a str> {
        let body = self.rest.strip_prefix(b"\"")?;
        let end = accesslake_model::first_json_special(body)?;
        if body[end] != b'"' {
            return None;
        }
        self.rest = &body[end + 1..];
        std::str::from_utf8(&body[..end]).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }

    /// An integer as JSON writes one: `0` or `-?[1-9][0-9]*`, in range.
    fn int<T: TryFrom<i64>>(&mut self) -> Option<T> {
        let (negative, digits) = match self.rest.strip_prefix(b"-") {
            Some(d) => (true, d),
            None => (false, self.rest),
        };
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || (digits[0] == b'0' && (len > 1 || negative)) {
            return None;
        }
        let mut n: i64 = 0;
        for &d in &digits[..len] {
            let d = i64::from(d - b'0');
            n = n
                .checked_mul(10)?
                .checked_add(if negative { -d } else { d })?;
        }
        self.rest = &digits[len..];
        T::try_from(n).ok()
    }

    fn opt_int(&mut self) -> Option<Option<i64>> {
        if self.lit(b"null").is_some() {
            return Some(None);
        }
        self.int().map(Some)
    }

    fn bool(&mut self) -> Option<bool> {
        if self.lit(b"true").is_some() {
            Some(true)
        } else {
            self.lit(b"false").map(|()| false)
        }
    }

    /// A grant's schedule: a string, or a window's three numbers.
    fn schedule(&mut self) -> Option<ScheduleV> {
        if self.rest.starts_with(b"{") {
            WindowV::read(self).map(Into::into)
        } else {
            self.string().map(ScheduleV::Always)
        }
    }
}

/// `read` for a value type: its fields in order, each read by the named
/// method of [`Reader`], as serde_json writes the type.
macro_rules! read_in_order {
    ($ty:ident { $first:ident: $how:ident $(, $field:ident: $by:ident)* }) => {
        impl $ty {
            fn read(r: &mut Reader<'_>) -> Option<$ty> {
                r.lit(concat!("{\"", stringify!($first), "\":").as_bytes())?;
                let $first = r.$how()?;
                $(
                    r.lit(concat!(",\"", stringify!($field), "\":").as_bytes())?;
                    let $field = r.$by()?;
                )*
                r.lit(b"}")?;
                Some($ty { $first $(, $field)* })
            }
        }
    };
}

read_in_order!(ZoneV {
    name: string,
    site_id: string,
    timezone: string,
    capacity: int
});
read_in_order!(DoorV {
    zone_id: string,
    name: string
});
read_in_order!(EmployeeV {
    name: string,
    department: string,
    active: bool
});
read_in_order!(CardV {
    employee_id: string,
    status: string,
    valid_from: opt_int,
    valid_until: opt_int
});
read_in_order!(GrantV {
    schedule: schedule,
    granted_by: string,
    granted_at: int
});
read_in_order!(WindowV {
    weekdays: int,
    start_min: int,
    end_min: int
});

/// Rebuilds an [`EntityRef`] from its stored kind and key parts.
pub fn entity_ref(kind: &str, a: &str, b: &str) -> Result<EntityRef> {
    EntityRef::from_parts(kind, a, b)
        .ok_or_else(|| corrupt("version", format!("unknown kind {kind:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-zA-Z0-9:/ -]{0,16}",
            1 => any::<String>(),
            1 => "[\"\\\\\u{0}-\u{1f}é😀a]{0,6}",
        ]
    }

    fn values() -> impl Strategy<Value = (&'static str, Vec<u8>)> {
        let zone = (text(), text(), text(), any::<u32>()).prop_map(
            |(name, site_id, timezone, capacity)| ZoneV {
                name,
                site_id,
                timezone,
                capacity,
            },
        );
        let door = (text(), text()).prop_map(|(zone_id, name)| DoorV { zone_id, name });
        let employee =
            (text(), text(), any::<bool>()).prop_map(|(name, department, active)| EmployeeV {
                name,
                department,
                active,
            });
        let card = (text(), text(), any::<Option<i64>>(), any::<Option<i64>>()).prop_map(
            |(employee_id, status, valid_from, valid_until)| CardV {
                employee_id,
                status,
                valid_from,
                valid_until,
            },
        );
        let schedule = prop_oneof![
            text().prop_map(ScheduleV::Always),
            (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(weekdays, start_min, end_min)| {
                ScheduleV::Window {
                    weekdays,
                    start_min,
                    end_min,
                }
            }),
        ];
        let grant =
            (schedule, text(), any::<i64>()).prop_map(|(schedule, granted_by, granted_at)| {
                GrantV {
                    schedule,
                    granted_by,
                    granted_at,
                }
            });
        let json = |v: &dyn erased::Value| v.to_vec();
        prop_oneof![
            zone.prop_map(move |v| ("zone", json(&v))),
            door.prop_map(move |v| ("door", json(&v))),
            employee.prop_map(move |v| ("employee", json(&v))),
            card.prop_map(move |v| ("card", json(&v))),
            grant.prop_map(move |v| ("grant", json(&v))),
        ]
    }

    mod erased {
        pub trait Value {
            fn to_vec(&self) -> Vec<u8>;
        }
        impl<T: serde::Serialize> Value for T {
            fn to_vec(&self) -> Vec<u8> {
                serde_json::to_vec(self).unwrap()
            }
        }
    }

    /// `de` (fast reader, then serde_json) and serde_json alone read `value`
    /// alike: the same value, or both an error. Whether the fast reader
    /// took it.
    fn agrees<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
        value: &[u8],
        fast: for<'a> fn(&mut Reader<'a>) -> Option<T>,
    ) -> std::result::Result<bool, TestCaseError> {
        let ours = de("x", value, fast).ok();
        let theirs = serde_json::from_slice::<T>(value).ok();
        prop_assert_eq!(&ours, &theirs, "{}", String::from_utf8_lossy(value));
        let mut r = Reader { rest: value };
        Ok(fast(&mut r).is_some() && r.rest.is_empty())
    }

    fn agrees_as(kind: &str, value: &[u8]) -> std::result::Result<bool, TestCaseError> {
        match kind {
            "zone" => agrees(value, ZoneV::read),
            "door" => agrees(value, DoorV::read),
            "employee" => agrees(value, EmployeeV::read),
            "card" => agrees(value, CardV::read),
            _ => agrees(value, GrantV::read),
        }
    }

    proptest! {
        #[test]
        fn the_fast_reader_reads_every_stored_value_as_serde_json_does((kind, value) in values()) {
            let fast = agrees_as(kind, &value)?;
            // Values with nothing to escape are the fast reader's own.
            let plain = !value.windows(2).any(|w| w[0] == b'\\');
            prop_assert_eq!(fast, plain, "{}", String::from_utf8_lossy(&value));
        }

        #[test]
        fn a_changed_value_is_read_as_serde_json_reads_it(
            (kind, value) in values(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![any::<u8>(), prop::sample::select(b"{}[]\",:0123456789-. ne".to_vec())],
            how in 0..3u8,
        ) {
            let mut v = value;
            let i = at.index(v.len());
            match how {
                0 => v[i] = byte,
                1 => { v.remove(i); }
                _ => v.insert(i, byte),
            }
            agrees_as(kind, &v)?;
        }
    }

    #[test]
    fn integers_are_read_as_json_writes_them() {
        for (text, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-7", Some(-7)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("-0", None),
            ("01", None),
            ("-", None),
            ("", None),
            ("+1", None),
        ] {
            let mut r = Reader {
                rest: text.as_bytes(),
            };
            let got: Option<i64> = r.int();
            assert_eq!(got, want, "{text}");
            if got.is_some() {
                assert!(r.rest.is_empty(), "{text}");
            }
        }
        let mut r = Reader { rest: b"256" };
        assert_eq!(r.int::<u8>(), None);
    }

    fn grant(schedule: Schedule) -> Grant {
        Grant {
            employee_id: "e1".into(),
            zone_id: "lab".into(),
            schedule,
            granted_by: "facilities".into(),
            granted_at: 1_772_438_462_000_000,
        }
    }

    fn decoded_grant(value: &[u8]) -> Result<Grant> {
        let mut state = State::default();
        decode_into(&mut state, "grant", "e1", "lab", value)?;
        Ok(state.grant("e1", "lab").cloned().expect("decoded grant"))
    }

    #[test]
    fn loaded_cards_zones_and_employees_come_back_with_their_hints() {
        let mut state = State::default();
        state.put_zone(Zone {
            zone_id: "z1".into(),
            name: "Lab".into(),
            site_id: "s".into(),
            timezone: chrono_tz::Europe::London,
            capacity: 4,
        });
        for (employee, card) in [("e1", "c1"), ("e2", "c2")] {
            state.put_employee(Employee {
                employee_id: employee.into(),
                name: employee.into(),
                department: "ops".into(),
                status: EmployeeStatus::Active,
            });
            state.put_card(Card {
                card_id: card.into(),
                employee_id: employee.into(),
                status: CardStatus::Active,
                valid_from: None,
                valid_until: None,
            });
        }
        // Read back kind by kind in name order, as the stores do: cards
        // before the employees who hold them.
        let mut loaded = State::default();
        let mut stored = state.take_dirty();
        stored.sort_by_key(|e| e.kind());
        assert_eq!(stored[0].kind(), "card");
        for e in stored {
            let (a, b) = e.key();
            let value = encode(&state, &e).unwrap();
            decode_into(&mut loaded, e.kind(), a, b, &value).unwrap();
        }
        assert_eq!(loaded, state);
        assert!(loaded.hints_complete());
    }

    #[test]
    fn grants_keep_their_stored_form_and_come_back() {
        let window = Schedule::Window {
            weekdays: 0b001_1111,
            start_min: 420,
            end_min: 1140,
        };
        for (schedule, text) in [
            (
                Schedule::Always,
                r#"{"schedule":"always","granted_by":"facilities","granted_at":1772438462000000}"#,
            ),
            (
                window,
                r#"{"schedule":{"weekdays":31,"start_min":420,"end_min":1140},"granted_by":"facilities","granted_at":1772438462000000}"#,
            ),
        ] {
            let mut state = State::default();
            state.load_grant(grant(schedule));
            let e = EntityRef::Grant("e1".into(), "lab".into());
            let bytes = encode(&state, &e).expect("a grant's value");
            assert_eq!(std::str::from_utf8(&bytes).unwrap(), text);
            assert_eq!(decoded_grant(&bytes).unwrap(), grant(schedule));
        }
    }

    #[test]
    fn a_window_reads_in_any_field_order_and_ignores_added_fields() {
        let g = decoded_grant(
            br#"{"granted_at":5,"schedule":{"end_min":60,"note":"x","weekdays":1,"start_min":0},"granted_by":"a"}"#,
        )
        .unwrap();
        let want = Schedule::Window {
            weekdays: 1,
            start_min: 0,
            end_min: 60,
        };
        assert_eq!(g.schedule, want);
    }

    #[test]
    fn a_bad_schedule_is_a_corrupt_grant() {
        for value in [
            r#"{"schedule":"sometimes","granted_by":"a","granted_at":1}"#,
            r#"{"schedule":7,"granted_by":"a","granted_at":1}"#,
            r#"{"schedule":null,"granted_by":"a","granted_at":1}"#,
            r#"{"schedule":["always"],"granted_by":"a","granted_at":1}"#,
            r#"{"schedule":{"weekdays":1,"start_min":0},"granted_by":"a","granted_at":1}"#,
            r#"{"schedule":{"weekdays":256,"start_min":0,"end_min":1},"granted_by":"a","granted_at":1}"#,
            r#"{"schedule":{"weekdays":1,"start_min":-1,"end_min":1},"granted_by":"a","granted_at":1}"#,
            r#"{"granted_by":"a","granted_at":1}"#,
            r#"{"schedule":"always","granted_by":"a","granted_at":1"#,
        ] {
            match decoded_grant(value.as_bytes()) {
                Err(Error::Corrupt { kind: "grant", .. }) => {}
                other => panic!("{value}: {other:?}"),
            }
        }
    }
}
