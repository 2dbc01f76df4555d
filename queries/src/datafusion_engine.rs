//! The DataFusion engine: the lake's tables registered from any object store
//! with their `dt` partition column, so `dt` filters prune whole folders.

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;

use crate::engine::{BatchStream, QueryStats};
use crate::params::Value;
use crate::{Error, Params, Query, QueryEngine, Result};

/// The memory a query may hold for its sorts, groups and joins before the
/// ones that can spill write to temporary files, unless told otherwise.
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

/// Bytes of the query memory limit per file merged in one pass of a
/// spilled sort: 64 files under the default 1 GiB.
const SPILL_MERGE_BYTES_PER_FILE: usize = 16 * 1024 * 1024;

/// DataFusion over a lake folder or object store.
pub struct DataFusionEngine {
    ctx: SessionContext,
    stats: Arc<Mutex<Vec<QueryStats>>>,
}

impl std::fmt::Debug for DataFusionEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFusionEngine").finish_non_exhaustive()
    }
}

impl DataFusionEngine {
    /// Opens the lake in a local folder.
    pub async fn local(dir: &std::path::Path) -> Result<Self> {
        Self::local_with_memory(dir, DEFAULT_MEMORY_LIMIT).await
    }

    /// Opens the lake in a local folder; queries hold at most about
    /// `memory_limit` bytes in their sorts, groups and joins.
    pub async fn local_with_memory(dir: &std::path::Path, memory_limit: usize) -> Result<Self> {
        let abs = std::fs::canonicalize(dir)
            .map_err(|e| Error::Lake(format!("{}: {e}", dir.display())))?;
        let root = format!("file://{}/", abs.display());
        Self::open_with_memory(&root, None, memory_limit).await
    }

    /// Opens a lake at `root` (`file:///…/` or `s3://bucket/prefix/`), reading
    /// through `store` when given (S3, or an in-memory store in tests).
    pub async fn open(
        root: &str,
        store: Option<Arc<dyn object_store::ObjectStore>>,
    ) -> Result<Self> {
        Self::open_with_memory(root, store, DEFAULT_MEMORY_LIMIT).await
    }

    /// [`Self::open`] with a memory limit. Sorts and grouped aggregations
    /// that reach it spill to files in the system's temporary folder and go
    /// on; what cannot spill (a hash join's build side) fails with an error
    /// that names the largest consumers, never by exhausting the machine.
    pub async fn open_with_memory(
        root: &str,
        store: Option<Arc<dyn object_store::ObjectStore>>,
        memory_limit: usize,
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
        // Each sort sets aside memory to merge what it spilled (10 MB unless
        // told); under a small limit that alone would exhaust the pool.
        let merge = &mut config.options_mut().execution.sort_spill_reservation_bytes;
        *merge = (*merge).min(memory_limit / 64);
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(memory_limit),
            NonZeroUsize::new(5).unwrap_or(NonZeroUsize::MIN),
        );
        // A sort that spilled merges its files in passes of at most
        // `fan_in`, each file holding two batches in memory. Unbounded, the
        // first big merge takes every byte left in the pool, and the sorts
        // after it in the plan cannot set aside their own merge memory
        // (occupancy over 100M scans failed so).
        let fan_in = (memory_limit / SPILL_MERGE_BYTES_PER_FILE).max(2);
        let runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_max_spill_merge_fan_in(fan_in),
            )
            .with_memory_pool(Arc::new(pool))
            .build_arc()?;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(crate::row_number::StreamingRowNumber))
            .with_physical_optimizer_rule(Arc::new(crate::compact_views::CompactViewsBeforeSort))
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
            stats: Arc::new(Mutex::new(Vec::new())),
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs the query and records its time and the bytes it read from the
    /// lake's Parquet files (the measure Athena bills).
    async fn collect(&self, label: &str, df: DataFrame) -> Result<Vec<RecordBatch>> {
        use futures::TryStreamExt;
        self.stream(label, df).await?.batches.try_collect().await
    }

    /// Starts the query; its stats are recorded when the stream ends.
    async fn stream(&self, label: &str, df: DataFrame) -> Result<BatchStream> {
        let started = Instant::now();
        let task = Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        let inner = datafusion::physical_plan::execute_stream(Arc::clone(&plan), task)?;
        let schema = utf8_schema(&inner.schema());
        Ok(BatchStream {
            schema,
            batches: Box::pin(StatsOnEnd {
                inner,
                plan,
                label: label.to_string(),
                started,
                stats: Some(Arc::clone(&self.stats)),
            }),
        })
    }
}

/// A query's batches as Utf8, recording the query's stats at the end.
struct StatsOnEnd {
    inner: SendableRecordBatchStream,
    plan: Arc<dyn ExecutionPlan>,
    label: String,
    started: Instant,
    stats: Option<Arc<Mutex<Vec<QueryStats>>>>,
}

impl futures::Stream for StatsOnEnd {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(batch)) => Poll::Ready(Some(
                batch.map_err(Error::from).and_then(|b| utf8_batch(&b)),
            )),
            Poll::Ready(None) => {
                if let Some(stats) = self.stats.take() {
                    let s = QueryStats {
                        label: std::mem::take(&mut self.label),
                        engine: "datafusion",
                        query_id: None,
                        elapsed: self.started.elapsed(),
                        engine_millis: None,
                        bytes_scanned: Some(bytes_scanned(self.plan.as_ref())),
                    };
                    if let Ok(mut all) = stats.lock() {
                        all.push(s);
                    }
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `schema` with its Utf8View fields as Utf8, the type reports read.
fn utf8_schema(schema: &arrow_schema::Schema) -> arrow_schema::SchemaRef {
    retyped(schema, &DataType::Utf8View, &DataType::Utf8)
}

/// `schema` with its Utf8 fields as Utf8View, the type scans produce.
fn view_schema(schema: &arrow_schema::Schema) -> arrow_schema::SchemaRef {
    retyped(schema, &DataType::Utf8, &DataType::Utf8View)
}

/// `schema` with the fields of type `from` as `to`.
fn retyped(
    schema: &arrow_schema::Schema,
    from: &DataType,
    to: &DataType,
) -> arrow_schema::SchemaRef {
    Arc::new(arrow_schema::Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                t if t == from => Arc::new(f.as_ref().clone().with_data_type(to.clone())),
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
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8View => datafusion::arrow::compute::cast(c, &DataType::Utf8),
            _ => Ok(Arc::clone(c)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(utf8_schema(&batch.schema()), columns)?)
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

/// Every parameter, bound by DataFusion; ones the text does not use are ignored.
fn values(params: &Params) -> Vec<(&str, ScalarValue)> {
    params
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), scalar(v)))
        .collect()
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
        use futures::TryStreamExt;
        self.sql_stream(text, params)
            .await?
            .batches
            .try_collect()
            .await
    }

    async fn sql_stream(&self, text: &str, params: &Params) -> Result<BatchStream> {
        let df = self.ctx.sql(text).await?;
        let df = if params.0.is_empty() {
            df
        } else {
            df.with_param_values(values(params))?
        };
        self.stream("sql", df).await
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
