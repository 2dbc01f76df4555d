//! Admin-event semantics of SPEC 2.2 and 3.1: stale check, unknown-entity
//! check, then the change. Duplicates are filtered before this by event_id.

use accesslake_model::{AdminData, AdminEvent, AdminRecord, CardStatus, Id, Micros};

use crate::state::{Card, EntityRef, Grant, State};

/// The entity an admin event versions.
pub fn entity_of(data: &AdminData) -> EntityRef {
    let (kind, a, b) = data.entity();
    // `AdminData::entity` names only kinds `from_parts` knows.
    EntityRef::from_parts(kind, a, b).unwrap_or_else(|| EntityRef::Grant(a.into(), b.into()))
}

/// Checks and applies one (non-duplicate) admin event; returns its `admin_events` row.
pub fn apply_admin(state: &mut State, ev: &AdminEvent, received_at: Micros) -> AdminRecord {
    let entity = entity_of(&ev.data);
    let error = check(state, ev, &entity);
    if error.is_none() {
        apply(state, ev);
        state.set_version(entity.clone(), ev.occurred_at);
        state.touch(entity);
    }
    AdminRecord {
        event_id: ev.event_id.clone(),
        occurred_at: ev.occurred_at,
        received_at,
        actor: ev.actor.clone(),
        admin_type: ev.data.admin_type(),
        entity_id: ev.data.entity_id(),
        payload: ev.payload.clone(),
        applied: error.is_none(),
        error,
    }
}

fn check(state: &State, ev: &AdminEvent, entity: &EntityRef) -> Option<&'static str> {
    if state
        .versions
        .get(entity)
        .is_some_and(|&last| ev.occurred_at < last)
    {
        return Some("stale");
    }
    match &ev.data {
        AdminData::ZoneUpserted(_) | AdminData::EmployeeUpserted(_) => None,
        AdminData::DoorUpserted(d) => {
            (!state.zones.contains_key(&d.zone_id)).then_some("unknown_zone")
        }
        AdminData::CardIssued { employee_id, .. } => {
            (!state.employees.contains_key(employee_id)).then_some("unknown_employee")
        }
        AdminData::CardStatusChanged { card_id, .. } => {
            (!state.cards.contains_key(card_id)).then_some("unknown_card")
        }
        AdminData::AccessGranted {
            employee_id,
            zone_id,
            ..
        }
        | AdminData::AccessRevoked {
            employee_id,
            zone_id,
        } => {
            if !state.employees.contains_key(employee_id) {
                Some("unknown_employee")
            } else if !state.zones.contains_key(zone_id) {
                Some("unknown_zone")
            } else {
                None
            }
        }
    }
}

fn apply(state: &mut State, ev: &AdminEvent) {
    match &ev.data {
        AdminData::ZoneUpserted(z) => state.put_zone(z.clone()),
        AdminData::DoorUpserted(d) => state.put_door(d.clone()),
        AdminData::EmployeeUpserted(e) => state.put_employee(e.clone()),
        AdminData::CardIssued {
            card_id,
            employee_id,
            valid_from,
            valid_until,
        } => state.put_card(Card {
            card_id: Id::from(card_id.as_str()),
            employee_id: Id::from(employee_id.as_str()),
            status: CardStatus::Active,
            valid_from: *valid_from,
            valid_until: *valid_until,
        }),
        AdminData::CardStatusChanged { card_id, status } => {
            if let Some(mut card) = state.cards.get(card_id).cloned() {
                card.status = *status;
                state.put_card(card);
            }
        }
        AdminData::AccessGranted {
            employee_id,
            zone_id,
            schedule,
        } => state.put_grant(Grant {
            employee_id: employee_id.clone(),
            zone_id: zone_id.clone(),
            schedule: *schedule,
            granted_by: ev.actor.clone(),
            granted_at: ev.occurred_at,
        }),
        AdminData::AccessRevoked {
            employee_id,
            zone_id,
        } => state.remove_grant(employee_id, zone_id),
    }
}
