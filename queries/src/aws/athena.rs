//! The Athena engine: the catalog's text sent unchanged except for its
//! placeholders, which become Athena's positional `?` with the values as
//! typed literals in `ExecutionParameters` (never spliced into the text);
//! results paged into Arrow record batches with the types Athena reports.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use aws_sdk_athena::types::{
    ColumnInfo, QueryExecution, QueryExecutionContext, QueryExecutionState, ResultConfiguration,
    Row, StatementType,
};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use crate::catalog::positional;
use crate::engine::QueryStats;
use crate::params::Value;
use crate::{Error, Params, Query, QueryEngine, Result};

/// Athena allows at most 1,024 characters per execution parameter.
const MAX_PARAMETER: usize = 1024;
/// Rows per `GetQueryResults` page (Athena's maximum).
const PAGE_ROWS: i32 = 1000;

/// Where and how queries run on Athena.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaSettings {
    /// The Glue database of the lake tables (`accesslake catalog sync`).
    pub database: String,
    /// The workgroup; its enforced settings (result location, encryption,
    /// bytes-scanned limit) win over ours.
    pub workgroup: String,
    /// `s3://…/` for results, unless the workgroup enforces its own.
    pub output_location: Option<String>,
    /// Give up and cancel the query after this long.
    pub timeout: Duration,
    /// First wait between status polls; doubles up to `max_poll`.
    pub first_poll: Duration,
    pub max_poll: Duration,
}

impl AthenaSettings {
    pub fn new(database: &str, workgroup: &str) -> Self {
        AthenaSettings {
            database: database.to_string(),
            workgroup: workgroup.to_string(),
            output_location: None,
            timeout: Duration::from_secs(300),
            first_poll: Duration::from_millis(100),
            max_poll: Duration::from_secs(2),
        }
    }
}

/// Runs catalog queries on Athena over the Glue tables of the lake.
pub struct AthenaEngine {
    client: aws_sdk_athena::Client,
    settings: AthenaSettings,
    stats: Mutex<Vec<QueryStats>>,
}

impl std::fmt::Debug for AthenaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AthenaEngine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AthenaEngine {
    pub fn new(client: aws_sdk_athena::Client, settings: AthenaSettings) -> Self {
        AthenaEngine {
            client,
            settings,
            stats: Mutex::new(Vec::new()),
        }
    }

    /// An engine with a client from the standard AWS configuration chain.
    pub async fn from_env(settings: AthenaSettings) -> Self {
        let sdk = accesslake_model::aws::sdk_config().await;
        Self::new(aws_sdk_athena::Client::new(&sdk), settings)
    }

    /// Runs `text` whose `$name` placeholders take `params`.
    async fn run_text(&self, label: &str, text: &str, params: &Params) -> Result<Vec<RecordBatch>> {
        let (sql, names) = positional(text);
        let values = names
            .iter()
            .map(|n| {
                params
                    .get(n)
                    .ok_or_else(|| Error::Param(format!("{label} needs parameter `{n}`")))
                    .and_then(|v| literal(n, v))
            })
            .collect::<Result<Vec<_>>>()?;
        self.execute(label, &sql, values).await
    }

    /// Starts the query, waits for it, and reads every result page.
    pub async fn execute(
        &self,
        label: &str,
        sql: &str,
        parameters: Vec<String>,
    ) -> Result<Vec<RecordBatch>> {
        let started = Instant::now();
        let mut req = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&self.settings.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&self.settings.database)
                    .build(),
            );
        if let Some(out) = &self.settings.output_location {
            req = req
                .result_configuration(ResultConfiguration::builder().output_location(out).build());
        }
        if !parameters.is_empty() {
            req = req.set_execution_parameters(Some(parameters));
        }
        let id = req
            .send()
            .await
            .map_err(|e| athena_error(label, "StartQueryExecution", e))?
            .query_execution_id
            .ok_or_else(|| Error::Athena(format!("{label}: Athena returned no query id")))?;
        let execution = self.wait(label, &id, started).await?;
        let dml = execution.statement_type() == Some(&StatementType::Dml);
        let mut pages = self
            .client
            .get_query_results()
            .query_execution_id(&id)
            .max_results(PAGE_ROWS)
            .into_paginator()
            .send();
        let mut batches = Vec::new();
        let mut columns: Option<Vec<ColumnInfo>> = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| athena_error(label, "GetQueryResults", e))?;
            let Some(set) = page.result_set else { continue };
            let first = columns.is_none();
            if first {
                columns = Some(
                    set.result_set_metadata
                        .as_ref()
                        .map(|m| m.column_info().to_vec())
                        .unwrap_or_default(),
                );
            }
            let cols = columns.as_deref().unwrap_or_default();
            batches.push(rows_to_batch(cols, set.rows(), first && dml)?);
        }
        let stats = execution.statistics();
        self.record(QueryStats {
            label: label.to_string(),
            engine: "athena",
            query_id: Some(id),
            elapsed: started.elapsed(),
            engine_millis: stats.and_then(|s| s.engine_execution_time_in_millis()),
            bytes_scanned: stats
                .and_then(|s| s.data_scanned_in_bytes())
                .and_then(|b| u64::try_from(b).ok()),
        });
        Ok(batches)
    }

    /// Polls the execution with backoff until it ends; past the timeout the
    /// query is cancelled.
    async fn wait(&self, label: &str, id: &str, started: Instant) -> Result<QueryExecution> {
        let mut pause = self.settings.first_poll;
        loop {
            let execution = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| athena_error(label, "GetQueryExecution", e))?
                .query_execution
                .ok_or_else(|| Error::Athena(format!("{label}: no execution for query {id}")))?;
            if let Some(done) = finished(label, execution)? {
                return Ok(done);
            }
            if started.elapsed() + pause > self.settings.timeout {
                // Best effort: the error below is what the caller needs.
                let _ = self
                    .client
                    .stop_query_execution()
                    .query_execution_id(id)
                    .send()
                    .await;
                return Err(Error::Athena(format!(
                    "{label}: query {id} did not finish within {} s and was cancelled",
                    self.settings.timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(self.settings.max_poll);
        }
    }

    fn record(&self, s: QueryStats) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.push(s);
        }
    }
}

/// `Some` when the query succeeded, `None` while it runs, an error carrying
/// Athena's reason when it failed or was cancelled.
pub fn finished(label: &str, execution: QueryExecution) -> Result<Option<QueryExecution>> {
    let id = execution.query_execution_id().unwrap_or("?").to_string();
    let status = execution.status();
    let reason = status
        .and_then(|s| s.state_change_reason())
        .unwrap_or("no reason given");
    let detail = status
        .and_then(|s| s.athena_error())
        .map(|e| {
            format!(
                " (error category {}, type {}{})",
                e.error_category().unwrap_or_default(),
                e.error_type().unwrap_or_default(),
                if e.retryable() { ", retryable" } else { "" }
            )
        })
        .unwrap_or_default();
    match status.and_then(|s| s.state()) {
        Some(QueryExecutionState::Succeeded) => Ok(Some(execution)),
        Some(QueryExecutionState::Failed) => Err(Error::Athena(format!(
            "{label}: query {id} failed: {reason}{detail}"
        ))),
        Some(QueryExecutionState::Cancelled) => Err(Error::Athena(format!(
            "{label}: query {id} was cancelled: {reason}"
        ))),
        _ => Ok(None),
    }
}

fn athena_error<E: std::error::Error + 'static>(
    label: &str,
    call: &str,
    e: aws_sdk_athena::error::SdkError<E>,
) -> Error {
    Error::Athena(format!(
        "{label}: {call}: {}",
        aws_sdk_athena::error::DisplayErrorContext(&e)
    ))
}

/// A parameter value as the typed literal Athena substitutes for a `?`:
/// a timestamp as `TIMESTAMP 'YYYY-MM-DD HH:MM:SS.ffffff'` (UTC, the zone of
/// the lake's timestamps), text as a quoted string with `'` doubled.
pub fn literal(name: &str, v: &Value) -> Result<String> {
    let text = match v {
        Value::Timestamp(t) => {
            let dt = chrono::DateTime::from_timestamp_micros(*t).ok_or_else(|| {
                Error::Param(format!("parameter `{name}`: {t} µs is out of range"))
            })?;
            format!("TIMESTAMP '{}'", dt.format("%Y-%m-%d %H:%M:%S%.6f"))
        }
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
    };
    if text.chars().count() > MAX_PARAMETER {
        return Err(Error::Param(format!(
            "parameter `{name}` is longer than Athena's {MAX_PARAMETER} characters"
        )));
    }
    Ok(text)
}

/// The Arrow type a column of Athena's type becomes: what DataFusion gives
/// for the same query, so renderers need nothing engine-specific. Types the
/// catalog does not produce (decimal, arrays, maps, rows, …) stay text.
pub fn arrow_type(athena: &str) -> DataType {
    let base = athena
        .split('(')
        .next()
        .unwrap_or(athena)
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "boolean" => DataType::Boolean,
        "tinyint" => DataType::Int8,
        "smallint" => DataType::Int16,
        "integer" | "int" => DataType::Int32,
        "bigint" => DataType::Int64,
        "double" | "float" | "real" => DataType::Float64,
        "date" => DataType::Date32,
        "timestamp" | "timestamp with time zone" => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        _ if base.starts_with("timestamp") => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        _ => DataType::Utf8,
    }
}

/// One page of rows as a record batch. `skip_header`: the page's first row
/// holds the column labels (Athena's first page of a SELECT), and is dropped
/// when it does.
pub fn rows_to_batch(
    columns: &[ColumnInfo],
    rows: &[Row],
    skip_header: bool,
) -> Result<RecordBatch> {
    let labels: Vec<&str> = columns
        .iter()
        .map(|c| c.label().unwrap_or(c.name()))
        .collect();
    let header = skip_header
        && rows.first().is_some_and(|r| {
            r.data().len() == labels.len()
                && r.data()
                    .iter()
                    .zip(&labels)
                    .all(|(d, l)| d.var_char_value() == Some(*l))
        });
    let rows = if header { &rows[1..] } else { rows };
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c.label().unwrap_or(c.name()), arrow_type(c.r#type()), true))
        .collect();
    let arrays = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let cells = rows
                .iter()
                .map(|r| r.data().get(i).and_then(|d| d.var_char_value()));
            column(f, cells)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let schema = Arc::new(Schema::new(fields));
    Ok(RecordBatch::try_new_with_options(
        schema,
        arrays,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?)
}

fn column<'a>(f: &Field, cells: impl Iterator<Item = Option<&'a str>>) -> Result<ArrayRef> {
    let bad = |v: &str| {
        Error::Athena(format!(
            "column `{}`: {v:?} is not a {} value",
            f.name(),
            f.data_type()
        ))
    };
    macro_rules! parsed {
        ($builder:ty, $parse:expr) => {{
            let mut b = <$builder>::new();
            for c in cells {
                match c {
                    None => b.append_null(),
                    Some(v) => b.append_value($parse(v).ok_or_else(|| bad(v))?),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    Ok(match f.data_type() {
        DataType::Boolean => parsed!(BooleanBuilder, |v: &str| match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }),
        DataType::Int8 => parsed!(Int8Builder, |v: &str| v.parse().ok()),
        DataType::Int16 => parsed!(Int16Builder, |v: &str| v.parse().ok()),
        DataType::Int32 => parsed!(Int32Builder, |v: &str| v.parse().ok()),
        DataType::Int64 => parsed!(Int64Builder, |v: &str| v.parse().ok()),
        DataType::Float64 => parsed!(Float64Builder, |v: &str| v.parse().ok()),
        DataType::Date32 => parsed!(Date32Builder, parse_date),
        DataType::Timestamp(..) => {
            let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            for c in cells {
                match c {
                    None => b.append_null(),
                    Some(v) => b.append_value(parse_timestamp(v).ok_or_else(|| bad(v))?),
                }
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = StringBuilder::new();
            for c in cells {
                b.append_option(c);
            }
            Arc::new(b.finish())
        }
    })
}

fn parse_date(v: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((d - epoch).num_days()).ok()
}

/// `2026-03-02 06:00:00.123` (UTC) or `2026-03-02 06:00:00.123 UTC`,
/// `… +01:00`, `… Europe/London` (timestamp with time zone) as UTC µs.
fn parse_timestamp(v: &str) -> Option<i64> {
    const FMT: &str = "%Y-%m-%d %H:%M:%S%.f";
    if let Ok(naive) = NaiveDateTime::parse_from_str(v, FMT) {
        return Some(naive.and_utc().timestamp_micros());
    }
    let (wall, zone) = v.rsplit_once(' ')?;
    let naive = NaiveDateTime::parse_from_str(wall, FMT).ok()?;
    if zone == "UTC" || zone == "Z" {
        return Some(naive.and_utc().timestamp_micros());
    }
    if let Ok(t) = chrono::DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f %:z") {
        return Some(t.timestamp_micros());
    }
    let tz: chrono_tz::Tz = zone.parse().ok()?;
    Some(
        tz.from_local_datetime(&naive)
            .earliest()?
            .timestamp_micros(),
    )
}

#[async_trait::async_trait]
impl QueryEngine for AthenaEngine {
    fn name(&self) -> &'static str {
        "athena"
    }

    async fn run(&self, query: &Query, params: &Params) -> Result<Vec<RecordBatch>> {
        self.run_text(query.name, query.sql, params).await
    }

    async fn sql(&self, text: &str) -> Result<Vec<RecordBatch>> {
        self.execute("sql", text, Vec::new()).await
    }

    async fn sql_with_params(&self, text: &str, params: &Params) -> Result<Vec<RecordBatch>> {
        self.run_text("sql", text, params).await
    }

    fn take_stats(&self) -> Vec<QueryStats> {
        self.stats
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMicrosecondType};
    use aws_sdk_athena::types::{AthenaError, Datum, QueryExecutionStatus};

    fn col(name: &str, t: &str) -> ColumnInfo {
        ColumnInfo::builder()
            .name(name)
            .label(name)
            .r#type(t)
            .build()
            .unwrap()
    }

    fn row(cells: &[Option<&str>]) -> Row {
        Row::builder()
            .set_data(Some(
                cells
                    .iter()
                    .map(|c| {
                        Datum::builder()
                            .set_var_char_value(c.map(String::from))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    #[test]
    fn literals_are_typed_and_quoted() {
        assert_eq!(
            literal("from", &Value::Timestamp(1_772_431_200_000_001)).unwrap(),
            "TIMESTAMP '2026-03-02 06:00:00.000001'"
        );
        assert_eq!(
            literal("e", &Value::Text("o'brien'; DROP TABLE x --".into())).unwrap(),
            "'o''brien''; DROP TABLE x --'"
        );
        assert!(literal("e", &Value::Text("x".repeat(1023))).is_err());
        assert!(literal("e", &Value::Text("x".repeat(1022))).is_ok());
    }

    #[test]
    fn pages_become_typed_batches_and_the_header_row_is_dropped() {
        let cols = [
            col("zone_id", "varchar"),
            col("entries", "bigint"),
            col("at", "timestamp"),
            col("ok", "boolean"),
            col("ratio", "double"),
        ];
        let rows = [
            row(&[
                Some("zone_id"),
                Some("entries"),
                Some("at"),
                Some("ok"),
                Some("ratio"),
            ]),
            row(&[
                Some("hq-lab"),
                Some("12"),
                Some("2026-03-02 06:00:00.000"),
                Some("true"),
                Some("0.25"),
            ]),
            row(&[
                Some(""),
                None,
                Some("2026-03-02 07:00:00.5 UTC"),
                None,
                Some("1.0E2"),
            ]),
        ];
        let b = rows_to_batch(&cols, &rows, true).unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_string::<i32>().value(0), "hq-lab");
        assert_eq!(
            b.column(0).as_string::<i32>().value(1),
            "",
            "empty text is not null"
        );
        assert_eq!(b.column(1).as_primitive::<Int64Type>().value(0), 12);
        assert!(b.column(1).is_null(1));
        let at = b.column(2).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(at.value(0), 1_772_431_200_000_000);
        assert_eq!(at.value(1), 1_772_434_800_500_000);
        assert_eq!(
            b.column(4)
                .as_primitive::<arrow_array::types::Float64Type>()
                .value(1),
            100.0
        );
        // a later page has no header: its first row is data
        let b = rows_to_batch(&cols, &rows[1..], false).unwrap();
        assert_eq!(b.num_rows(), 2);
        // a value that is not of the column's type is an error naming the column
        let e = rows_to_batch(&cols[1..2], &[row(&[Some("twelve")])], false).unwrap_err();
        assert!(e.to_string().contains("entries"), "{e}");
    }

    #[test]
    fn zoned_timestamps_are_read_as_utc() {
        assert_eq!(parse_timestamp("1970-01-01 01:00:00.000 +01:00"), Some(0));
        assert_eq!(
            parse_timestamp("1970-01-01 01:00:00.000 Europe/London"),
            Some(0)
        );
        assert_eq!(parse_timestamp("2026-03-02T06:00:00Z"), None);
        assert_eq!(parse_date("1970-01-02"), Some(1));
    }

    #[test]
    fn failed_and_cancelled_queries_carry_athenas_reason() {
        let exec = |state: QueryExecutionState, reason: Option<&str>| {
            QueryExecution::builder()
                .query_execution_id("q-1")
                .status(
                    QueryExecutionStatus::builder()
                        .state(state)
                        .set_state_change_reason(reason.map(String::from))
                        .athena_error(
                            AthenaError::builder()
                                .error_category(2)
                                .error_type(1006)
                                .build(),
                        )
                        .build(),
                )
                .build()
        };
        let e = finished(
            "occupancy",
            exec(
                QueryExecutionState::Failed,
                Some("COLUMN_NOT_FOUND: line 3:8: Column 'x' cannot be resolved"),
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("occupancy: query q-1 failed: COLUMN_NOT_FOUND"),
            "{e}"
        );
        assert!(e.contains("category 2, type 1006"), "{e}");
        let e = finished("muster", exec(QueryExecutionState::Cancelled, None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("was cancelled"), "{e}");
        assert!(
            finished("x", exec(QueryExecutionState::Running, None))
                .unwrap()
                .is_none()
        );
        assert!(
            finished("x", exec(QueryExecutionState::Succeeded, None))
                .unwrap()
                .is_some()
        );
    }
}
