//! The DataFusion engine: the lake's tables registered from any object store
//! with their `dt` partition column, so `dt` filters prune whole folders.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use accesslake_model::Table;
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;

use crate::engine::QueryStats;
use crate::params::Value;
use crate::{Error, Params, Query, QueryEngine, Result};

/// DataFusion over a lake folder or object store.
pub struct DataFusionEngine {
    ctx: SessionContext,
    stats: Mutex<Vec<QueryStats>>,
}

impl std::fmt::Debug for DataFusionEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFusionEngine").finish_non_exhaustive()
    }
}

impl DataFusionEngine {
    /// Opens the lake in a local folder.
    pub async fn local(dir: &std::path::Path) -> Result<Self> {
        let abs = std::fs::canonicalize(dir)
            .map_err(|e| Error::Lake(format!("{}: {e}", dir.display())))?;
        let root = format!("file://{}/", abs.display());
        Self::open(&root, None).await
    }

    /// Opens a lake at `root` (`file:///…/` or `s3://bucket/prefix/`), reading
    /// through `store` when given (S3, or an in-memory store in tests).
    pub async fn open(
        root: &str,
        store: Option<Arc<dyn object_store::ObjectStore>>,
    ) -> Result<Self> {
        let mut config = SessionConfig::new()
            .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()))
            .with_information_schema(true);
        // Strings are scanned as Utf8View (no copy out of the Parquet
        // pages); results are cast back to Utf8, the lake schema's type.
        config
            .options_mut()
            .execution
            .parquet
            .schema_force_view_types = true;
        config.options_mut().execution.parquet.pushdown_filters = true;
        // No table statistics gathered from every file's footer at planning:
        // on a 10M-scan lake (686 decision files) that cost 200-400 MiB
        // before the first row was read and raised every report's peak
        // memory by 0.2-0.8 GiB, for no faster plan. Row groups and pages
        // are still pruned by their statistics as each file is opened.
        config.options_mut().execution.collect_statistics = false;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(crate::row_number::RowNumberWholeInput))
            .build();
        let ctx = SessionContext::new_with_state(state);
        if let Some(store) = store {
            let url = url::Url::parse(root).map_err(|e| Error::Lake(format!("{root}: {e}")))?;
            ctx.register_object_store(&url, store);
        }
        let root = if root.ends_with('/') {
            root.to_string()
        } else {
            format!("{root}/")
        };
        for table in Table::ALL {
            let url = ListingTableUrl::parse(format!("{root}{}/", table.name()))?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![("dt".to_string(), DataType::Utf8)]);
            let config = ListingTableConfig::new(url)
                .with_listing_options(options)
                .with_schema(view_schema(&table.schema()));
            ctx.register_table(table.name(), Arc::new(ListingTable::try_new(config)?))?;
        }
        ctx.register_udf(json_extract_scalar());
        // min and max: grouped over Utf8View without an allocation per group.
        for udaf in crate::view_min_max::min_max_udafs() {
            ctx.register_udaf(udaf);
        }
        Ok(DataFusionEngine {
            ctx,
            stats: Mutex::new(Vec::new()),
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs the query and records its time and the bytes it read from the
    /// lake's Parquet files (the measure Athena bills).
    async fn collect(&self, label: &str, df: DataFrame) -> Result<Vec<RecordBatch>> {
        let started = Instant::now();
        let task = Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        let batches = datafusion::physical_plan::collect(Arc::clone(&plan), task)
            .await?
            .iter()
            .map(utf8_batch)
            .collect::<Result<Vec<_>>>()?;
        let stats = QueryStats {
            label: label.to_string(),
            engine: "datafusion",
            query_id: None,
            elapsed: started.elapsed(),
            engine_millis: None,
            bytes_scanned: Some(bytes_scanned(plan.as_ref())),
        };
        if let Ok(mut all) = self.stats.lock() {
            all.push(stats);
        }
        Ok(batches)
    }
}

/// `schema` with its Utf8 fields as Utf8View, the type scans produce.
fn view_schema(schema: &arrow_schema::Schema) -> arrow_schema::SchemaRef {
    Arc::new(arrow_schema::Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View)),
                _ => Arc::clone(f),
            })
            .collect::<Vec<_>>(),
    ))
}

/// `batch` with its Utf8View columns as Utf8, the type reports read.
fn utf8_batch(batch: &RecordBatch) -> Result<RecordBatch> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type() == &DataType::Utf8View)
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.data_type() == &DataType::Utf8View {
            fields.push(Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8)));
            columns.push(datafusion::arrow::compute::cast(c, &DataType::Utf8)?);
        } else {
            fields.push(Arc::clone(f));
            columns.push(Arc::clone(c));
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(fields)),
        columns,
    )?)
}

/// The bytes the plan's Parquet scans read (footers, column chunks and
/// pages after pruning), over the whole plan.
fn bytes_scanned(plan: &dyn ExecutionPlan) -> u64 {
    let own = plan
        .metrics()
        .and_then(|m| m.sum_by_name("bytes_scanned"))
        .map_or(0, |v| v.as_usize() as u64);
    own + plan
        .children()
        .into_iter()
        .map(|c| bytes_scanned(c.as_ref()))
        .sum::<u64>()
}

fn scalar(v: &Value) -> ScalarValue {
    match v {
        Value::Timestamp(t) => ScalarValue::TimestampMicrosecond(Some(*t), Some("UTC".into())),
        Value::Text(s) => ScalarValue::Utf8(Some(s.clone())),
    }
}

#[async_trait::async_trait]
impl QueryEngine for DataFusionEngine {
    fn name(&self) -> &'static str {
        "datafusion"
    }

    async fn run(&self, query: &Query, params: &Params) -> Result<Vec<RecordBatch>> {
        let values: Vec<(&str, ScalarValue)> = params
            .for_query(query)?
            .into_iter()
            .map(|(k, v)| (k, scalar(v)))
            .collect();
        let df = self.ctx.sql(query.sql).await?.with_param_values(values)?;
        self.collect(query.name, df).await
    }

    async fn sql(&self, text: &str) -> Result<Vec<RecordBatch>> {
        let df = self.ctx.sql(text).await?;
        self.collect("sql", df).await
    }

    /// Each value bound by DataFusion; parameters the text does not use are ignored.
    async fn sql_with_params(&self, text: &str, params: &Params) -> Result<Vec<RecordBatch>> {
        let values: Vec<(&str, ScalarValue)> = params
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), scalar(v)))
            .collect();
        let df = self.ctx.sql(text).await?;
        let df = if values.is_empty() {
            df
        } else {
            df.with_param_values(values)?
        };
        self.collect("sql", df).await
    }

    fn take_stats(&self) -> Vec<QueryStats> {
        self.stats
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

/// `json_extract_scalar(json, '$.key[.key…]')` with Trino's meaning: the
/// scalar at the path as text (strings unquoted, numbers and booleans as
/// written), NULL for a missing key, an object, an array or JSON null. The
/// catalog uses it so the same SQL runs on DataFusion, Athena and DuckDB.
pub fn json_extract_scalar() -> ScalarUDF {
    create_udf(
        "json_extract_scalar",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let (json, path) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
            let out: StringArray = (0..json.len())
                .map(|i| {
                    if json.is_null(i) || path.is_null(i) {
                        return None;
                    }
                    extract(json.value(i), path.value(i))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

fn extract(json: &str, path: &str) -> Option<String> {
    let keys = path.strip_prefix("$.")?;
    let mut v: serde_json::Value = serde_json::from_str(json).ok()?;
    for key in keys.split('.') {
        v = v.get_mut(key)?.take();
    }
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::extract;

    #[test]
    fn json_paths_follow_trino() {
        let j = r#"{"name":"Zoë","capacity":120,"ok":true,"n":null,"o":{"a":"x"},"l":[1]}"#;
        assert_eq!(extract(j, "$.name").as_deref(), Some("Zoë"));
        assert_eq!(extract(j, "$.capacity").as_deref(), Some("120"));
        assert_eq!(extract(j, "$.ok").as_deref(), Some("true"));
        assert_eq!(extract(j, "$.o.a").as_deref(), Some("x"));
        for none in ["$.n", "$.o", "$.l", "$.missing", "name", "$"] {
            assert_eq!(extract(j, none), None, "{none}");
        }
        assert_eq!(extract("not json", "$.a"), None);
    }
}
