//! Compaction: rewrites the many small files of a partition into few files
//! near a target size, sorted as SPEC 4 says, with duplicate rows removed,
//! and removes the inputs only once every output is written and readable.
//!
//! A run over one partition is, in order (docs/lake.md, "Compaction"):
//!
//! 1. list the partition; the listed files are the inputs (files landing
//!    later are left for the next run);
//! 2. read, dedupe, sort and encode them in memory;
//! 3. put `_compaction.json` in the partition (`writing`: inputs and outputs);
//! 4. put the outputs `compact-<id>-<n>.parquet`, then read back each one's
//!    footer and check its size and row count;
//! 5. put `_compaction.json` again (`committed`);
//! 6. delete each input that is unchanged since it was listed, then the manifest.
//!
//! Readers ignore the manifest (its name starts with `_` and it is not
//! Parquet). Between 4 and 6 a reader sees an input and its output together;
//! every report counts each event_id once (SPEC 6), so its answer is the same.
//! A run that dies is finished by the next: a `writing` manifest means its
//! outputs are discarded and the partition is compacted again, a `committed`
//! one means its remaining inputs are deleted.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use accesslake_model::Table;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_ord::sort::{SortColumn, SortOptions, lexsort_to_indices};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use chrono::NaiveDate;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};
use serde::{Deserialize, Serialize};

use crate::parquet_file::encode_parquet;
use crate::partition::{PartitionKey, file_key};
use crate::{Error, Lake, Result};

/// The default size of a compacted file (SPEC 4).
pub const DEFAULT_TARGET_SIZE: u64 = 128 * 1024 * 1024;
/// The manifest of a run in progress, one per partition.
pub const MANIFEST: &str = "_compaction.json";
const OUTPUT_PREFIX: &str = "compact-";

/// What to compact.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Event tables to compact (snapshots are written whole and are skipped).
    pub tables: Vec<Table>,
    /// First and last `dt` (inclusive); `None` is open.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Bytes per output file to aim for.
    pub target_size: u64,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            tables: Table::EVENTS.to_vec(),
            from: None,
            to: None,
            target_size: DEFAULT_TARGET_SIZE,
        }
    }
}

/// A file as listed when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub path: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// Last modification, RFC 3339.
    pub modified: String,
}

impl Listed {
    fn of(m: &ObjectMeta) -> Self {
        Listed {
            path: m.location.to_string(),
            size: m.size,
            e_tag: m.e_tag.clone(),
            modified: m.last_modified.to_rfc3339(),
        }
    }

    /// Whether the object is still the one listed: same size and ETag (a
    /// HEAD gives the modification time at a coarser precision than a LIST on
    /// S3, so it is compared only for stores without ETags).
    fn unchanged(&self, m: &ObjectMeta) -> bool {
        let now = Listed::of(m);
        self.size == now.size
            && match (&self.e_tag, &now.e_tag) {
                (Some(a), Some(b)) => a == b,
                (None, None) => self.modified == now.modified,
                _ => false,
            }
    }
}

/// A file a run writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestState {
    Writing,
    Committed,
}

/// `_compaction.json`: what a run in a partition is replacing with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub state: ManifestState,
    pub id: String,
    pub inputs: Vec<Listed>,
    pub outputs: Vec<Output>,
}

/// What a plan does in one partition.
#[derive(Debug, Clone)]
pub enum Action {
    /// Rewrite `inputs`; first delete `discard`, the outputs of a run that
    /// died before committing.
    Rewrite {
        inputs: Vec<Listed>,
        discard: Vec<String>,
    },
    /// A run committed and died while deleting its inputs: delete the rest.
    Finish(Manifest),
}

/// One partition of a plan.
#[derive(Debug, Clone)]
pub struct PartitionPlan {
    pub key: PartitionKey,
    pub action: Action,
}

/// Which partitions a run touches, with which files.
#[derive(Debug, Clone)]
pub struct Plan {
    pub partitions: Vec<PartitionPlan>,
    /// Partitions already holding only one run's outputs.
    pub up_to_date: usize,
    pub target_size: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub partitions: usize,
    pub partitions_finished: usize,
    pub partitions_up_to_date: usize,
    pub files_in: usize,
    pub files_out: usize,
    pub rows_in: u64,
    pub rows_out: u64,
    pub duplicates_removed: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Inputs that changed after they were read (a retried writer replaced
    /// them); kept for the next run.
    pub inputs_kept_changed: usize,
    pub seconds: f64,
    /// Partitions that could not be compacted, with why; nothing in them was deleted.
    pub failed: Vec<(String, String)>,
}

/// Lists the partitions of `opts` and decides what to do in each.
pub async fn plan(lake: &Lake, opts: &CompactOptions) -> Result<Plan> {
    let mut partitions = Vec::new();
    let mut up_to_date = 0;
    for &table in &opts.tables {
        if table.is_snapshot() {
            continue;
        }
        for (dt, files) in list_partitions(lake, table, opts.from, opts.to).await? {
            let key = PartitionKey { table, dt };
            match plan_partition(lake, key, files).await? {
                Some(action) => partitions.push(PartitionPlan { key, action }),
                None => up_to_date += 1,
            }
        }
    }
    Ok(Plan {
        partitions,
        up_to_date,
        target_size: opts.target_size,
    })
}

/// Every object under a table's partitions in range, by `dt`. Objects whose
/// key is not `<table>/dt=YYYY-MM-DD/<name>` are not the lake's and are left alone.
async fn list_partitions(
    lake: &Lake,
    table: Table,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<BTreeMap<NaiveDate, Vec<ObjectMeta>>> {
    let prefix = Path::from(table.name());
    let all: Vec<ObjectMeta> = lake.store().list(Some(&prefix)).try_collect().await?;
    let mut out: BTreeMap<NaiveDate, Vec<ObjectMeta>> = BTreeMap::new();
    for m in all {
        let parts: Vec<_> = m.location.parts().collect();
        if parts.len() != 3 {
            continue;
        }
        // Only the canonical `dt=YYYY-MM-DD` the writers make: a folder such
        // as `dt=2026-3-2` would otherwise be rewritten into another folder.
        let Some(dt) = parts[1].as_ref().strip_prefix("dt=").and_then(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .filter(|p| p.format("%Y-%m-%d").to_string() == d)
        }) else {
            continue;
        };
        if from.is_some_and(|f| dt < f) || to.is_some_and(|t| dt > t) {
            continue;
        }
        out.entry(dt).or_default().push(m);
    }
    for files in out.values_mut() {
        files.sort_by(|a, b| a.location.cmp(&b.location));
    }
    Ok(out)
}

fn manifest_path(key: PartitionKey) -> Result<Path> {
    Ok(Path::from(format!("{}/{MANIFEST}", key.prefix()?)))
}

async fn read_manifest(lake: &Lake, key: PartitionKey) -> Result<Option<Manifest>> {
    let path = manifest_path(key)?;
    match lake.store().get(&path).await {
        Ok(r) => {
            let bytes = r.bytes().await?;
            let m: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Location(path.to_string(), format!("bad manifest: {e}")))?;
            Ok(Some(m))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `None` when the partition is already compacted.
async fn plan_partition(
    lake: &Lake,
    key: PartitionKey,
    files: Vec<ObjectMeta>,
) -> Result<Option<Action>> {
    let has_manifest = files
        .iter()
        .any(|m| m.location.filename() == Some(MANIFEST));
    let parquet: Vec<&ObjectMeta> = files
        .iter()
        .filter(|m| m.location.extension() == Some("parquet"))
        .collect();
    let manifest = if has_manifest {
        read_manifest(lake, key).await?
    } else {
        None
    };
    match manifest {
        Some(m) if m.state == ManifestState::Committed => Ok(Some(Action::Finish(m))),
        Some(m) => {
            let discard: Vec<String> = m.outputs.iter().map(|o| o.path.clone()).collect();
            let inputs = parquet
                .into_iter()
                .filter(|f| !discard.iter().any(|d| d == f.location.as_ref()))
                .map(Listed::of)
                .collect();
            Ok(Some(Action::Rewrite { inputs, discard }))
        }
        None => {
            let run_ids: Vec<Option<&str>> = parquet
                .iter()
                .map(|m| m.location.filename().and_then(output_run_id))
                .collect();
            let compacted =
                !run_ids.is_empty() && run_ids.iter().all(|id| id.is_some() && *id == run_ids[0]);
            if compacted || parquet.is_empty() {
                Ok(None)
            } else {
                Ok(Some(Action::Rewrite {
                    inputs: parquet.into_iter().map(Listed::of).collect(),
                    discard: Vec::new(),
                }))
            }
        }
    }
}

/// The run id in `compact-<id>-<n>.parquet`.
fn output_run_id(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(OUTPUT_PREFIX)?.strip_suffix(".parquet")?;
    let (id, n) = rest.rsplit_once('-')?;
    (!id.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// A run's id: a hash of the partition and its inputs, so a rerun over the
/// same files writes the same names.
fn run_id(key: PartitionKey, inputs: &[Listed]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    feed(key.table.name().as_bytes());
    feed(key.dt.to_string().as_bytes());
    for i in inputs {
        feed(i.path.as_bytes());
        feed(&i.size.to_le_bytes());
        feed(i.modified.as_bytes());
    }
    format!("{h:016x}")
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.partitions.is_empty() {
            return writeln!(
                f,
                "nothing to compact ({} partitions already compacted)",
                self.up_to_date
            );
        }
        for p in &self.partitions {
            let prefix = p.key.prefix().map(|p| p.to_string()).unwrap_or_default();
            match &p.action {
                Action::Rewrite { inputs, discard } => {
                    let bytes: u64 = inputs.iter().map(|i| i.size).sum();
                    let outputs = bytes.div_ceil(self.target_size.max(1)).max(1);
                    write!(
                        f,
                        "{prefix}: {} files, {} -> about {outputs} file{}",
                        inputs.len(),
                        human_bytes(bytes),
                        if outputs == 1 { "" } else { "s" }
                    )?;
                    if !discard.is_empty() {
                        write!(
                            f,
                            " (first discarding {} outputs of an unfinished run)",
                            discard.len()
                        )?;
                    }
                    writeln!(f)?;
                    for i in inputs {
                        writeln!(f, "    {} ({})", i.path, human_bytes(i.size))?;
                    }
                }
                Action::Finish(m) => writeln!(
                    f,
                    "{prefix}: finish run {}: delete up to {} inputs already compacted into {} files",
                    m.id,
                    m.inputs.len(),
                    m.outputs.len()
                )?,
            }
        }
        writeln!(
            f,
            "{} partitions to compact, {} already compacted",
            self.partitions.len(),
            self.up_to_date
        )
    }
}

/// `12.3 MiB`
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Carries out a plan, partition by partition. A partition that fails is
/// left as it was (or as a rerun can finish it) and reported in
/// [`Metrics::failed`]; an error of the store itself stops the run.
pub async fn execute(lake: &Lake, plan: &Plan) -> Result<Metrics> {
    let t = std::time::Instant::now();
    let mut m = Metrics {
        partitions_up_to_date: plan.up_to_date,
        ..Metrics::default()
    };
    for p in &plan.partitions {
        // This run is the partition's one compactor: temporary files of its
        // own objects (manifest, outputs) are what a killed run left.
        let stale = lake.remove_interrupted_puts(&p.key.prefix()?, |name| {
            name == MANIFEST || output_run_id(name).is_some()
        })?;
        if stale > 0 {
            tracing::info!(partition = %p.key.prefix()?, files = stale, "removed temporary files of an interrupted run");
        }
        match &p.action {
            Action::Finish(manifest) => {
                finish(lake, p.key, manifest, &mut m).await?;
                m.partitions_finished += 1;
            }
            Action::Rewrite { inputs, discard } => {
                for d in discard {
                    lake.delete(&Path::from(d.as_str())).await?;
                }
                match rewrite(lake, p.key, inputs, plan.target_size, &mut m).await {
                    Ok(()) => m.partitions += 1,
                    Err(Error::Unreadable(path, why)) => {
                        tracing::warn!(partition = %p.key.prefix()?, %path, %why, "partition not compacted");
                        m.failed.push((path, why));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    m.seconds = t.elapsed().as_secs_f64();
    Ok(m)
}

/// Plans and executes in one go.
pub async fn compact(lake: &Lake, opts: &CompactOptions) -> Result<Metrics> {
    execute(lake, &plan(lake, opts).await?).await
}

async fn rewrite(
    lake: &Lake,
    key: PartitionKey,
    inputs: &[Listed],
    target_size: u64,
    m: &mut Metrics,
) -> Result<()> {
    let table = key.table;
    let schema = table.schema();
    let mut batches = Vec::new();
    let mut bytes_in = 0;
    for i in inputs {
        let path = Path::from(i.path.as_str());
        let bytes = match lake.get(&path).await {
            Ok(b) => b,
            // Removed since it was listed (an earlier run's cleanup): nothing to keep.
            Err(Error::ObjectStore(object_store::Error::NotFound { .. })) => continue,
            Err(e) => return Err(e),
        };
        bytes_in += bytes.len() as u64;
        read_into(&schema, &i.path, bytes, &mut batches)?;
    }
    let all = arrow_select::concat::concat_batches(&schema, &batches)?;
    drop(batches);
    let rows_in = all.num_rows() as u64;
    let keep = dedupe(table, &all)?;
    let kept = arrow_select::take::take_record_batch(&all, &keep)?;
    drop(all);
    let order = lexsort_to_indices(&sort_columns(table, &kept)?, None)?;
    let sorted = arrow_select::take::take_record_batch(&kept, &order)?;
    drop(kept);

    let id = run_id(key, inputs);
    let files = encode_sized(table, &sorted, target_size)?;
    let mut outputs = Vec::with_capacity(files.len());
    let mut encoded = Vec::with_capacity(files.len());
    for (n, (rows, bytes)) in files.into_iter().enumerate() {
        let path = file_key(key, &format!("{OUTPUT_PREFIX}{id}-{n:04}.parquet"))?;
        outputs.push(Output {
            path: path.to_string(),
            rows: rows as u64,
            bytes: bytes.len() as u64,
        });
        encoded.push((path, bytes));
    }
    let mut manifest = Manifest {
        version: 1,
        state: ManifestState::Writing,
        id,
        inputs: inputs.to_vec(),
        outputs,
    };
    put_manifest(lake, key, &manifest).await?;
    for ((path, bytes), out) in encoded.iter().zip(&manifest.outputs) {
        lake.store()
            .put(path, PutPayload::from_bytes(bytes.clone()))
            .await?;
        verify(lake.store(), path, out).await?;
    }
    // The outputs are durable before the manifest says they are committed.
    lake.sync(encoded.iter().map(|(path, _)| path))?;
    manifest.state = ManifestState::Committed;
    put_manifest(lake, key, &manifest).await?;

    m.files_out += manifest.outputs.len();
    m.rows_in += rows_in;
    m.rows_out += sorted.num_rows() as u64;
    m.duplicates_removed += rows_in - sorted.num_rows() as u64;
    m.bytes_in += bytes_in;
    m.bytes_out += manifest.outputs.iter().map(|o| o.bytes).sum::<u64>();
    finish(lake, key, &manifest, m).await
}

/// Deletes a committed run's inputs that are unchanged since they were
/// listed, then its manifest.
async fn finish(
    lake: &Lake,
    key: PartitionKey,
    manifest: &Manifest,
    m: &mut Metrics,
) -> Result<()> {
    let inputs: Vec<Path> = manifest
        .inputs
        .iter()
        .map(|i| Path::from(i.path.as_str()))
        .collect();
    for (i, path) in manifest.inputs.iter().zip(&inputs) {
        match lake.store().head(path).await {
            Ok(now) if i.unchanged(&now) => {
                lake.delete(path).await?;
                m.files_in += 1;
            }
            Ok(_) => {
                tracing::warn!(%path, "input changed while compacting; kept for the next run");
                m.inputs_kept_changed += 1;
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The deletes are durable before the manifest that names them goes.
    lake.sync(&inputs)?;
    lake.delete(&manifest_path(key)?).await
}

async fn put_manifest(lake: &Lake, key: PartitionKey, manifest: &Manifest) -> Result<()> {
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| Error::Location(MANIFEST.into(), e.to_string()))?;
    let path = manifest_path(key)?;
    lake.store().put(&path, PutPayload::from(json)).await?;
    // What the manifest says holds once it is durable.
    lake.sync([&path])
}

/// Checks that an output is in the store whole: its size, and a footer that
/// parses and counts the rows written.
async fn verify(store: &Arc<dyn ObjectStore>, path: &Path, out: &Output) -> Result<()> {
    let bad = |why: String| Error::Location(path.to_string(), why);
    let meta = store.head(path).await?;
    if meta.size != out.bytes || meta.size < 12 {
        return Err(bad(format!(
            "{} bytes stored, {} written",
            meta.size, out.bytes
        )));
    }
    let tail = store.get_range(path, meta.size - 8..meta.size).await?;
    let tail: [u8; 8] = tail
        .as_ref()
        .try_into()
        .map_err(|_| bad("short read".into()))?;
    let len = FooterTail::try_new(&tail)?.metadata_length() as u64;
    if len + 12 > meta.size {
        return Err(bad("footer longer than the file".into()));
    }
    let footer = store
        .get_range(path, meta.size - 8 - len..meta.size - 8)
        .await?;
    let md = ParquetMetaDataReader::decode_metadata(&footer)?;
    let rows = md.file_metadata().num_rows();
    if u64::try_from(rows).ok() != Some(out.rows) {
        return Err(bad(format!("{rows} rows stored, {} written", out.rows)));
    }
    Ok(())
}

/// Decodes one input file into batches of the table's schema. A file with
/// other columns, or values the schema does not allow, is refused: the
/// partition is left alone rather than rewritten without it.
fn read_into(
    schema: &SchemaRef,
    path: &str,
    bytes: Bytes,
    out: &mut Vec<RecordBatch>,
) -> Result<()> {
    let bad = |why: String| Error::Unreadable(path.to_string(), why);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| bad(e.to_string()))?
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let want: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        if names != want {
            return Err(bad(format!(
                "columns {names:?} are not the table's {want:?}"
            )));
        }
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c.clone())
                } else {
                    arrow_cast::cast(c, f.data_type())
                        .map_err(|e| bad(format!("{}: {e}", f.name())))
                }
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        out.push(RecordBatch::try_new(schema.clone(), columns).map_err(|e| bad(e.to_string()))?);
    }
    Ok(())
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::Location(name.into(), "no such column".into()))
}

/// The rows to keep: one per key (decisions and admin events by event_id,
/// rejected records by source, source_ref and raw), the one processed or
/// received first; on a tie, the first read. Row order is kept.
fn dedupe(table: Table, batch: &RecordBatch) -> Result<UInt32Array> {
    let (key_cols, time_col): (&[&str], &str) = match table {
        Table::Decisions => (&["event_id"], "processed_at"),
        Table::AdminEvents => (&["event_id"], "received_at"),
        Table::Rejected => (&["source", "source_ref", "raw"], "received_at"),
        _ => return Ok((0..batch.num_rows() as u32).collect()),
    };
    let keys: Vec<_> = key_cols
        .iter()
        .map(|c| column(batch, c).map(|a| a.as_string::<i32>()))
        .collect::<Result<_>>()?;
    let times = column(batch, time_col)?.as_primitive::<TimestampMicrosecondType>();
    let mut best: HashMap<Vec<&str>, usize> = HashMap::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let k: Vec<&str> = keys.iter().map(|a| a.value(row)).collect();
        best.entry(k)
            .and_modify(|b| {
                if times.value(row) < times.value(*b) {
                    *b = row;
                }
            })
            .or_insert(row);
    }
    let mut rows: Vec<u32> = best.into_values().map(|r| r as u32).collect();
    rows.sort_unstable();
    Ok(UInt32Array::from(rows))
}

/// SPEC 4's order: decisions by (zone_id, unknown doors last; occurred_at),
/// then event_id so the order is total; the same as a fresh write.
fn sort_columns(table: Table, batch: &RecordBatch) -> Result<Vec<SortColumn>> {
    let names: &[&str] = match table {
        Table::Decisions => &["zone_id", "occurred_at", "event_id"],
        Table::AdminEvents => &["occurred_at", "event_id"],
        Table::Rejected => &["received_at", "source_ref"],
        _ => &[],
    };
    names
        .iter()
        .map(|n| {
            Ok(SortColumn {
                values: column(batch, n)?.clone(),
                options: Some(SortOptions {
                    descending: false,
                    nulls_first: false,
                }),
            })
        })
        .collect()
}

/// Encodes sorted rows into files of at most about `target` bytes: once
/// whole, and when that is larger, again in as many equal runs of rows as
/// the size asks for. Returns (rows, bytes) per file.
fn encode_sized(table: Table, batch: &RecordBatch, target: u64) -> Result<Vec<(usize, Bytes)>> {
    let whole = encode_parquet(table, batch)?;
    let n = (whole.len() as u64).div_ceil(target.max(1)) as usize;
    let rows = batch.num_rows();
    if n <= 1 || rows <= 1 {
        return Ok(vec![(rows, whole)]);
    }
    drop(whole);
    let n = n.min(rows);
    let per = rows.div_ceil(n);
    (0..rows)
        .step_by(per)
        .map(|start| {
            let len = per.min(rows - start);
            Ok((len, encode_parquet(table, &batch.slice(start, len))?))
        })
        .collect()
}

/// What `expire` removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Expired {
    pub partitions: usize,
    pub files: usize,
    pub bytes: u64,
}

/// Retention: deletes every partition of `tables` with `dt` before `before`.
/// With `dry_run`, only counts what would go.
pub async fn expire(
    lake: &Lake,
    tables: &[Table],
    before: NaiveDate,
    dry_run: bool,
) -> Result<Expired> {
    let mut out = Expired::default();
    let last = before.pred_opt();
    for &table in tables {
        let Some(last) = last else { break };
        for (_, files) in list_partitions(lake, table, None, Some(last)).await? {
            out.partitions += 1;
            for f in files {
                out.files += 1;
                out.bytes += f.size;
                if !dry_run {
                    lake.delete(&f.location).await?;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_carry_their_run() {
        assert_eq!(
            output_run_id("compact-0123abcd-0000.parquet"),
            Some("0123abcd")
        );
        assert_eq!(output_run_id("compact-ab-cd-0012.parquet"), Some("ab-cd"));
        for other in [
            "part-x-1.parquet",
            "compact-.parquet",
            "compact--0001.parquet",
            "compact-ab-x1.parquet",
            "compact-ab-0001.json",
        ] {
            assert_eq!(output_run_id(other), None, "{other}");
        }
    }

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(128 * 1024 * 1024), "128.0 MiB");
    }
}
