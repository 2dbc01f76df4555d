//! The Glue catalog and the Athena engine on the moto emulator, through the
//! real `aws-sdk-glue` and `aws-sdk-athena` clients.
//!
//! moto runs no SQL: a query's rows are preset through its API, in the
//! order queries ask for them. The reports test presets, for every query a
//! report runs, the rows DataFusion computes on the same lake, written as
//! Athena writes them (text cells, a header row, Athena's type names); the
//! Athena engine must turn them back into the same report, and must have
//! sent the catalog's text with `?` placeholders and typed literals as
//! execution parameters. moto's GetQueryResults returns one page whatever
//! MaxResults says, so paging across tokens is covered by the engine's unit
//! tests only; a FAILED state cannot be produced on moto either (same).

mod aws_env;
mod common;

use std::sync::Mutex;
use std::time::Duration;

use accesslake_ingest::{EmbeddedStore, StateStore, snapshot};
use accesslake_model::{Table, parse_rfc3339};
use accesslake_queries::aws::{AthenaEngine, AthenaSettings, Change, sync};
use accesslake_queries::catalog::positional;
use accesslake_queries::glue::{CatalogOptions, athena_type};
use accesslake_queries::{DataFusionEngine, Params, Query, QueryEngine, query};
use accesslake_reports::{REPORTS, ReportArgs, render, run_report};
use accesslake_transform::Lake;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use aws_env::*;
use common::*;
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------- Glue

fn glue(sdk: &aws_config::SdkConfig) -> aws_sdk_glue::Client {
    aws_sdk_glue::Client::new(sdk)
}

async fn versions(g: &aws_sdk_glue::Client, db: &str, table: &str) -> usize {
    g.get_table_versions()
        .database_name(db)
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table_versions()
        .len()
}

#[tokio::test]
async fn glue_sync_creates_the_tables_of_the_arrow_schemas_and_a_rerun_changes_nothing() {
    let sdk = sdk().await;
    let g = glue(&sdk);
    let db = unique("lake").replace('-', "_");
    let opts = CatalogOptions::new("s3://acme-lake/prod", "2025-01-01").unwrap();

    let first = sync(&g, &db, &opts, false).await.unwrap();
    assert!(first.database_created);
    assert_eq!(first.tables.len(), Table::ALL.len());
    assert!(first.tables.iter().all(|(_, c)| *c == Change::Created));

    // Read back every table and hold it to the Arrow schema, independently
    // of the definitions the sync sent.
    for t in Table::ALL {
        let table = g
            .get_table()
            .database_name(&db)
            .name(t.name())
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let sd = table.storage_descriptor().unwrap();
        let got: Vec<(String, String)> = sd
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.r#type().unwrap().to_string()))
            .collect();
        let want: Vec<(String, String)> = t
            .schema()
            .fields()
            .iter()
            .map(|f| {
                (
                    f.name().clone(),
                    athena_type(f.data_type()).unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(got, want, "{}", t.name());
        let keys: Vec<(&str, Option<&str>)> = table
            .partition_keys()
            .iter()
            .map(|c| (c.name(), c.r#type()))
            .collect();
        assert_eq!(keys, [("dt", Some("string"))]);
        assert_eq!(
            sd.location(),
            Some(format!("s3://acme-lake/prod/{}/", t.name()).as_str())
        );
        assert_eq!(
            sd.serde_info().unwrap().serialization_library(),
            Some("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
        );
        let p = table.parameters().unwrap();
        assert_eq!(p["projection.enabled"], "true");
        assert_eq!(p["projection.dt.type"], "date");
        assert_eq!(p["projection.dt.range"], "2025-01-01,NOW");
        assert_eq!(
            p["storage.location.template"],
            format!("s3://acme-lake/prod/{}/dt=${{dt}}/", t.name())
        );
    }

    // A second run: nothing to do, no new table version.
    let before = versions(&g, &db, "decisions").await;
    let again = sync(&g, &db, &opts, false).await.unwrap();
    assert!(again.unchanged(), "{again:?}");
    assert_eq!(versions(&g, &db, "decisions").await, before);

    // Someone drops a column by hand: a dry run reports it and changes
    // nothing, a sync puts it back and touches no other table.
    let mut input = accesslake_queries::aws::glue_sync::table_input(
        &accesslake_queries::glue::tables(&opts).unwrap()[0],
    )
    .unwrap();
    let mut sd = input.storage_descriptor.take().unwrap();
    sd.columns.as_mut().unwrap().pop();
    input.storage_descriptor = Some(sd);
    g.update_table()
        .database_name(&db)
        .table_input(input)
        .send()
        .await
        .unwrap();
    let dry = sync(&g, &db, &opts, true).await.unwrap();
    assert_eq!(
        dry.tables[0],
        (
            "decisions",
            Change::Updated(vec!["StorageDescriptor.Columns".into()])
        )
    );
    assert!(sync(&g, &db, &opts, true).await.unwrap().tables[0].1 != Change::Unchanged);
    let fixed = sync(&g, &db, &opts, false).await.unwrap();
    assert!(matches!(fixed.tables[0].1, Change::Updated(_)));
    assert!(
        fixed.tables[1..]
            .iter()
            .all(|(_, c)| *c == Change::Unchanged)
    );
    assert!(sync(&g, &db, &opts, false).await.unwrap().unchanged());

    // A new projection start is a parameter change of every table.
    let later = CatalogOptions::new("s3://acme-lake/prod", "2026-01-01").unwrap();
    let moved = sync(&g, &db, &later, false).await.unwrap();
    assert!(
        moved
            .tables
            .iter()
            .all(|(_, c)| *c == Change::Updated(vec!["Parameters".into()]))
    );

    // Bad names never reach Glue.
    assert!(sync(&g, "Bad-Name", &opts, false).await.is_err());
}

// ---------------------------------------------------------------- Athena

/// DataFusion over the lake, remembering each catalog query's result in order.
struct Recording {
    inner: DataFusionEngine,
    runs: Mutex<Vec<Vec<RecordBatch>>>,
}

#[async_trait::async_trait]
impl QueryEngine for Recording {
    fn name(&self) -> &'static str {
        "datafusion"
    }
    async fn run(
        &self,
        query: &Query,
        params: &Params,
    ) -> accesslake_queries::Result<Vec<RecordBatch>> {
        let out = self.inner.run(query, params).await?;
        self.runs.lock().unwrap().push(out.clone());
        Ok(out)
    }
    async fn sql(&self, text: &str) -> accesslake_queries::Result<Vec<RecordBatch>> {
        self.inner.sql(text).await
    }
    async fn sql_with_params(
        &self,
        text: &str,
        params: &Params,
    ) -> accesslake_queries::Result<Vec<RecordBatch>> {
        self.inner.sql_with_params(text, params).await
    }
}

/// A query result as Athena returns it: every cell as text (absent for
/// null), Athena's type names, and the column labels as the first row.
fn athena_result(batches: &[RecordBatch], schema: &arrow_schema::Schema) -> Json {
    let column_info: Vec<Json> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8 => "varchar",
                DataType::Int8 => "tinyint",
                DataType::Int16 => "smallint",
                DataType::Int32 => "integer",
                DataType::Int64 => "bigint",
                DataType::Float64 => "double",
                DataType::Boolean => "boolean",
                DataType::Timestamp(..) => "timestamp",
                other => panic!("no Athena type for {other} in column {}", f.name()),
            };
            json!({"Name": f.name(), "Label": f.name(), "Type": t, "Nullable": "UNKNOWN",
                   "CatalogName": "hive", "SchemaName": "", "TableName": "",
                   "Precision": 0, "Scale": 0, "CaseSensitive": t == "varchar"})
        })
        .collect();
    let mut rows = vec![json!({"Data": schema.fields().iter()
        .map(|f| json!({"VarCharValue": f.name()})).collect::<Vec<_>>()})];
    for b in batches {
        for i in 0..b.num_rows() {
            let data: Vec<Json> = b
                .columns()
                .iter()
                .map(|c| match athena_text(c.as_ref(), i) {
                    Some(v) => json!({"VarCharValue": v}),
                    None => json!({}),
                })
                .collect();
            rows.push(json!({ "Data": data }));
        }
    }
    json!({"rows": rows, "column_info": column_info})
}

/// A cell as Athena prints it (`2026-03-02 06:00:00.000` for timestamps).
fn athena_text(c: &dyn Array, i: usize) -> Option<String> {
    if c.is_null(i) {
        return None;
    }
    Some(match c.data_type() {
        DataType::Utf8 => c.as_string::<i32>().value(i).to_string(),
        DataType::Int8 => c.as_primitive::<Int8Type>().value(i).to_string(),
        DataType::Int16 => c.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => c.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => c.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Float64 => c.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Boolean => c.as_boolean().value(i).to_string(),
        DataType::Timestamp(..) => {
            let us = c.as_primitive::<TimestampMicrosecondType>().value(i);
            let t = chrono::DateTime::from_timestamp_micros(us).unwrap();
            if us % 1000 == 0 {
                t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
            } else {
                t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
            }
        }
        other => panic!("no Athena text for {other}"),
    })
}

fn preset(region: &str, results: Vec<Json>) {
    moto_api(
        "/moto-api/static/athena/query-results",
        &json!({"account_id": "123456789012", "region": region, "results": results}),
    );
}

fn transition(progression: Json) {
    moto_api(
        "/moto-api/state-manager/set-transition",
        &json!({"model_name": "athena::execution", "transition": progression}),
    );
}

async fn execution(
    athena: &aws_sdk_athena::Client,
    id: &str,
) -> aws_sdk_athena::types::QueryExecution {
    athena
        .get_query_execution()
        .query_execution_id(id)
        .send()
        .await
        .unwrap()
        .query_execution
        .unwrap()
}

/// The scenarios share moto's one queue of preset results and its global
/// state transitions, so they run in order in one test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athena_engine_runs_every_report_like_datafusion_on_the_emulator() {
    let sdk = sdk().await;
    let region = sdk.region().unwrap().to_string();
    let athena = aws_sdk_athena::Client::new(&sdk);
    let bucket = bucket(&sdk).await;
    let mut settings = AthenaSettings::new("accesslake", "primary");
    settings.output_location = Some(format!("s3://{bucket}/athena-results/"));
    settings.first_poll = Duration::from_millis(5);
    settings.max_poll = Duration::from_millis(20);
    let engine = AthenaEngine::new(athena.clone(), settings.clone());

    // A small lake with a snapshot, and every report on DataFusion.
    let dir = tempfile::tempdir().unwrap();
    let files = fixture(&dir.path().join("in"), 30, 4, 11);
    let lake = dir.path().join("lake");
    tokio::task::block_in_place(|| ingest(&lake, &files, 10_000)).unwrap();
    let state = EmbeddedStore::open(&lake.join("_state/state.redb"))
        .unwrap()
        .load()
        .unwrap();
    snapshot::write_snapshot(
        &Lake::local(&lake).unwrap(),
        &state,
        parse_rfc3339("2026-06-01T12:00:00Z").unwrap(),
    )
    .await
    .unwrap();
    let t = |s: &str| parse_rfc3339(s).unwrap();
    let args = ReportArgs {
        from: Some(t("2026-03-01T00:00:00Z")),
        to: Some(t("2026-03-07T00:00:00Z")),
        at: Some(t("2026-03-03T10:00:00Z")),
        employee_id: Some("e-00001".into()),
        door_id: Some("hq-lobby-main".into()),
        days: Some(2),
    };
    let df = Recording {
        inner: DataFusionEngine::local(&lake).await.unwrap(),
        runs: Mutex::new(Vec::new()),
    };

    let mut nonempty = 0;
    for def in REPORTS {
        let want = run_report(&df, def, &args).await.unwrap();
        let runs = std::mem::take(&mut *df.runs.lock().unwrap());
        preset(
            &region,
            runs.iter()
                .map(|batches| athena_result(batches, &batches[0].schema()))
                .collect(),
        );
        let got = run_report(&engine, def, &args).await.unwrap();
        assert_eq!(render::csv(&got), render::csv(&want), "report {}", def.name);
        assert_eq!(
            render::json(&got),
            render::json(&want),
            "report {}",
            def.name
        );
        nonempty += usize::from(!want.rows.is_empty());

        // What Athena was sent: the catalog's text with `?` for each `$name`,
        // the values as typed literals in ExecutionParameters, in order.
        let stats = engine.take_stats();
        assert_eq!(stats.len(), runs.len(), "report {}", def.name);
        for s in stats {
            let q = query(&s.label).unwrap();
            let e = execution(&athena, s.query_id.as_deref().unwrap()).await;
            let (text, names) = positional(q.sql);
            assert_eq!(e.query(), Some(text.as_str()), "{}", q.name);
            assert_eq!(e.execution_parameters().len(), names.len(), "{}", q.name);
            assert_eq!(
                e.query_execution_context().unwrap().database(),
                Some("accesslake")
            );
            assert_eq!(e.work_group(), Some("primary"));
            for (name, value) in names.iter().zip(e.execution_parameters()) {
                match *name {
                    "from" => assert_eq!(value, "TIMESTAMP '2026-03-01 00:00:00.000000'"),
                    "from_dt" => assert_eq!(value, "'2026-03-01'"),
                    "to_dt" => assert_eq!(value, "'2026-03-06'"),
                    "employee_id" => assert_eq!(value, "'e-00001'"),
                    "door_id" => assert_eq!(value, "'hq-lobby-main'"),
                    _ => assert!(
                        value.starts_with("TIMESTAMP '") || value.starts_with('\''),
                        "{name} = {value}"
                    ),
                }
            }
            assert!(s.bytes_scanned.is_some(), "bytes scanned are reported");
        }
    }
    assert!(
        nonempty >= 9,
        "the fixture exercises the reports ({nonempty} had rows)"
    );

    // A hostile parameter is one quoted literal, never SQL text.
    let hostile = "e-1' OR '1'='1'; DROP TABLE decisions --";
    preset(&region, vec![json!({"rows": [], "column_info": []})]);
    let q = query("person_trail").unwrap();
    let params = Params::range(t("2026-03-01T00:00:00Z"), t("2026-03-02T00:00:00Z"))
        .unwrap()
        .with(
            "employee_id",
            accesslake_queries::Value::Text(hostile.into()),
        );
    let rows = engine.run(q, &params).await.unwrap();
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    let id = engine.take_stats().pop().unwrap().query_id.unwrap();
    let e = execution(&athena, &id).await;
    assert!(!e.query().unwrap().contains("OR '1'"));
    assert!(
        e.execution_parameters()
            .contains(&"'e-1'' OR ''1''=''1''; DROP TABLE decisions --'".to_string())
    );
    // A missing parameter is refused before anything is sent.
    let e = engine.run(q, &Params::new()).await.unwrap_err().to_string();
    assert!(e.contains("needs parameter"), "{e}");

    // Many rows come back whole (one page on moto).
    let many: Vec<Json> = std::iter::once(json!({"Data": [{"VarCharValue": "n"}]}))
        .chain((0..2500).map(|i| json!({"Data": [{"VarCharValue": i.to_string()}]})))
        .collect();
    preset(
        &region,
        vec![
            json!({"rows": many, "column_info": [{"Name": "n", "Label": "n", "Type": "integer"}]}),
        ],
    );
    let b = engine.sql("SELECT n FROM t").await.unwrap();
    let n: Vec<i32> = b
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec())
        .collect();
    assert_eq!(n, (0..2500).collect::<Vec<_>>());
    engine.take_stats();

    // A query that takes a few polls is waited for.
    transition(json!({"progression": "manual", "times": 3}));
    preset(
        &region,
        vec![
            json!({"rows": [{"Data": [{"VarCharValue": "x"}]}, {"Data": [{"VarCharValue": "1"}]}],
                    "column_info": [{"Name": "x", "Label": "x", "Type": "bigint"}]}),
        ],
    );
    let b = engine.sql("SELECT 1 AS x").await.unwrap();
    assert_eq!(b[0].column(0).as_primitive::<Int64Type>().value(0), 1);

    // One that never ends is cancelled at the timeout, with a clear error.
    transition(json!({"progression": "manual", "times": 1_000_000}));
    let mut short = settings.clone();
    short.timeout = Duration::from_millis(300);
    let impatient = AthenaEngine::new(athena.clone(), short);
    let e = impatient.sql("SELECT 1").await.unwrap_err().to_string();
    assert!(
        e.contains("did not finish within 0.3 s and was cancelled"),
        "{e}"
    );
    let id = e.split("query ").nth(1).unwrap().split(' ').next().unwrap();
    let state = execution(&athena, id)
        .await
        .status()
        .unwrap()
        .state()
        .cloned();
    assert_eq!(
        state,
        Some(aws_sdk_athena::types::QueryExecutionState::Cancelled)
    );

    // One cancelled by someone else while it runs ends in an error too.
    let waiting = tokio::spawn({
        let athena = athena.clone();
        let settings = settings.clone();
        async move {
            AthenaEngine::new(athena, settings)
                .sql("SELECT 2")
                .await
                .unwrap_err()
                .to_string()
        }
    });
    let victim = loop {
        let ids = athena
            .list_query_executions()
            .send()
            .await
            .unwrap()
            .query_execution_ids()
            .to_vec();
        let mut found = None;
        for id in ids {
            let e = execution(&athena, &id).await;
            if e.query() == Some("SELECT 2") {
                found = Some(id);
            }
        }
        if let Some(id) = found {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    athena
        .stop_query_execution()
        .query_execution_id(&victim)
        .send()
        .await
        .unwrap();
    let e = waiting.await.unwrap();
    assert!(e.contains(&format!("query {victim} was cancelled")), "{e}");
    transition(json!({"progression": "immediate"}));
}
