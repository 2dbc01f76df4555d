//! Helpers shared by the end-to-end tests: run the local pipeline, read a
//! lake back with the Parquet reader, inject storage faults.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use accesslake_ingest::reader::Merge;
use accesslake_ingest::{IngestOptions, LocalPipeline, Summary};
use accesslake_model::{FixedClock, Table, parse_rfc3339};
use accesslake_transform::Lake;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(parse_rfc3339("2026-06-01T12:00:00Z").unwrap()))
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Runs `accesslake ingest` in-process on a lake folder.
pub fn ingest(lake: &Path, files: &[PathBuf], chunk: usize) -> accesslake_ingest::Result<Summary> {
    ingest_into(Lake::local(lake)?, lake, files, chunk)
}

/// Runs an ingest writing through `store`, with the state of the lake folder `lake`.
fn ingest_into(
    store: Lake,
    lake: &Path,
    files: &[PathBuf],
    chunk: usize,
) -> accesslake_ingest::Result<Summary> {
    rt().block_on(async {
        let clock = clock();
        let mut merge = Merge::open(files, clock.as_ref())?;
        let state = accesslake_ingest::local::default_state_path(lake);
        let mut p = LocalPipeline::open_with(store, &state, clock.clone()).await?;
        p.ingest(
            &mut merge,
            &IngestOptions {
                chunk_events: chunk,
            },
            &mut |_, _| {},
        )
        .await
    })
}

/// Every Parquet file of a table in a local lake, with its path relative to the lake.
pub fn table_files(lake: &Path, table: Table) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = lake.join(table.name());
    let Ok(parts) = std::fs::read_dir(&root) else {
        return out;
    };
    for part in parts.flatten() {
        for f in std::fs::read_dir(part.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|e| e == "parquet") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

pub fn read_file(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// One value of any column type the lake uses, as text.
pub fn cell(col: &dyn Array, i: usize) -> String {
    if col.is_null(i) {
        return "∅".into();
    }
    use arrow_schema::DataType as D;
    match col.data_type() {
        D::Utf8 => col.as_string::<i32>().value(i).to_string(),
        D::Int8 => col.as_primitive::<Int8Type>().value(i).to_string(),
        D::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
        D::Boolean => col.as_boolean().value(i).to_string(),
        D::Timestamp(..) => accesslake_model::format_rfc3339(
            col.as_primitive::<TimestampMicrosecondType>().value(i),
        ),
        other => panic!("unexpected column type {other}"),
    }
}

/// All rows of a table as `col=value|…` strings, sorted, without the named columns.
pub fn rows(lake: &Path, table: Table, skip: &[&str]) -> Vec<String> {
    let batches: Vec<RecordBatch> = table_files(lake, table)
        .iter()
        .flat_map(|f| read_file(f))
        .collect();
    batch_rows(&batches, skip)
}

/// The rows of record batches as `col=value|…` strings, sorted, without the named columns.
pub fn batch_rows(batches: &[RecordBatch], skip: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let schema = b.schema();
        for i in 0..b.num_rows() {
            let row: Vec<String> = schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, fl)| !skip.contains(&fl.name().as_str()))
                .map(|(c, fl)| format!("{}={}", fl.name(), cell(b.column(c).as_ref(), i)))
                .collect();
            out.push(row.join("|"));
        }
    }
    out.sort();
    out
}

/// Every Parquet object of a table in a lake on any object store, decoded.
pub async fn store_batches(lake: &Lake, table: Table) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for path in lake.list(table).await.unwrap() {
        let bytes = lake.get(&path).await.unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        out.extend(reader.map(|b| b.unwrap()));
    }
    out
}

/// The columns that depend on when a run happened, not on its input.
pub const RUN_TIME_COLUMNS: &[&str] = &["processed_at", "received_at"];

/// Runs before a put reaches the store.
pub type PutHook = Box<dyn Fn(&OPath) + Send + Sync>;

/// Fails every put (and, if `deletes_too`, every delete) after the first
/// `allow` of them, as a crash or lost network would; `before_put` runs
/// before each put that goes through (a concurrent writer, in tests).
pub struct FailingStore {
    pub inner: Arc<dyn object_store::ObjectStore>,
    pub allow: usize,
    pub ops: Arc<AtomicUsize>,
    pub deletes_too: bool,
    pub before_put: Option<PutHook>,
}

impl FailingStore {
    pub fn puts(inner: Arc<dyn object_store::ObjectStore>, allow: usize) -> Self {
        FailingStore {
            inner,
            allow,
            ops: Arc::default(),
            deletes_too: false,
            before_put: None,
        }
    }

    pub fn puts_and_deletes(inner: Arc<dyn object_store::ObjectStore>, allow: usize) -> Self {
        FailingStore {
            deletes_too: true,
            ..Self::puts(inner, allow)
        }
    }

    /// Counts one write; an error once the allowance is spent.
    fn spend(ops: &AtomicUsize, allow: usize) -> object_store::Result<()> {
        if ops.fetch_add(1, Ordering::SeqCst) >= allow {
            return Err(object_store::Error::Generic {
                store: "failing",
                source: "injected failure".into(),
            });
        }
        Ok(())
    }
}

impl std::fmt::Debug for FailingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailingStore")
            .field("allow", &self.allow)
            .field("ops", &self.ops)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for FailingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailingStore({})", self.inner)
    }
}

use object_store::path::Path as OPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

#[async_trait::async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &OPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        Self::spend(&self.ops, self.allow)?;
        if let Some(hook) = &self.before_put {
            hook(location);
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &OPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &OPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<OPath>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<OPath>> {
        use futures::StreamExt;
        if !self.deletes_too {
            return self.inner.delete_stream(locations);
        }
        let (ops, allow) = (self.ops.clone(), self.allow);
        let checked = locations.map(move |l| l.and_then(|p| Self::spend(&ops, allow).map(|()| p)));
        self.inner.delete_stream(checked.boxed())
    }
    fn list(
        &self,
        prefix: Option<&OPath>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(
        &self,
        prefix: Option<&OPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &OPath,
        to: &OPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Runs an ingest whose puts fail after `allow` of them; returns whether it failed.
pub fn ingest_failing(lake: &Path, files: &[PathBuf], chunk: usize, allow: usize) -> bool {
    let failing = FailingStore::puts(Lake::local(lake).unwrap().store().clone(), allow);
    ingest_into(
        Lake::from_store(Arc::new(failing), "failing"),
        lake,
        files,
        chunk,
    )
    .is_err()
}

/// Every report of SPEC 6 on `engine` with `args`, rendered as CSV.
pub fn every_report(
    engine: &accesslake_queries::DataFusionEngine,
    args: &accesslake_reports::ReportArgs,
) -> Vec<(&'static str, String)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut out = Vec::new();
        for def in accesslake_reports::REPORTS {
            let r = accesslake_reports::run_report(engine, def, args)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", def.name));
            out.push((def.name, accesslake_reports::render::csv(&r)));
        }
        out
    })
}

/// A generated fixture in a temporary folder.
pub fn fixture(dir: &Path, employees: u32, days: u32, seed: u64) -> Vec<PathBuf> {
    let cfg = accesslake_fixtures::GenConfig {
        seed,
        employees,
        days,
        ..Default::default()
    };
    accesslake_fixtures::generate_to_dir(&cfg, dir).unwrap();
    vec![dir.join("admin.jsonl"), dir.join("entries.jsonl")]
}

/// Asserts two sorted row sets are equal, reporting counts and the first differences only.
pub fn assert_same_rows(got: &[String], want: &[String], what: &str) {
    if got == want {
        return;
    }
    let gs: std::collections::BTreeSet<&String> = got.iter().collect();
    let ws: std::collections::BTreeSet<&String> = want.iter().collect();
    let extra: Vec<&&String> = gs.difference(&ws).take(3).collect();
    let missing: Vec<&&String> = ws.difference(&gs).take(3).collect();
    panic!(
        "{what}: {} rows, expected {}\n  unexpected: {extra:#?}\n  missing: {missing:#?}",
        got.len(),
        want.len()
    );
}
