//! The local pipeline (`accesslake ingest`): merged JSONL files → decisions
//! → Parquet in a lake folder, with state in an embedded store beside it.
//!
//! Exactly-once across crashes: each chunk reserves a batch number, records
//! the keys of the files it is about to write, writes them, then commits the
//! state (which clears the record) in one transaction. A run that finds a
//! record left by a crashed run deletes those files first; their events were
//! never committed, so they are decided again. Readers may briefly see the
//! files of an in-flight chunk; they never see a chunk twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accesslake_model::{Clock, Event};
use accesslake_transform::{Lake, LakeFile};
use object_store::path::Path as ObjectPath;
use tracing::{debug, info, info_span};

use crate::Result;
use crate::processor::{ChunkOutput, Processor, Stats};
use crate::reader::Merge;
use crate::store::EmbeddedStore;

/// Tuning of a local ingest run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Events decided per chunk: one state commit and at most one file per
    /// table and day per chunk. Bounds memory.
    pub chunk_events: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            chunk_events: 250_000,
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub stats: Stats,
    pub events_read: u64,
    pub files_written: u64,
    pub rows_written: u64,
    pub bytes_written: u64,
    /// Files of a crashed earlier run that were removed before starting.
    pub recovered_files: u64,
    pub elapsed: Duration,
}

impl Summary {
    pub fn events_per_second(&self) -> f64 {
        self.events_read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The default location of a lake's state store.
pub fn default_state_path(lake_dir: &Path) -> PathBuf {
    lake_dir.join("_state").join("state.redb")
}

/// A lake folder with its embedded state, ready to ingest.
pub struct LocalPipeline {
    lake: Lake,
    processor: Processor<EmbeddedStore>,
    clock: Arc<dyn Clock>,
    recovered_files: u64,
}

impl std::fmt::Debug for LocalPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPipeline")
            .field("lake", &self.lake)
            .finish()
    }
}

impl LocalPipeline {
    /// Opens (or creates) the lake and its state, finishing any crashed batch.
    pub async fn open(lake_dir: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let lake = Lake::local(lake_dir)?;
        Self::open_with(lake, &default_state_path(lake_dir), clock).await
    }

    /// Opens with an explicit lake store and state path.
    pub async fn open_with(lake: Lake, state_path: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let mut store = EmbeddedStore::open(state_path)?;
        let pending: Vec<ObjectPath> = store
            .pending_files()?
            .iter()
            .map(|k| ObjectPath::from(k.as_str()))
            .collect();
        for path in &pending {
            lake.delete(path).await?;
            // A put killed mid-write leaves its temporary file beside the key.
            let parts: Vec<_> = path.parts().collect();
            if let Some((name, dir)) = parts.split_last() {
                let dir = ObjectPath::from_iter(dir.iter().cloned());
                let stale = lake.remove_interrupted_puts(&dir, |n| n == name.as_ref())?;
                debug!(
                    files = stale,
                    "removed temporary files of an interrupted put"
                );
            }
        }
        if !pending.is_empty() {
            info!(
                files = pending.len(),
                "removed files of an uncommitted batch"
            );
            // The deletes are durable before the record of them goes.
            lake.sync(&pending)?;
            store.clear_pending()?;
        }
        Ok(LocalPipeline {
            lake,
            processor: Processor::new(store, clock.clone())?,
            clock,
            recovered_files: pending.len() as u64,
        })
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub fn processor(&self) -> &Processor<EmbeddedStore> {
        &self.processor
    }

    /// Ingests a merged input to its end. `progress` is called after each
    /// chunk with the bytes read so far and the running counts.
    ///
    /// The next chunk is read while the state of the last one is committed:
    /// the commit waits for the disk, and reading needs neither the state
    /// nor the lake. The chunk's files are written and its state committed
    /// in the same order as before, so a crash leaves what it always did.
    pub async fn ingest(
        &mut self,
        input: &mut Merge<'_>,
        opts: &IngestOptions,
        progress: &mut dyn FnMut(u64, &Summary),
    ) -> Result<Summary> {
        let started = Instant::now();
        let mut summary = Summary {
            recovered_files: std::mem::take(&mut self.recovered_files),
            ..Summary::default()
        };
        let chunk = opts.chunk_events.max(1);
        let mut events: Vec<Event> = Vec::with_capacity(chunk.min(1 << 20));
        let mut rejected = Vec::new();
        let mut end = read_chunk(input, chunk, &mut events, &mut rejected)?;
        loop {
            summary.events_read += (events.len() + rejected.len()) as u64;
            let written = self
                .write(&mut events, std::mem::take(&mut rejected), &mut summary)
                .await?;
            let bytes_read = input.bytes_read();
            // The commit runs on a thread of its own and reading stays on
            // this one, which frees the events it read: memory freed by the
            // thread that allocated it is the allocator's fast path.
            let (processor, lake) = (&mut self.processor, &self.lake);
            let (read, committed) = std::thread::scope(|s| {
                let committer = written.map(|w| s.spawn(|| commit(processor, lake, w)));
                let read = (!end).then(|| read_chunk(input, chunk, &mut events, &mut rejected));
                (read, committer.map(|c| c.join()))
            });
            match committed {
                None => {}
                Some(Ok(committed)) => committed?,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
            }
            summary.elapsed = started.elapsed();
            progress(bytes_read, &summary);
            match read {
                Some(read) => end = read?,
                None => break,
            }
        }
        info!(
            events = summary.events_read,
            decided = summary.stats.entries_decided,
            rejected = summary.stats.rejected,
            files = summary.files_written,
            "ingest finished"
        );
        Ok(summary)
    }

    /// Decides a chunk and writes its files, recording their keys first;
    /// what is left to commit, or `None` when the chunk changes nothing (all
    /// duplicates).
    async fn write(
        &mut self,
        events: &mut Vec<Event>,
        rejected: Vec<accesslake_model::Rejected>,
        summary: &mut Summary,
    ) -> Result<Option<Written>> {
        let span = info_span!("chunk", events = events.len(), rejected = rejected.len());
        let _g = span.enter();
        let t = Instant::now();
        let out = self.processor.process_drain(events, rejected)?;
        let decided = Instant::now();
        summary.stats.add(&out.stats);
        if out.decisions.is_empty() && out.admin.is_empty() && out.rejected.is_empty() {
            // Nothing new (all duplicates): no files, no state change.
            return Ok(None);
        }
        let files = self.encode(&out)?;
        let encoded = Instant::now();
        let keys: Vec<String> = files.iter().map(|f| f.path.to_string()).collect();
        self.processor.store_mut().set_pending_files(&keys)?;
        for f in &files {
            self.lake.put(f).await?;
            summary.files_written += 1;
            summary.rows_written += f.rows as u64;
            summary.bytes_written += f.bytes.len() as u64;
        }
        debug!(
            files = files.len(),
            decide_ms = (decided - t).as_millis() as u64,
            encode_ms = (encoded - decided).as_millis() as u64,
            put_ms = encoded.elapsed().as_millis() as u64,
            "chunk written"
        );
        Ok(Some(Written {
            out,
            files: files.into_iter().map(|f| f.path).collect(),
        }))
    }

    fn encode(&mut self, out: &ChunkOutput) -> Result<Vec<LakeFile>> {
        let store = self.processor.store_mut();
        let seq = store.reserve_batch_seq()?;
        let name = format!("part-{}-{seq:010}.parquet", store.lake_id());
        let mut files = Lake::encode(&out.decisions, &name)?;
        files.extend(Lake::encode(&out.admin, &name)?);
        files.extend(Lake::encode(&out.rejected, &name)?);
        Ok(files)
    }

    /// The clock this pipeline stamps rows with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// A chunk whose files are written (not yet durable) and whose state is
/// not yet committed.
struct Written {
    out: ChunkOutput,
    files: Vec<ObjectPath>,
}

/// Makes a written chunk's files durable, then commits its state: once the
/// state records the chunk's ids, its rows survive a power loss too.
fn commit(processor: &mut Processor<EmbeddedStore>, lake: &Lake, w: Written) -> Result<()> {
    let t = Instant::now();
    lake.sync(&w.files)?;
    let synced = Instant::now();
    processor.commit(&w.out)?;
    processor.recycle(w.out);
    debug!(
        sync_ms = (synced - t).as_millis() as u64,
        commit_ms = synced.elapsed().as_millis() as u64,
        "chunk committed"
    );
    Ok(())
}

/// Reads the next chunk into `events` and `rejected` (both empty): until
/// either holds `chunk` items or the input ends. Returns whether it ended.
fn read_chunk(
    input: &mut Merge<'_>,
    chunk: usize,
    events: &mut Vec<Event>,
    rejected: &mut Vec<accesslake_model::Rejected>,
) -> Result<bool> {
    loop {
        if !input.next_into(events, rejected)? {
            return Ok(true);
        }
        if events.len() >= chunk || rejected.len() >= chunk {
            return Ok(false);
        }
    }
}
