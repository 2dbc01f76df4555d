//! Rows → Arrow record batches, column by column in schema order.

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

fn strings<'a>(n: usize, it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, n * 16);
    for v in it {
        b.append_option(v);
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

    fn to_columns(rows: &[&Self]) -> Vec<ArrayRef> {
        let n = rows.len();
        let mut dates = StringBuilder::with_capacity(n, n * 10);
        for r in rows {
            match r.local {
                Some(l) => dates.append_value(accesslake_model::format_date(l.date)),
                None => dates.append_null(),
            }
        }
        vec![
            strings(n, rows.iter().map(|r| Some(r.event_id.as_str()))),
            times(n, rows.iter().map(|r| r.occurred_at)),
            times(n, rows.iter().map(|r| r.processed_at)),
            strings(n, rows.iter().map(|r| r.site_id.as_deref())),
            strings(n, rows.iter().map(|r| r.zone_id.as_deref())),
            strings(n, rows.iter().map(|r| Some(r.door_id.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.card_id.as_str()))),
            strings(n, rows.iter().map(|r| r.employee_id.as_deref())),
            strings(n, rows.iter().map(|r| Some(r.direction.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.outcome.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.reason.as_str()))),
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
            strings(n, rows.iter().map(|r| Some(r.event_id.as_str()))),
            times(n, rows.iter().map(|r| r.occurred_at)),
            times(n, rows.iter().map(|r| r.received_at)),
            strings(n, rows.iter().map(|r| Some(r.actor.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.admin_type.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.entity_id.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.payload.as_str()))),
            Arc::new(applied.finish()),
            strings(n, rows.iter().map(|r| r.error)),
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
            strings(n, rows.iter().map(|r| Some(r.source.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.source_ref.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.error.as_str()))),
            strings(n, rows.iter().map(|r| Some(r.raw.as_str()))),
        ]
    }
}
