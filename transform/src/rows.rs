//! Rows → Arrow record batches, column by column in schema order.

use std::collections::HashMap;
use std::sync::Arc;

use accesslake_model::{AdminRecord, Decision, Micros, Rejected, Table, utc_date};
use arrow_array::builder::{
    BooleanBuilder, Int8Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use chrono::NaiveDate;

use crate::Result;

/// A row of one lake table.
pub trait LakeRow {
    const TABLE: Table;
    /// The instant whose UTC date is the row's `dt` partition.
    fn partition_time(&self) -> Micros;
    /// Orders rows within a file (SPEC 4: decisions by zone_id, occurred_at).
    fn sort_cmp(&self, other: &Self) -> std::cmp::Ordering;
    /// Appends the rows as one record batch in the table's schema.
    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef>;

    /// Puts one file's rows in [`LakeRow::sort_cmp`] order, ties in the
    /// order given.
    fn sort_rows(rows: &mut [&Self]) {
        rows.sort_by(|a, b| a.sort_cmp(b));
    }

    fn dt(&self) -> NaiveDate {
        utc_date(self.partition_time())
    }
}

/// Builds the record batch of `rows` in `R::TABLE`'s schema.
pub fn record_batch<R: LakeRow>(rows: &[&R]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        R::TABLE.schema(),
        R::to_columns(rows),
    )?)
}

fn ts_builder(n: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC")
}

/// A string column of `rows`. The value buffer is sized from the values
/// first: grown by doubling, a column of ids is copied several times over
/// into fresh memory the kernel has to zero.
fn strings<'a, R>(rows: &[&'a R], value: impl Fn(&'a R) -> Option<&'a str>) -> ArrayRef {
    let bytes = rows.iter().map(|r| value(r).map_or(0, str::len)).sum();
    let mut b = StringBuilder::with_capacity(rows.len(), bytes);
    for r in rows {
        b.append_option(value(r));
    }
    Arc::new(b.finish())
}

fn times(n: usize, it: impl Iterator<Item = Micros>) -> ArrayRef {
    let mut b = ts_builder(n);
    for v in it {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn int8s(n: usize, it: impl Iterator<Item = Option<i8>>) -> ArrayRef {
    let mut b = Int8Builder::with_capacity(n);
    for v in it {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

impl LakeRow for Decision {
    const TABLE: Table = Table::Decisions;

    fn partition_time(&self) -> Micros {
        self.occurred_at
    }

    fn sort_cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Unknown doors (null zone) sort last.
        (
            self.zone_id.is_none(),
            &self.zone_id,
            self.occurred_at,
            &self.event_id,
        )
            .cmp(&(o.zone_id.is_none(), &o.zone_id, o.occurred_at, &o.event_id))
    }

    /// The zones of a file are few and its rows arrive nearly in time
    /// order: the rows are bucketed by zone (a counting sort on each zone's
    /// rank), which leaves each bucket nearly sorted, and a stable sort by
    /// (rank, time, event_id) then finishes in close to one pass.
    fn sort_rows(rows: &mut [&Self]) {
        let mut ids: HashMap<&str, u32, foldhash::fast::RandomState> = HashMap::default();
        let first_seen: Vec<u32> = rows
            .iter()
            .map(|r| match r.zone_id.as_deref() {
                Some(z) => {
                    let next = ids.len() as u32;
                    *ids.entry(z).or_insert(next)
                }
                None => u32::MAX,
            })
            .collect();
        // Ranks in zone order; rows without a zone go last.
        let mut names: Vec<(&str, u32)> = ids.into_iter().collect();
        names.sort_unstable();
        let mut rank = vec![0; names.len()];
        for (r, (_, id)) in names.iter().enumerate() {
            rank[*id as usize] = r;
        }
        let none = names.len();
        let buckets: Vec<usize> = first_seen
            .iter()
            .map(|&id| rank.get(id as usize).copied().unwrap_or(none))
            .collect();
        let mut starts = vec![0usize; none + 2];
        for &b in &buckets {
            starts[b + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut order = vec![0usize; rows.len()];
        for (i, &b) in buckets.iter().enumerate() {
            order[starts[b]] = i;
            starts[b] += 1;
        }
        let mut keyed: Vec<(usize, Micros, &Self)> = order
            .into_iter()
            .map(|i| (buckets[i], rows[i].occurred_at, rows[i]))
            .collect();
        keyed.sort_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| a.2.event_id.cmp(&b.2.event_id))
        });
        for (slot, k) in rows.iter_mut().zip(keyed) {
            *slot = k.2;
        }
    }

    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef> {
        let n = rows.len();
        let mut dates = StringBuilder::with_capacity(n, n * 10);
        // A file's rows fall on one or two local dates: each is formatted once.
        let mut last: Option<(NaiveDate, String)> = None;
        for r in rows {
            match r.local {
                Some(l) => {
                    if last.as_ref().is_none_or(|(d, _)| *d != l.date) {
                        last = Some((l.date, accesslake_model::format_date(l.date)));
                    }
                    if let Some((_, text)) = &last {
                        dates.append_value(text);
                    }
                }
                None => dates.append_null(),
            }
        }
        vec![
            strings(rows, |r| Some(r.event_id.as_str())),
            times(n, rows.iter().map(|r| r.occurred_at)),
            times(n, rows.iter().map(|r| r.processed_at)),
            strings(rows, |r| r.site_id.as_deref()),
            strings(rows, |r| r.zone_id.as_deref()),
            strings(rows, |r| Some(r.door_id.as_str())),
            strings(rows, |r| Some(r.card_id.as_str())),
            strings(rows, |r| r.employee_id.as_deref()),
            strings(rows, |r| Some(r.direction.as_str())),
            strings(rows, |r| Some(r.outcome.as_str())),
            strings(rows, |r| Some(r.reason.as_str())),
            int8s(n, rows.iter().map(|r| Some(r.presence_change))),
            Arc::new(dates.finish()),
            int8s(n, rows.iter().map(|r| r.local.map(|l| l.hour))),
            int8s(n, rows.iter().map(|r| r.local.map(|l| l.weekday))),
        ]
    }
}

impl LakeRow for AdminRecord {
    const TABLE: Table = Table::AdminEvents;

    fn partition_time(&self) -> Micros {
        self.occurred_at
    }

    fn sort_cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.occurred_at, &self.event_id).cmp(&(o.occurred_at, &o.event_id))
    }

    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef> {
        let n = rows.len();
        let mut applied = BooleanBuilder::with_capacity(n);
        for r in rows {
            applied.append_value(r.applied);
        }
        vec![
            strings(rows, |r| Some(r.event_id.as_str())),
            times(n, rows.iter().map(|r| r.occurred_at)),
            times(n, rows.iter().map(|r| r.received_at)),
            strings(rows, |r| Some(r.actor.as_str())),
            strings(rows, |r| Some(r.admin_type.as_str())),
            strings(rows, |r| Some(r.entity_id.as_str())),
            strings(rows, |r| Some(r.payload.as_str())),
            Arc::new(applied.finish()),
            strings(rows, |r| r.error),
        ]
    }
}

impl LakeRow for Rejected {
    const TABLE: Table = Table::Rejected;

    fn partition_time(&self) -> Micros {
        self.received_at
    }

    fn sort_cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.received_at, &self.source_ref).cmp(&(o.received_at, &o.source_ref))
    }

    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef> {
        let n = rows.len();
        vec![
            times(n, rows.iter().map(|r| r.received_at)),
            strings(rows, |r| Some(r.source.as_str())),
            strings(rows, |r| Some(r.source_ref.as_str())),
            strings(rows, |r| Some(r.error.as_str())),
            strings(rows, |r| Some(r.raw.as_str())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accesslake_model::{Direction, Reason};
    use proptest::prelude::*;

    fn decision(zone: Option<&str>, occurred_at: Micros, event_id: &str, n: usize) -> Decision {
        Decision {
            event_id: event_id.into(),
            occurred_at,
            processed_at: 0,
            site_id: None,
            zone_id: zone.map(str::to_string),
            door_id: "d".into(),
            card_id: n.to_string(),
            employee_id: None,
            direction: Direction::In,
            outcome: Reason::Ok.outcome(),
            reason: Reason::Ok,
            presence_change: 0,
            local: None,
        }
    }

    proptest! {
        /// The ranked sort of decisions is the order `sort_cmp` defines,
        /// equal rows kept in the order given.
        #[test]
        fn ranked_sort_is_the_row_order(rows in proptest::collection::vec(
            (proptest::option::of(proptest::sample::select(vec!["a", "b", "ab", "B", "b\u{e9}", ""])), 0i64..4, proptest::sample::select(vec!["x", "y", "xy"])),
            0..60,
        )) {
            let rows: Vec<Decision> = rows
                .iter()
                .enumerate()
                .map(|(n, (zone, t, id))| decision(*zone, *t, id, n))
                .collect();
            let mut want: Vec<&Decision> = rows.iter().collect();
            want.sort_by(|a, b| a.sort_cmp(b));
            let mut got: Vec<&Decision> = rows.iter().collect();
            Decision::sort_rows(&mut got);
            let cards = |v: &[&Decision]| v.iter().map(|d| d.card_id.clone()).collect::<Vec<_>>();
            prop_assert_eq!(cards(&got), cards(&want));
        }
    }
}
