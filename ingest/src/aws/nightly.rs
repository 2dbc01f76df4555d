//! The scheduled Lambda (`compact-lambda`, an EventBridge schedule): compacts
//! the last days' partitions of the lake and writes the dimension snapshots
//! from the live state in DynamoDB.
//!
//! The event is EventBridge's scheduled event, of which only `time` is read
//! (the days before its UTC date are compacted), or `{"dt": "YYYY-MM-DD"}` to
//! compact one day by hand. Days already compacted cost one LIST each, so
//! looking back a few days picks up late files at little cost.

use accesslake_model::{Micros, Table, parse_rfc3339, utc_date};
use accesslake_transform::Lake;
use accesslake_transform::compact::{self, CompactOptions, DEFAULT_TARGET_SIZE};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::snapshot::write_snapshot;
use crate::store::DynamoStore;
use crate::{Error, Result};

/// Settings of `compact-lambda`, from `ACCESSLAKE_*` like the other Lambdas.
#[derive(Debug, Clone, Deserialize)]
pub struct NightlyConfig {
    /// The lake root, `s3://bucket[/prefix]`.
    pub lake: String,
    /// The DynamoDB table of the live state; without it no snapshot is taken.
    pub table: Option<String>,
    /// Days back from yesterday to compact (default 3: yesterday and the two before).
    pub compact_days: Option<String>,
    /// Bytes per compacted file (default 128 MiB).
    pub compact_target_size: Option<String>,
}

impl NightlyConfig {
    pub fn from_env() -> Result<Self> {
        super::from_vars(std::env::vars())
    }

    fn number(name: &str, v: &Option<String>, default: u64) -> Result<u64> {
        match v {
            None => Ok(default),
            Some(s) => s.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::Config(format!(
                    "ACCESSLAKE_{name}={s:?}: expected a positive integer"
                ))
            }),
        }
    }

    pub fn days(&self) -> Result<u32> {
        let d = Self::number("COMPACT_DAYS", &self.compact_days, 3)?;
        u32::try_from(d.min(366)).map_err(|e| Error::Config(e.to_string()))
    }

    pub fn target_size(&self) -> Result<u64> {
        Self::number(
            "COMPACT_TARGET_SIZE",
            &self.compact_target_size,
            DEFAULT_TARGET_SIZE,
        )
    }
}

/// The first and last day to compact for an invocation.
pub fn days_to_compact(
    event: &serde_json::Value,
    now: Micros,
    days: u32,
) -> Result<(NaiveDate, NaiveDate)> {
    if let Some(dt) = event.get("dt") {
        let d = dt
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .ok_or_else(|| Error::Config(format!("event dt {dt}: expected \"YYYY-MM-DD\"")))?;
        return Ok((d, d));
    }
    let at = match event.get("time").and_then(|t| t.as_str()) {
        Some(t) => parse_rfc3339(t).map_err(|e| Error::Config(format!("event time {t:?}: {e}")))?,
        None => now,
    };
    let last = utc_date(at)
        .pred_opt()
        .ok_or_else(|| Error::Config("event time has no day before it".into()))?;
    let first = last - chrono::Days::new(u64::from(days.max(1) - 1));
    Ok((first, last))
}

/// One invocation: compaction of the days the event names, then (with a
/// state table) the snapshot. Returns what was done, as the Lambda's result.
pub async fn run(
    lake: &Lake,
    store: Option<&DynamoStore>,
    event: &serde_json::Value,
    now: Micros,
    config: &NightlyConfig,
) -> Result<serde_json::Value> {
    let (from, to) = days_to_compact(event, now, config.days()?)?;
    let opts = CompactOptions {
        tables: Table::EVENTS.to_vec(),
        from: Some(from),
        to: Some(to),
        target_size: config.target_size()?,
    };
    let metrics = compact::compact(lake, &opts).await?;
    tracing::info!(
        %from, %to,
        partitions = metrics.partitions,
        files_in = metrics.files_in,
        files_out = metrics.files_out,
        duplicates = metrics.duplicates_removed,
        failed = metrics.failed.len(),
        "compacted"
    );
    let snapshot = match store {
        Some(store) => {
            let state = store.dimensions().await?;
            let s = write_snapshot(lake, &state, now).await?;
            let tables: serde_json::Map<String, serde_json::Value> = s
                .tables
                .iter()
                .map(|(t, n)| (t.name().to_string(), (*n).into()))
                .collect();
            serde_json::Value::Object(tables)
        }
        None => serde_json::Value::Null,
    };
    let compacted = serde_json::to_value(&metrics).map_err(|e| Error::Config(e.to_string()))?;
    if !metrics.failed.is_empty() {
        // Reported, not retried: an unreadable file needs a person, and the
        // other partitions are done.
        tracing::error!(failed = ?metrics.failed, "partitions left uncompacted");
    }
    Ok(serde_json::json!({
        "from": from.to_string(),
        "to": to.to_string(),
        "compacted": compacted,
        "snapshot": snapshot,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_come_from_the_schedule_or_the_event() {
        let now = parse_rfc3339("2026-03-10T12:00:00Z").unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let scheduled = serde_json::json!({"detail-type": "Scheduled Event", "time": "2026-03-05T02:00:00Z", "detail": {}});
        assert_eq!(
            days_to_compact(&scheduled, now, 3).unwrap(),
            (d("2026-03-02"), d("2026-03-04"))
        );
        assert_eq!(
            days_to_compact(&serde_json::json!({}), now, 1).unwrap(),
            (d("2026-03-09"), d("2026-03-09"))
        );
        assert_eq!(
            days_to_compact(&serde_json::json!({"dt": "2026-02-28"}), now, 3).unwrap(),
            (d("2026-02-28"), d("2026-02-28"))
        );
        for bad in [
            serde_json::json!({"dt": "../x"}),
            serde_json::json!({"dt": 5}),
            serde_json::json!({"time": "yesterday"}),
        ] {
            assert!(days_to_compact(&bad, now, 3).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_checked() {
        let vars = |v: &[(&str, &str)]| -> Result<NightlyConfig> {
            super::super::from_vars(v.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        };
        let c = vars(&[("ACCESSLAKE_LAKE", "s3://b/p")]).unwrap();
        assert_eq!(
            (c.days().unwrap(), c.target_size().unwrap()),
            (3, DEFAULT_TARGET_SIZE)
        );
        let c = vars(&[
            ("ACCESSLAKE_LAKE", "s3://b"),
            ("ACCESSLAKE_COMPACT_DAYS", "0"),
        ])
        .unwrap();
        assert!(c.days().is_err());
        assert!(
            vars(&[("ACCESSLAKE_TABLE", "t")]).is_err(),
            "the lake is required"
        );
    }
}
