//! The entry handler's work per Kinesis batch with no network: state in a
//! store in memory, rows to an in-memory lake. Decoding, the two state
//! reads, deciding, the conditional writes and the Parquet encoding of
//! 10,000 records, on one thread. The handler's figures use
//! `MemoryBatchStore` (on AWS the state is DynamoDB, whose work is not the
//! handler's CPU); the same batches against the embedded redb store in
//! memory are the `embedded_*` figures: what a local B-tree adds.
//!
//! `cargo bench -p accesslake-ingest --bench entry_batch` prints one JSON
//! line (scripts/bench collects it).

use std::time::{Duration, Instant};

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::batch::{
    BatchOutput, BatchStore, Delivered, apply_admin_events, decide_entries,
};
use accesslake_ingest::sink::{DecisionSink, LakeSink, Rows};
use accesslake_ingest::{EmbeddedStore, MemoryBatchStore};
use accesslake_model::Source;
use accesslake_transform::Lake;

/// The allocator of the Lambda binaries, so the figures are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 10_000;

/// Records as Lambda hands them over, numbered from `base`.
fn delivered(lines: &[Vec<u8>], base: usize, source: Source) -> Vec<(Source, String, Vec<u8>)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (source, (base + i).to_string(), l.clone()))
        .collect()
}

fn as_delivered(v: &[(Source, String, Vec<u8>)]) -> Vec<Delivered<'_>> {
    v.iter()
        .map(|(s, r, b)| Delivered {
            source: *s,
            source_ref: r,
            data: b,
        })
        .collect()
}

/// Per batch of one run: the time to decide and land, the decide + store
/// part of it.
struct Run {
    total: Vec<Duration>,
    decide: Vec<Duration>,
    decided: u64,
}

/// Applies every admin event (the state a site has before the day starts),
/// then decides `batches` batches of scans against `store`.
fn run(
    rt: &tokio::runtime::Runtime,
    store: &dyn BatchStore,
    admin: &[Vec<u8>],
    entries: &[Vec<u8>],
    batches: usize,
) -> Run {
    let sink = LakeSink::new(Lake::in_memory());
    rt.block_on(async {
        for (n, chunk) in admin.chunks(1000).enumerate() {
            let v = delivered(chunk, n * 1000, Source::Sqs);
            let out = apply_admin_events(store, &as_delivered(&v), 0).await;
            assert!(out.error.is_none(), "{:?}", out.error);
        }
    });
    let mut r = Run {
        total: Vec::new(),
        decide: Vec::new(),
        decided: 0,
    };
    for b in 0..batches {
        let v = delivered(
            &entries[b * BATCH..(b + 1) * BATCH],
            b * BATCH,
            Source::Kinesis,
        );
        let d = as_delivered(&v);
        let t = Instant::now();
        let (out, decided_at) = handle(rt, store, &sink, &d, &format!("kinesis-shard-{b}"));
        r.total.push(t.elapsed());
        r.decide.push(decided_at);
        assert!(out.error.is_none(), "{:?}", out.error);
        r.decided += out.stats.entries_decided;
    }
    r
}

/// One batch as the handler takes it: decided against `store`, its rows
/// landed through `sink`; returns the outcome and the time deciding took.
/// Never inlined, so callgrind can count exactly this
/// (`--toggle-collect=entry_batch::handle`).
#[inline(never)]
fn handle(
    rt: &tokio::runtime::Runtime,
    store: &dyn BatchStore,
    sink: &LakeSink,
    records: &[Delivered<'_>],
    name: &str,
) -> (BatchOutput, Duration) {
    let t = Instant::now();
    let out = rt.block_on(decide_entries(store, records, 1));
    let decided_at = t.elapsed();
    rt.block_on(sink.land(
        name,
        Rows {
            decisions: &out.decisions,
            admin: &[],
            rejected: &out.rejected,
        },
    ))
    .expect("land");
    (out, decided_at)
}

/// Sorted milliseconds.
fn ms(times: &[Duration]) -> Vec<f64> {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    ms
}

fn main() {
    let env = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    // Its own names: scripts/bench's BENCH_EMPLOYEES sizes the ingest
    // fixture, while a 10,000-record batch needs thousands of employees.
    let employees = env("BENCH_HANDLER_EMPLOYEES", 4000) as u32;
    let batches = env("BENCH_HANDLER_BATCHES", 8);
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = GenConfig {
        seed: 3,
        employees,
        // About 10,000 scans a working day at 4,000 employees.
        days: (batches as u32).div_ceil(2) * 3 + 2,
        ..GenConfig::default()
    };
    generate_to_dir(&cfg, dir.path()).expect("fixture");
    let read = |name: &str| -> Vec<Vec<u8>> {
        std::fs::read(dir.path().join(name))
            .expect("fixture file")
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    };
    let admin = read("admin.jsonl");
    let entries = read("entries.jsonl");
    assert!(
        entries.len() / BATCH >= batches,
        "the fixture has {} scans, {} batches of {BATCH} wanted",
        entries.len(),
        batches
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let memory = run(&rt, &MemoryBatchStore::new(), &admin, &entries, batches);
    // BENCH_HANDLER_EMBEDDED=0 leaves out the embedded store's run (for a
    // callgrind count of the handler alone).
    let embedded = (env("BENCH_HANDLER_EMBEDDED", 1) != 0).then(|| {
        let store = EmbeddedStore::in_memory().expect("store");
        run(&rt, &store, &admin, &entries, batches)
    });
    if let Some(e) = &embedded {
        assert_eq!(memory.decided, e.decided, "both stores decide alike");
    }
    let (all, dec) = (ms(&memory.total), ms(&memory.decide));
    let median = |v: &[f64]| v[v.len() / 2];
    println!(
        "{}",
        serde_json::json!({
            "bench": "entry_batch",
            "records_per_batch": BATCH,
            "batches": batches,
            "decided": memory.decided,
            "employees": employees,
            "ms_per_batch_min": all[0],
            "ms_per_batch_median": median(&all),
            "ms_decide_store_median": median(&dec),
            "ms_parquet_median": median(&all) - median(&dec),
            "embedded_ms_per_batch_median": embedded.as_ref().map(|e| median(&ms(&e.total))),
            "embedded_ms_decide_store_median": embedded.as_ref().map(|e| median(&ms(&e.decide))),
        })
    );
}
