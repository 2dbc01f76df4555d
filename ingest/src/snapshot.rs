//! Dimension snapshots (SPEC 4): the current state as the tables
//! `employees`, `cards`, `zones`, `doors` and `grants`, one row per entity,
//! under `dt=` of the day the snapshot is taken. Every row carries
//! `snapshot_at`; the newest snapshot of a table is the current state, so a
//! reader never needs to know which files are the latest.

use std::sync::Arc;

use accesslake_model::{Micros, Table, utc_date};
use accesslake_transform::{Lake, LakeFile};
use arrow_array::builder::{Int32Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;

use crate::{Result, State};

/// What a snapshot wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// (table, rows) in the order of [`Table::SNAPSHOTS`].
    pub tables: Vec<(Table, usize)>,
    pub files: Vec<String>,
    /// Earlier snapshots of the same day, now superseded and removed.
    pub replaced: usize,
}

fn text(values: impl Iterator<Item = String>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn times(values: impl Iterator<Item = Option<Micros>>) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn sorted<'a, T>(items: impl Iterator<Item = &'a T>, key: impl Fn(&T) -> String) -> Vec<&'a T>
where
    T: 'a,
{
    let mut v: Vec<&T> = items.collect();
    v.sort_by_cached_key(|t| key(t));
    v
}

/// The snapshot tables of `state` taken at `at`, rows sorted by key.
pub fn snapshot_batches(state: &State, at: Micros) -> Result<Vec<(Table, RecordBatch)>> {
    let stamp = |n: usize| times(std::iter::repeat_n(Some(at), n));
    let mut out = Vec::new();

    let employees = sorted(state.employees.values(), |e| e.employee_id.clone());
    let n = employees.len();
    out.push((
        Table::Employees,
        vec![
            text(employees.iter().map(|e| e.employee_id.clone())),
            text(employees.iter().map(|e| e.name.clone())),
            text(employees.iter().map(|e| e.department.clone())),
            text(employees.iter().map(|e| e.status.as_str().to_string())),
            stamp(n),
        ],
    ));

    let cards = sorted(state.cards.values(), |c| c.card_id.to_string());
    let n = cards.len();
    out.push((
        Table::Cards,
        vec![
            text(cards.iter().map(|c| c.card_id.to_string())),
            text(cards.iter().map(|c| c.employee_id.to_string())),
            text(cards.iter().map(|c| c.status.as_str().to_string())),
            times(cards.iter().map(|c| c.valid_from)),
            times(cards.iter().map(|c| c.valid_until)),
            stamp(n),
        ],
    ));

    let zones = sorted(state.zones.values(), |z| z.zone_id.clone());
    let n = zones.len();
    let mut capacity = Int32Builder::with_capacity(n);
    for z in &zones {
        capacity.append_value(i32::try_from(z.capacity).unwrap_or(i32::MAX));
    }
    out.push((
        Table::Zones,
        vec![
            text(zones.iter().map(|z| z.zone_id.clone())),
            text(zones.iter().map(|z| z.name.clone())),
            text(zones.iter().map(|z| z.site_id.clone())),
            text(zones.iter().map(|z| z.timezone.name().to_string())),
            Arc::new(capacity.finish()),
            stamp(n),
        ],
    ));

    let doors = sorted(state.doors.values(), |d| d.door_id.clone());
    let n = doors.len();
    out.push((
        Table::Doors,
        vec![
            text(doors.iter().map(|d| d.door_id.clone())),
            text(doors.iter().map(|d| d.zone_id.clone())),
            text(doors.iter().map(|d| d.name.clone())),
            stamp(n),
        ],
    ));

    let grants = sorted(state.grants(), |g| {
        format!("{}\0{}", g.zone_id, g.employee_id)
    });
    let n = grants.len();
    out.push((
        Table::Grants,
        vec![
            text(grants.iter().map(|g| g.employee_id.clone())),
            text(grants.iter().map(|g| g.zone_id.clone())),
            text(grants.iter().map(|g| g.schedule.describe())),
            text(grants.iter().map(|g| g.granted_by.clone())),
            times(grants.iter().map(|g| Some(g.granted_at))),
            stamp(n),
        ],
    ));

    out.into_iter()
        .map(|(table, columns)| {
            let batch = RecordBatch::try_new(table.schema(), columns)
                .map_err(accesslake_transform::Error::from)?;
            Ok((table, batch))
        })
        .collect()
}

/// The file name of a snapshot taken at `at`: ordered by time within a day.
pub fn snapshot_file_name(at: Micros) -> String {
    let t = chrono::DateTime::from_timestamp_micros(at).unwrap_or_default();
    format!("snapshot-{}.parquet", t.format("%Y%m%dT%H%M%S%6fZ"))
}

/// Writes a snapshot of `state` taken at `at` into the lake, then removes
/// the same day's earlier snapshots (readers take the newest `snapshot_at`,
/// so for a moment both being there changes nothing).
pub async fn write_snapshot(lake: &Lake, state: &State, at: Micros) -> Result<SnapshotSummary> {
    let name = snapshot_file_name(at);
    let dt = utc_date(at);
    let mut summary = SnapshotSummary::default();
    let mut written: Vec<LakeFile> = Vec::new();
    for (table, batch) in snapshot_batches(state, at)? {
        let file = Lake::encode_batch(table, dt, &name, &batch)?;
        lake.put(&file).await?;
        summary.tables.push((table, file.rows));
        summary.files.push(file.path.to_string());
        written.push(file);
    }
    // The new snapshot is durable before the older ones go.
    lake.sync(written.iter().map(|f| &f.path))?;
    for file in &written {
        let Some(prefix) = parent(&file.path) else {
            continue;
        };
        let older: Vec<Path> = lake
            .store()
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(accesslake_transform::Error::from)?;
        for p in older {
            let is_older = p
                .filename()
                .is_some_and(|f| f.starts_with("snapshot-") && f < name.as_str());
            if is_older {
                lake.delete(&p).await?;
                summary.replaced += 1;
            }
        }
    }
    Ok(summary)
}

fn parent(path: &Path) -> Option<Path> {
    let parts: Vec<_> = path.parts().collect();
    let n = parts.len().checked_sub(1)?;
    Some(Path::from_iter(parts.into_iter().take(n)))
}
