//! The entry handler's work per Kinesis batch with no network: state in the
//! embedded store in memory, rows to an in-memory lake. Decoding, the two
//! state reads, deciding, the conditional writes and the Parquet encoding
//! of 10,000 records, on one thread.
//!
//! `cargo bench -p accesslake-ingest --bench entry_batch` prints one JSON
//! line (scripts/bench collects it).

use std::time::{Duration, Instant};

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::EmbeddedStore;
use accesslake_ingest::batch::{Delivered, apply_admin_events, decide_entries};
use accesslake_ingest::sink::{DecisionSink, LakeSink, Rows};
use accesslake_model::Source;
use accesslake_transform::Lake;

const BATCH: usize = 10_000;

fn as_delivered(v: &[(Source, String, Vec<u8>)]) -> Vec<Delivered<'_>> {
    v.iter()
        .map(|(s, r, b)| Delivered {
            source: *s,
            source_ref: r,
            data: b,
        })
        .collect()
}

fn main() {
    let employees: u32 = std::env::var("BENCH_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let batches: usize = std::env::var("BENCH_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = EmbeddedStore::in_memory().expect("store");
    let sink = LakeSink::new(Lake::in_memory());
    let refs = |lines: &[Vec<u8>], base: usize| -> Vec<(String, Vec<u8>)> {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| ((base + i).to_string(), l.clone()))
            .collect()
    };
    let delivered = |v: &[(String, Vec<u8>)], source: Source| -> Vec<(Source, String, Vec<u8>)> {
        v.iter()
            .map(|(r, d)| (source, r.clone(), d.clone()))
            .collect()
    };
    // Set up every admin entity first (the state a site has before the day starts).
    rt.block_on(async {
        for (n, chunk) in admin.chunks(1000).enumerate() {
            let v = delivered(&refs(chunk, n * 1000), Source::Sqs);
            let d = as_delivered(&v);
            let out = apply_admin_events(&store, &d, 0).await;
            assert!(out.error.is_none(), "{:?}", out.error);
        }
    });
    let available = entries.len() / BATCH;
    assert!(
        available >= batches,
        "the fixture has {} scans, {} batches of {BATCH} wanted",
        entries.len(),
        batches
    );
    let mut times: Vec<Duration> = Vec::new();
    let mut decide_only: Vec<Duration> = Vec::new();
    let mut decided = 0;
    for b in 0..batches {
        let v = delivered(
            &refs(&entries[b * BATCH..(b + 1) * BATCH], b * BATCH),
            Source::Kinesis,
        );
        let d = as_delivered(&v);
        let t = Instant::now();
        let out = rt.block_on(decide_entries(&store, &d, 1));
        let decided_at = t.elapsed();
        rt.block_on(sink.land(
            &format!("kinesis-shard-{b}"),
            Rows {
                decisions: &out.decisions,
                admin: &[],
                rejected: &out.rejected,
            },
        ))
        .expect("land");
        times.push(t.elapsed());
        decide_only.push(decided_at);
        assert!(out.error.is_none(), "{:?}", out.error);
        decided += out.stats.entries_decided;
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let mut all: Vec<f64> = times.iter().map(ms).collect();
    all.sort_by(f64::total_cmp);
    let mut dec: Vec<f64> = decide_only.iter().map(ms).collect();
    dec.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "bench": "entry_batch",
            "records_per_batch": BATCH,
            "batches": batches,
            "decided": decided,
            "employees": employees,
            "ms_per_batch_min": all[0],
            "ms_per_batch_median": all[all.len() / 2],
            "ms_decide_store_median": dec[dec.len() / 2],
            "ms_parquet_median": all[all.len() / 2] - dec[dec.len() / 2],
        })
    );
}
