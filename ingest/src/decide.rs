//! The decision rules of SPEC 3, as a pure function of the state and one scan.

use accesslake_model::{
    CardStatus, Decision, Direction, EmployeeStatus, EntryEvent, LocalTime, Micros, Reason,
    Schedule, Zone,
};
use chrono::{DateTime, Datelike, Timelike};

use crate::state::State;

/// Zone-local wall-clock reading of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalClock {
    pub local: LocalTime,
    /// Minutes since local midnight.
    pub minute_of_day: u16,
}

/// Reads `t` on the wall clocks of `zone`'s timezone.
pub fn local_clock(zone: &Zone, t: Micros) -> LocalClock {
    let utc = DateTime::from_timestamp_micros(t).unwrap_or_default();
    let local = utc.with_timezone(&zone.timezone);
    LocalClock {
        local: LocalTime {
            date: local.date_naive(),
            hour: local.hour() as i8,
            weekday: local.weekday().number_from_monday() as i8,
        },
        minute_of_day: (local.hour() * 60 + local.minute()) as u16,
    }
}

/// Whether a schedule admits a zone-local weekday and minute of day (SPEC 3.1).
pub fn schedule_allows(schedule: &Schedule, weekday: i8, minute_of_day: u16) -> bool {
    match *schedule {
        Schedule::Always => true,
        Schedule::Window {
            weekdays,
            start_min,
            end_min,
        } => {
            let listed = |d: i8| weekdays & (1u8 << d) != 0;
            if start_min < end_min {
                listed(weekday) && start_min <= minute_of_day && minute_of_day < end_min
            } else {
                // Overnight: from `start` on a listed day to `end` on the next day.
                let previous = if weekday == 1 { 7 } else { weekday - 1 };
                (listed(weekday) && minute_of_day >= start_min)
                    || (listed(previous) && minute_of_day < end_min)
            }
        }
    }
}

/// Decides one scan. Rules are tried in the order of SPEC 3; the first match wins.
pub fn decide(state: &State, ev: &EntryEvent, processed_at: Micros) -> Decision {
    decide_owned(state, ev.clone(), processed_at)
}

/// [`decide`] taking the scan by value: its ids move into the decision
/// instead of being copied.
pub fn decide_owned(state: &State, ev: EntryEvent, processed_at: Micros) -> Decision {
    let card = state.cards.get(&ev.card_id);
    let holder = card.map(|c| c.employee_id.as_str());
    let door_zone = state
        .doors
        .get(&ev.door_id)
        .and_then(|d| state.zones.get(&d.zone_id));
    let clock = door_zone.map(|z| local_clock(z, ev.occurred_at));

    let (reason, presence_change) = match (door_zone, clock) {
        (Some(zone), Some(clock)) => rules_at_known_door(state, &ev, zone, clock, card),
        _ => (Reason::UnknownDoor, 0),
    };

    Decision {
        event_id: ev.event_id,
        occurred_at: ev.occurred_at,
        processed_at,
        site_id: door_zone.map(|z| z.site_id.clone()),
        zone_id: door_zone.map(|z| z.zone_id.clone()),
        door_id: ev.door_id,
        card_id: ev.card_id,
        employee_id: holder.map(str::to_string),
        direction: ev.direction,
        outcome: reason.outcome(),
        reason,
        presence_change,
        local: clock.map(|c| c.local),
    }
}

fn rules_at_known_door(
    state: &State,
    ev: &EntryEvent,
    zone: &Zone,
    clock: LocalClock,
    card: Option<&crate::state::Card>,
) -> (Reason, i8) {
    if ev.direction == Direction::Out {
        let inside = card.is_some_and(|c| state.is_inside(&c.employee_id, &zone.zone_id));
        return (Reason::Egress, if inside { -1 } else { 0 });
    }
    let Some(card) = card else {
        return (Reason::UnknownCard, 0);
    };
    let status_reason = match card.status {
        CardStatus::Active => None,
        CardStatus::Lost => Some(Reason::CardLost),
        CardStatus::Stolen => Some(Reason::CardStolen),
        CardStatus::Revoked | CardStatus::Destroyed => Some(Reason::CardRevoked),
        CardStatus::Expired => Some(Reason::CardExpired),
    };
    if let Some(r) = status_reason {
        return (r, 0);
    }
    if card.valid_from.is_some_and(|from| ev.occurred_at < from) {
        return (Reason::CardNotYetValid, 0);
    }
    if card
        .valid_until
        .is_some_and(|until| ev.occurred_at >= until)
    {
        return (Reason::CardExpired, 0);
    }
    let active = state
        .employees
        .get(&card.employee_id)
        .is_some_and(|e| e.status == EmployeeStatus::Active);
    if !active {
        return (Reason::EmployeeInactive, 0);
    }
    let Some(grant) = state.grant(&card.employee_id, &zone.zone_id) else {
        return (Reason::NoAccess, 0);
    };
    if !schedule_allows(&grant.schedule, clock.local.weekday, clock.minute_of_day) {
        return (Reason::OutsideSchedule, 0);
    }
    if state.is_inside(&card.employee_id, &zone.zone_id) {
        return (Reason::AntiPassback, 0);
    }
    (Reason::Ok, 1)
}

/// Applies a decision's presence change to the state.
pub fn apply_presence(state: &mut State, d: &Decision) {
    if let (Some(emp), Some(zone)) = (&d.employee_id, &d.zone_id) {
        match d.presence_change {
            1 => state.set_inside(emp, zone, true),
            -1 => state.set_inside(emp, zone, false),
            _ => {}
        }
    }
}
