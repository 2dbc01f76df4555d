//! Hive-style partitioning (SPEC 4), as pure functions: rows → `dt` groups,
//! and (table, dt, file name) → object key. Only validated parts reach a key,
//! so no input can address anything outside its partition.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use accesslake_model::{DAY_MICROS, Micros, Table, utc_day};
use chrono::{Datelike, NaiveDate};
use object_store::path::Path;

use crate::rows::LakeRow;
use crate::{Error, Result};

/// One partition of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    pub table: Table,
    pub dt: NaiveDate,
}

impl PartitionKey {
    /// `<table>/dt=YYYY-MM-DD`
    pub fn prefix(&self) -> Result<Path> {
        let dt = dt_string(self.dt)?;
        Ok(Path::from(format!("{}/dt={dt}", self.table.name())))
    }
}

/// `YYYY-MM-DD` for years 0–9999; other years cannot name a partition.
pub fn dt_string(dt: NaiveDate) -> Result<String> {
    if !(0..=9999).contains(&dt.year()) {
        return Err(Error::UnsafeKey(
            dt.to_string(),
            "dt year outside 0000-9999",
        ));
    }
    Ok(accesslake_model::format_date(dt))
}

/// Groups rows by their `dt`, each group in the order given (a file's
/// order is [`LakeRow::sort_order`]).
///
/// Rows arrive nearly in time order, so a row almost always falls on the UTC
/// day of the row before it: that day's group stays at hand, and only a
/// change of day looks a group up.
pub fn partition_days<R: LakeRow>(rows: &[R]) -> BTreeMap<NaiveDate, Vec<&R>> {
    let mut days = Days::default();
    for (at, r) in rows.iter().enumerate() {
        days.add(at, r.partition_time());
    }
    days.groups(rows)
}

/// [`partition_days`] fed one row at a time, for a caller that passes
/// over the rows for work of its own.
#[derive(Default)]
pub(crate) struct Days {
    /// Each day's rows by their places in the rows given.
    days: Vec<(i64, Vec<usize>)>,
    index: HashMap<i64, usize>,
    /// The instants of the day of the row before, `[start, end)`, and its
    /// group's place in `days`.
    current: Option<(Micros, Micros, usize)>,
}

impl Days {
    /// Adds the row at place `at` of the rows, whose partition time is
    /// `time`. A row on the day of the row before is told by two
    /// comparisons; a change of day looks its group up.
    #[inline(always)]
    pub(crate) fn add(&mut self, at: usize, time: Micros) {
        if let Some((start, end, c)) = self.current
            && start <= time
            && time < end
            && let Some((_, g)) = self.days.get_mut(c)
        {
            g.push(at);
        } else {
            self.add_on_another_day(at, time);
        }
    }

    #[cold]
    #[inline(never)]
    fn add_on_another_day(&mut self, at: usize, time: Micros) {
        let day = utc_day(time);
        let days = &mut self.days;
        let c = *self.index.entry(day).or_insert_with(|| {
            days.push((day, Vec::new()));
            days.len() - 1
        });
        // The day's instants, where they can be told apart from the days
        // around them; at the ends of time, none (each row looks its day up).
        let start = day.checked_mul(DAY_MICROS);
        let end = start.and_then(|s| s.checked_add(DAY_MICROS));
        self.current = start.zip(end).map(|(s, e)| (s, e, c));
        if let Some((_, g)) = self.days.get_mut(c) {
            g.push(at);
        }
    }

    /// The groups of `rows`, every one of which was added by its place.
    pub(crate) fn groups<R: LakeRow>(self, rows: &[R]) -> BTreeMap<NaiveDate, Vec<&R>> {
        let mut groups: BTreeMap<NaiveDate, Vec<usize>> = BTreeMap::new();
        for (_, g) in self.days {
            // Days beyond the calendar's range share its first or last date:
            // their rows are put back in the order given.
            let Some(first) = g.first().and_then(|&at| rows.get(at)) else {
                continue;
            };
            match groups.entry(first.dt()) {
                Entry::Vacant(e) => {
                    e.insert(g);
                }
                Entry::Occupied(mut e) => {
                    e.get_mut().extend(g);
                    e.get_mut().sort_unstable();
                }
            }
        }
        groups
            .into_iter()
            .map(|(dt, g)| (dt, g.into_iter().filter_map(|at| rows.get(at)).collect()))
            .collect()
    }
}

/// The object key of a data file: `<table>/dt=YYYY-MM-DD/<file_name>`.
/// File names are restricted to `[A-Za-z0-9._-]`, not starting with `.` or `_`
/// (which readers treat as hidden).
pub fn file_key(key: PartitionKey, file_name: &str) -> Result<Path> {
    let ok_chars = file_name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if file_name.is_empty()
        || !ok_chars
        || file_name.starts_with(['.', '_'])
        || file_name.len() > 200
    {
        return Err(Error::UnsafeKey(file_name.to_string(), "file name"));
    }
    Ok(Path::from(format!("{}/{file_name}", key.prefix()?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use accesslake_model::{Rejected, Source, parse_rfc3339};

    fn rej(t: &str, r: &str) -> Rejected {
        Rejected::new(
            parse_rfc3339(t).unwrap(),
            Source::File,
            r.into(),
            "e".into(),
            b"x",
        )
    }

    #[test]
    fn groups_by_utc_date_in_the_order_given() {
        let rows = vec![
            rej("2026-03-02T23:59:59.999999Z", "b"),
            rej("2026-03-03T00:00:00Z", "c"),
            rej("2026-03-02T00:00:00+01:00", "a"),
            rej("2026-03-02T00:00:00Z", "a2"),
        ];
        let g = partition_days(&rows);
        let keys: Vec<String> = g.keys().map(|d| d.to_string()).collect();
        assert_eq!(keys, ["2026-03-01", "2026-03-02", "2026-03-03"]);
        let day2 = &g[&NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()];
        let names: Vec<&str> = day2.iter().map(|r| r.source_ref.as_str()).collect();
        assert_eq!(names, ["b", "a2"]);
        // The file's order: by time.
        assert_eq!(Rejected::sort_order(day2), [1, 0]);
    }

    proptest::proptest! {
        /// Grouping by the day at hand gives the groups, and the order in
        /// each, of grouping every row by its date: times in any order, on
        /// many days, and beyond the calendar's range at either end.
        #[test]
        fn grouping_by_the_day_at_hand_is_grouping_by_date(times in proptest::collection::vec(
            proptest::prop_oneof![
                8 => 0i64..5 * 86_400_000_000,
                1 => proptest::sample::select(vec![i64::MIN, i64::MIN + 1, i64::MAX, -1, 86_400_000_000 - 1]),
                1 => proptest::num::i64::ANY,
            ],
            0..200,
        )) {
            let rows: Vec<Rejected> = times
                .iter()
                .enumerate()
                .map(|(n, t)| Rejected::new(*t, Source::File, (n % 3).to_string(), "e".into(), b"x"))
                .collect();
            let mut want: BTreeMap<NaiveDate, Vec<&Rejected>> = BTreeMap::new();
            for r in &rows {
                want.entry(r.dt()).or_default().push(r);
            }
            let got = partition_days(&rows);
            let names = |m: &BTreeMap<NaiveDate, Vec<&Rejected>>| -> Vec<(NaiveDate, Vec<*const Rejected>)> {
                m.iter().map(|(d, g)| (*d, g.iter().map(|r| *r as *const Rejected).collect())).collect()
            };
            proptest::prop_assert_eq!(names(&got), names(&want));
        }
    }

    #[test]
    fn keys_are_confined_to_their_partition() {
        let key = PartitionKey {
            table: Table::Decisions,
            dt: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        };
        assert_eq!(
            file_key(key, "part-abc-0001.parquet").unwrap().as_ref(),
            "decisions/dt=2026-03-02/part-abc-0001.parquet"
        );
        for bad in ["", "../x", "a/b", ".hidden", "_tmp", "x\0y", "a%2Fb", "é"] {
            assert!(file_key(key, bad).is_err(), "{bad:?}");
        }
        let far = PartitionKey {
            table: Table::Rejected,
            dt: NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap(),
        };
        assert!(far.prefix().is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_accepted_name_stays_in_its_partition(name in "\\PC{0,40}", days in 0i64..3_000_000) {
            let dt = NaiveDate::from_num_days_from_ce_opt(days as i32).unwrap();
            let key = PartitionKey { table: Table::AdminEvents, dt };
            if let Ok(path) = file_key(key, &name) {
                let parts: Vec<_> = path.parts().collect();
                proptest::prop_assert_eq!(parts.len(), 3);
                proptest::prop_assert_eq!(parts[0].as_ref(), "admin_events");
                proptest::prop_assert!(parts[1].as_ref().starts_with("dt="));
                proptest::prop_assert_eq!(parts[2].as_ref(), name.as_str());
            }
        }
    }
}
