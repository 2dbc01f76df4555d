//! The decision rules of SPEC 3, as a pure function of the state and one scan.

use accesslake_model::{
    CardStatus, Decision, Direction, EmployeeStatus, EntryEvent, Id, IdNumbers, LocalTime, Micros,
    Reason, Schedule, Zone,
};
use chrono::{DateTime, Datelike, Timelike};

use crate::state::{Pair, State, Sym};

/// Zone-local wall-clock reading of an instant: one aligned word, which a
/// decision keeps in a register. As a [`LocalTime`] and a minute (12
/// bytes) it went through the stack in pieces that were then read back as
/// words spanning them, a load the processor cannot take from its pending
/// stores: 19 % of `decide_pair`'s samples on two such loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct LocalClock {
    pub date: chrono::NaiveDate,
    pub hour: i8,
    /// ISO weekday, 1 = Monday.
    pub weekday: i8,
    /// Minutes since local midnight.
    pub minute_of_day: u16,
}

impl LocalClock {
    /// The calendar fields a decision keeps.
    pub fn local(&self) -> LocalTime {
        LocalTime {
            date: self.date,
            hour: self.hour,
            weekday: self.weekday,
        }
    }
}

/// Reads `t` on the wall clocks of `zone`'s timezone.
pub fn local_clock(zone: &Zone, t: Micros) -> LocalClock {
    let utc = DateTime::from_timestamp_micros(t).unwrap_or_default();
    let local = utc.with_timezone(&zone.timezone);
    LocalClock {
        date: local.date_naive(),
        hour: local.hour() as i8,
        weekday: local.weekday().number_from_monday() as i8,
        minute_of_day: (local.hour() * 60 + local.minute()) as u16,
    }
}

/// Remembers, per timezone, the UTC offset in force over the quarter hour
/// of the last instant read, so that the scans of a busy door (many per
/// quarter hour) are read on the local clock with integer arithmetic instead
/// of a timezone lookup each.
///
/// A quarter hour is cached only when the offset at its first and its last
/// microsecond agree, i.e. no transition falls inside it (the timezone
/// database has no two transitions within 15 minutes of each other).
#[derive(Debug, Default)]
pub(crate) struct ClockCache {
    quarters: Vec<Quarter>,
}

#[derive(Debug)]
struct Quarter {
    tz: chrono_tz::Tz,
    /// First microsecond of the quarter hour (UTC).
    start: Micros,
    offset: Micros,
    /// The local day last read in this quarter: days since 1970-01-01 and its date.
    day: (i64, chrono::NaiveDate),
}

const QUARTER_HOUR: Micros = 15 * 60 * 1_000_000;

impl ClockCache {
    /// [`local_clock`], from the cache when it can be. In line in a
    /// scan's decision, the cache's misses out of line.
    #[inline(always)]
    pub(crate) fn read(&mut self, zone: &Zone, t: Micros) -> LocalClock {
        let start = t.div_euclid(QUARTER_HOUR) * QUARTER_HOUR;
        let i = match self.quarters.iter().position(|q| q.tz == zone.timezone) {
            Some(i) if self.quarters[i].start == start => i,
            found => match self.enter(zone, start, found) {
                Some(i) => i,
                None => return local_clock(zone, t),
            },
        };
        let q = &mut self.quarters[i];
        let local_s = (t + q.offset).div_euclid(1_000_000);
        let (days, second) = (local_s.div_euclid(86_400), local_s.rem_euclid(86_400));
        if q.day.0 != days && !q.enter_day(days) {
            return local_clock(zone, t);
        }
        LocalClock {
            date: q.day.1,
            hour: (second / 3600) as i8,
            // 1970-01-01 was a Thursday (ISO weekday 4).
            weekday: ((days + 3).rem_euclid(7) + 1) as i8,
            minute_of_day: (second / 60) as u16,
        }
    }

    /// Caches the quarter hour from `start` of `zone`'s timezone, in place
    /// of the one `found` (the timezone's cached quarter, if any); `None`
    /// when a transition falls inside it.
    #[cold]
    #[inline(never)]
    fn enter(&mut self, zone: &Zone, start: Micros, found: Option<usize>) -> Option<usize> {
        let offset_at = |u: Micros| {
            let utc = DateTime::from_timestamp_micros(u).unwrap_or_default();
            let local = utc.with_timezone(&zone.timezone).naive_local();
            (local.and_utc() - utc).num_microseconds().unwrap_or(0)
        };
        let offset = offset_at(start);
        if offset != offset_at(start + QUARTER_HOUR - 1) {
            return None;
        }
        let q = Quarter {
            tz: zone.timezone,
            start,
            offset,
            day: (i64::MIN, chrono::NaiveDate::MIN),
        };
        Some(match found {
            Some(i) => {
                self.quarters[i] = q;
                i
            }
            None => {
                self.quarters.push(q);
                self.quarters.len() - 1
            }
        })
    }
}

impl Quarter {
    /// Sets the local day read: `days` since 1970-01-01; false for a day
    /// out of the calendar's range.
    #[cold]
    #[inline(never)]
    fn enter_day(&mut self, days: i64) -> bool {
        // 719,163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
        let date = i32::try_from(days + 719_163)
            .ok()
            .and_then(chrono::NaiveDate::from_num_days_from_ce_opt);
        match date {
            Some(date) => {
                self.day = (days, date);
                true
            }
            None => false,
        }
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
    decide_pair(state, &mut ClockCache::default(), ev, processed_at).0
}

/// [`decide`], also returning the (employee, zone) pair of the scan when
/// the state knows it, for [`apply_presence_pair`].
///
/// The scan is borrowed and its ids copied into the decision (they are
/// inline [`accesslake_model::Id`]s as a rule, copies of 24 to 40 bytes).
/// Taken by value, each scan was first copied out of the chunk's vector
/// onto the stack, in pieces that the card id's hash then read across:
/// a load the processor could not serve from the pending stores, which
/// stalled every decision.
pub(crate) fn decide_pair(
    state: &State,
    clocks: &mut ClockCache,
    ev: &EntryEvent,
    processed_at: Micros,
) -> (Decision, Option<Pair>) {
    let number = |n: Option<usize>| n.and_then(|n| u32::try_from(n).ok());
    let card = state.card_with_holder(ev.card_id.as_str());
    let door = state.doors.get_numbered(ev.door_id.as_str());
    let zone = door.and_then(|(n, d)| state.zone_of_door(n, d));
    let holder_sym = card.and_then(|(_, _, h)| h);
    let card = card.map(|(n, c, _)| (n, c));
    let zone_sym = zone.and_then(|(n, z)| state.zone_sym(n, z));
    let pair = holder_sym.zip(zone_sym).map(|(e, z)| Pair::new(e, z));
    let (card_number, card) = (number(card.map(|c| c.0)), card.map(|c| c.1));
    let (zone_number, door_zone) = (number(zone.map(|z| z.0)), zone.map(|z| z.1));
    let clock = door_zone.map(|z| clocks.read(z, ev.occurred_at));
    let numbers = IdNumbers {
        zone: zone_number.unwrap_or(IdNumbers::NONE),
        door: number(door.map(|d| d.0)).unwrap_or(IdNumbers::NONE),
        card: card_number.unwrap_or(IdNumbers::NONE),
        employee: number(holder_sym.map(Sym::number)).unwrap_or(IdNumbers::NONE),
    };

    // The pair's grant and presence are read here (one lookup), before the
    // rules that may not need them: the lookup then waits on memory
    // alongside the card's and the holder's instead of after them. A way
    // out needs no grant.
    let (schedule, inside) = pair.map_or((None, false), |p| state.schedule_and_presence(p));
    let schedule = schedule.filter(|_| ev.direction == Direction::In);
    let (reason, presence_change) = match clock {
        Some(clock) => rules_at_known_door(state, ev, clock, card, holder_sym, schedule, inside),
        None => (Reason::UnknownDoor, 0),
    };

    let decision = Decision {
        event_id: ev.event_id.clone(),
        occurred_at: ev.occurred_at,
        processed_at,
        site_id: door_zone.map(|z| Id::from(z.site_id.as_str())),
        zone_id: door_zone.map(|z| Id::from(z.zone_id.as_str())),
        door_id: ev.door_id.clone(),
        card_id: ev.card_id.clone(),
        employee_id: card.map(|c| c.employee_id.clone()),
        direction: ev.direction,
        outcome: reason.outcome(),
        reason,
        presence_change,
        local: clock.map(|c| c.local()),
        numbers,
    };
    (decision, pair)
}

/// The rules after the door is known. `holder` is the card holder's
/// interned id, `None` for an unknown card or when the state never named
/// the holder; `schedule` (of the grant) and `inside` are those of the
/// holder's (employee, zone) pair, none and false when the state never
/// named the pair.
fn rules_at_known_door(
    state: &State,
    ev: &EntryEvent,
    clock: LocalClock,
    card: Option<&crate::state::Card>,
    holder: Option<Sym>,
    schedule: Option<Schedule>,
    inside: bool,
) -> (Reason, i8) {
    if ev.direction == Direction::Out {
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
    let employee = match holder {
        Some(s) => state.employee_of(s),
        None => state.employees.get(&card.employee_id),
    };
    let active = employee.is_some_and(|e| e.status == EmployeeStatus::Active);
    if !active {
        return (Reason::EmployeeInactive, 0);
    }
    let Some(schedule) = schedule else {
        return (Reason::NoAccess, 0);
    };
    if !schedule_allows(&schedule, clock.weekday, clock.minute_of_day) {
        return (Reason::OutsideSchedule, 0);
    }
    if inside {
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

/// [`apply_presence`] with the pair [`decide_pair`] returned: no id lookups.
pub(crate) fn apply_presence_pair(state: &mut State, pair: Option<Pair>, d: &Decision) {
    if let Some(p) = pair
        && d.presence_change != 0
    {
        state.set_inside_pair(p, d.presence_change > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn zone(tz: &str) -> Zone {
        Zone {
            zone_id: tz.into(),
            name: tz.into(),
            site_id: "s".into(),
            timezone: tz.parse().unwrap(),
            capacity: 1,
        }
    }

    /// Zones with DST (both hemispheres, a 30-minute shift), quarter-hour
    /// offsets and none at all.
    const ZONES: [&str; 7] = [
        "Europe/London",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "America/Santiago",
        "UTC",
    ];

    /// 2026-03-29T00:00:00Z, the night Europe/London moves to summer time.
    const NEAR_DST: Micros = 1_774_742_400_000_000;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Walks of scans in small steps across several timezones, some
        /// through the night of a transition: the cache reads every instant
        /// as the timezone lookup does.
        #[test]
        fn cached_clock_is_the_timezone_lookup(
            start in prop_oneof![
                Just(NEAR_DST - 3_600_000_000),
                -2_000_000_000_000_000i64..4_000_000_000_000_000,
                (0i64..365).prop_map(|d| 1_767_225_600_000_000 + d * 86_400_000_000),
            ],
            steps in prop::collection::vec((0usize..ZONES.len(), 0i64..1_200_000_000), 1..200),
        ) {
            let zones: Vec<Zone> = ZONES.iter().map(|z| zone(z)).collect();
            let mut cache = ClockCache::default();
            let mut t = start;
            for (z, step) in steps {
                t += step;
                prop_assert_eq!(cache.read(&zones[z], t), local_clock(&zones[z], t), "{} at {}", ZONES[z], t);
            }
        }
    }

    #[test]
    fn a_transition_inside_a_quarter_hour_is_read_without_the_cache() {
        // Liberia left Monrovia Mean Time (-0:44:30) for UTC at 00:00 local
        // on 1972-01-07, i.e. 00:44:30 UTC: in the middle of a quarter hour.
        let monrovia = zone("Africa/Monrovia");
        let change: Micros = 63_593_070_000_000;
        let mut cache = ClockCache::default();
        for second in (-1200..1200).step_by(30) {
            let t = change + second * 1_000_000;
            let want = local_clock(&monrovia, t);
            assert_eq!(cache.read(&monrovia, t), want, "{second} s from the change");
            // Before: 1972-01-06 23:xx local; after: 1972-01-07 00:44 on.
            assert_eq!(want.date.day(), if second < 0 { 6 } else { 7 });
        }
    }
}
