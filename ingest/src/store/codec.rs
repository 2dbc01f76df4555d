//! How state entities are encoded as values in a key-value store: compact JSON,
//! so a store can be inspected with ordinary tools and evolves by adding fields.

use accesslake_model::{CardStatus, Door, Employee, EmployeeStatus, Micros, Schedule, Zone};
use serde::{Deserialize, Serialize};

use crate::state::{Card, EntityRef, Grant, State};
use crate::{Error, Result};

#[derive(Serialize, Deserialize)]
struct ZoneV {
    name: String,
    site_id: String,
    timezone: String,
    capacity: u32,
}

#[derive(Serialize, Deserialize)]
struct DoorV {
    zone_id: String,
    name: String,
}

#[derive(Serialize, Deserialize)]
struct EmployeeV {
    name: String,
    department: String,
    active: bool,
}

#[derive(Serialize, Deserialize)]
struct CardV {
    employee_id: String,
    status: String,
    valid_from: Option<Micros>,
    valid_until: Option<Micros>,
}

#[derive(Serialize, Deserialize)]
struct GrantV {
    schedule: ScheduleV,
    granted_by: String,
    granted_at: Micros,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ScheduleV {
    Always(String),
    Window {
        weekdays: u8,
        start_min: u16,
        end_min: u16,
    },
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
                employee_id: c.employee_id.clone(),
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
    fn de<'a, T: Deserialize<'a>>(kind: &'static str, v: &'a [u8]) -> Result<T> {
        serde_json::from_slice(v).map_err(|e| corrupt(kind, e))
    }
    match kind {
        "zone" => {
            let z: ZoneV = de("zone", value)?;
            let timezone = z
                .timezone
                .parse()
                .map_err(|_| corrupt("zone", "timezone"))?;
            state.zones.insert(
                a.to_string(),
                Zone {
                    zone_id: a.to_string(),
                    name: z.name,
                    site_id: z.site_id,
                    timezone,
                    capacity: z.capacity,
                },
            );
        }
        "door" => {
            let d: DoorV = de("door", value)?;
            state.doors.insert(
                a.to_string(),
                Door {
                    door_id: a.to_string(),
                    zone_id: d.zone_id,
                    name: d.name,
                },
            );
        }
        "employee" => {
            let p: EmployeeV = de("employee", value)?;
            state.employees.insert(
                a.to_string(),
                Employee {
                    employee_id: a.to_string(),
                    name: p.name,
                    department: p.department,
                    status: if p.active {
                        EmployeeStatus::Active
                    } else {
                        EmployeeStatus::Inactive
                    },
                },
            );
        }
        "card" => {
            let c: CardV = de("card", value)?;
            let status = CardStatus::parse(&c.status).ok_or_else(|| corrupt("card", "status"))?;
            state.cards.insert(
                a.to_string(),
                Card {
                    card_id: a.to_string(),
                    employee_id: c.employee_id,
                    status,
                    valid_from: c.valid_from,
                    valid_until: c.valid_until,
                },
            );
        }
        "grant" => {
            let g: GrantV = de("grant", value)?;
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

/// Rebuilds an [`EntityRef`] from its stored kind and key parts.
pub fn entity_ref(kind: &str, a: &str, b: &str) -> Result<EntityRef> {
    EntityRef::from_parts(kind, a, b)
        .ok_or_else(|| corrupt("version", format!("unknown kind {kind:?}")))
}
