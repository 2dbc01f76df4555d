//! The AWS entry path under a sustained burst on the emulator: a generated
//! fixture's scans put to Kinesis in PutRecords of 500, then drained as the
//! event source mapping does, in batches of up to 10,000 records (and at
//! most Lambda's 6 MB invocation payload), by the built `entry-lambda`
//! binary under a local Runtime API, with its state in DynamoDB and its rows
//! in S3. Every scan ends decided once, as the same batches decide it on the
//! in-memory store. Prints the rate and the function's peak memory.
//!
//! Long (about 200,000 scans by default), so `scripts/test` runs it on its
//! own emulator after the other tests: `ACCESSLAKE_LOAD_SCANS` sets the
//! count, `ACCESSLAKE_LOAD_REPORT` a file for the figures (JSON),
//! `ACCESSLAKE_LAMBDA_DIR` a folder holding another build of the function
//! (`scripts/bench`: the release one; `infra/check-lambdas`: the packaged one).

mod runtime_api;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::batch::{Delivered, apply_admin_events, decide_entries};
use accesslake_ingest::store::MemoryBatchStore;
use accesslake_model::{Micros, Source, Table};
use arrow_array::{Array, StringArray};
use base64::Engine;
use runtime_api::{Runtime, binary, endpoint, start};
use serde_json::json;

/// The event source mapping's largest Kinesis batch.
const BATCH_RECORDS: usize = 10_000;
/// Lambda's limit on an invocation's payload.
const PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

fn scans_wanted() -> usize {
    std::env::var("ACCESSLAKE_LOAD_SCANS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000)
}

fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as Micros
}

/// The fixture's admin events and its first `n` scan lines (malformed and
/// duplicate lines included, as the generator writes them).
fn fixture(dir: &std::path::Path, n: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    // About 3.9 scan lines per employee and calendar day (weekends are quiet).
    let employees = (n / 60) as u32 + 10;
    let cfg = GenConfig {
        seed: 7,
        employees,
        days: 21,
        ..GenConfig::default()
    };
    generate_to_dir(&cfg, dir).unwrap();
    let lines = |name: &str| -> Vec<Vec<u8>> {
        std::fs::read(dir.join(name))
            .unwrap()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    };
    let scans: Vec<Vec<u8>> = lines("entries.jsonl").into_iter().take(n).collect();
    assert_eq!(scans.len(), n, "the fixture has too few scans");
    (lines("admin.jsonl"), scans)
}

/// `lines` as delivered records from `source`, named by `refs`.
fn delivered<'a>(source: Source, lines: &'a [Vec<u8>], refs: &'a [String]) -> Vec<Delivered<'a>> {
    lines
        .iter()
        .zip(refs)
        .map(|(data, r)| Delivered {
            source,
            source_ref: r,
            data,
        })
        .collect()
}

/// Applies the admin events to `store` in batches, as the admin function would.
async fn apply_admin(store: &dyn accesslake_ingest::batch::BatchStore, lines: &[Vec<u8>]) {
    for (b, chunk) in lines.chunks(500).enumerate() {
        let refs: Vec<String> = (0..chunk.len()).map(|i| format!("admin-{b}-{i}")).collect();
        let out = apply_admin_events(store, &delivered(Source::Sqs, chunk, &refs), now()).await;
        assert!(out.failed_from.is_none(), "{:?}", out.error);
    }
}

/// One Kinesis record as the event source mapping hands it to the function.
fn record(stream_arn: &str, r: &aws_sdk_kinesis::types::Record) -> Vec<u8> {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key(),
            "sequenceNumber": r.sequence_number(),
            "data": base64::engine::general_purpose::STANDARD.encode(r.data().as_ref()),
            "approximateArrivalTimestamp": 1_772_438_400.0
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("shardId-000000000000:{}", r.sequence_number()),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/entry-lambda",
        "awsRegion": "eu-west-1",
        "eventSourceARN": stream_arn,
    })
    .to_string()
    .into_bytes()
}

/// What each batch of `scans` decides on the in-memory store, by event id:
/// (outcome, reason).
async fn expected(admin: &[Vec<u8>], scans: &[Vec<u8>]) -> HashMap<String, (String, String)> {
    let store = MemoryBatchStore::new();
    apply_admin(&store, admin).await;
    let mut want = HashMap::new();
    for (b, chunk) in scans.chunks(BATCH_RECORDS).enumerate() {
        let refs: Vec<String> = (0..chunk.len()).map(|i| format!("{b}-{i}")).collect();
        let out = decide_entries(&store, &delivered(Source::Kinesis, chunk, &refs), now()).await;
        assert!(out.failed_from.is_none(), "{:?}", out.error);
        for d in out.decisions {
            want.insert(
                d.event_id.to_string(),
                (
                    d.outcome.as_str().to_string(),
                    d.reason.as_str().to_string(),
                ),
            );
        }
    }
    want
}

#[test]
#[ignore = "a long load run: scripts/test runs it on its own emulator"]
fn a_sustained_burst_is_decided_once() {
    endpoint();
    let n = scans_wanted();
    let dir = tempfile::tempdir().unwrap();
    let (admin, scans) = fixture(dir.path(), n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sdk = accesslake_ingest::aws::sdk_config().await;
        let (table, store) = runtime_api::table_and_bucket(&sdk, "load").await;
        let bucket = &table;
        apply_admin(&store, &admin).await;

        // The burst: every scan on the stream, 500 per PutRecords.
        let kinesis = aws_sdk_kinesis::Client::new(&sdk);
        let stream = table.clone();
        kinesis
            .create_stream()
            .stream_name(&stream)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        let put_started = Instant::now();
        for chunk in scans.chunks(500) {
            let entries = chunk
                .iter()
                .map(|l| {
                    let card = serde_json::from_slice::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v["card_id"].as_str().map(str::to_string))
                        .filter(|c| !c.is_empty() && c.len() <= 256)
                        .unwrap_or_else(|| "unparsed".into());
                    aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                        .data(aws_sdk_kinesis::primitives::Blob::new(l.clone()))
                        .partition_key(card)
                        .build()
                        .unwrap()
                })
                .collect();
            let out = kinesis
                .put_records()
                .stream_name(&stream)
                .set_records(Some(entries))
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_record_count(), Some(0));
        }
        let put_time = put_started.elapsed();

        // The event source mapping: read, batch, invoke, redeliver from the
        // first failed record.
        let summary = kinesis
            .describe_stream_summary()
            .stream_name(&stream)
            .send()
            .await
            .unwrap();
        let summary = summary.stream_description_summary().unwrap();
        let stream_arn = summary.stream_arn().to_string();
        let shard = kinesis
            .list_shards()
            .stream_name(&stream)
            .send()
            .await
            .unwrap()
            .shards()[0]
            .shard_id()
            .to_string();
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_name(&stream)
            .shard_id(&shard)
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        let env = [
            ("ACCESSLAKE_TABLE".to_string(), table.clone()),
            ("ACCESSLAKE_LAKE".to_string(), format!("s3://{bucket}/lake")),
        ];
        let binary = binary(env!("CARGO_BIN_EXE_entry-lambda"));
        let mut function = Runtime::start(|api| start(&binary, api, &env));
        // Records read, not yet acknowledged: (sequence number, JSON).
        let mut pending: std::collections::VecDeque<(String, Vec<u8>)> = Default::default();
        let (mut read, mut invocations, mut redeliveries, mut largest) =
            (0usize, 0u32, 0u32, 0usize);
        let mut in_function = Duration::ZERO;
        let drain_started = Instant::now();
        loop {
            while pending.len() < BATCH_RECORDS
                && let Some(it) = iterator.clone()
            {
                let out = kinesis
                    .get_records()
                    .shard_iterator(&it)
                    .limit(10_000)
                    .send()
                    .await
                    .unwrap();
                iterator = out.next_shard_iterator().map(str::to_string);
                if out.records().is_empty() {
                    if read >= n {
                        iterator = None;
                    }
                    break;
                }
                read += out.records().len();
                for r in out.records() {
                    pending.push_back((r.sequence_number().to_string(), record(&stream_arn, r)));
                }
            }
            if pending.is_empty() {
                if read >= n {
                    break;
                }
                continue;
            }
            // A batch: up to 10,000 records within the payload limit.
            let mut event = b"{\"Records\":[".to_vec();
            let mut size = 0;
            for (i, (_, r)) in pending.iter().enumerate() {
                if size == BATCH_RECORDS || event.len() + r.len() + 3 > PAYLOAD_BYTES {
                    break;
                }
                if i > 0 {
                    event.push(b',');
                }
                event.extend_from_slice(r);
                size += 1;
            }
            event.extend_from_slice(b"]}");
            largest = largest.max(size);
            let started = Instant::now();
            let answer = function
                .invoke(event, Duration::from_secs(900))
                .unwrap_or_else(|e| panic!("invocation {invocations}: {e}"));
            in_function += started.elapsed();
            invocations += 1;
            let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
            let failed = answer["batchItemFailures"]
                .as_array()
                .and_then(|f| f.first())
                .and_then(|f| f["itemIdentifier"].as_str())
                .map(str::to_string);
            let done = match failed {
                None => size,
                Some(seq) => {
                    redeliveries += 1;
                    assert!(redeliveries < 100, "{answer}");
                    pending
                        .iter()
                        .position(|(s, _)| *s == seq)
                        .expect("the failed record is in the batch")
                }
            };
            pending.drain(..done);
        }
        let drain_time = drain_started.elapsed();
        let peak = function.peak_rss().unwrap_or_default();
        let cpu = function.cpu_time().unwrap_or_default();
        let (logs, _) = function.stop();

        // Every scan decided once, as the same batches decide it in memory.
        let want = expected(&admin, &scans).await;
        let lake = accesslake_ingest::aws::s3_lake(&format!("s3://{bucket}/lake")).unwrap();
        let mut got: HashMap<String, (String, String)> = HashMap::new();
        let mut rows = 0usize;
        for path in lake.list(Table::Decisions).await.unwrap() {
            let bytes = lake.get(&path).await.unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
                    .unwrap()
                    .build()
                    .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let col = |name: &str| {
                    batch
                        .column_by_name(name)
                        .unwrap()
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .unwrap()
                        .clone()
                };
                let (ids, outcomes, reasons) = (col("event_id"), col("outcome"), col("reason"));
                for i in 0..batch.num_rows() {
                    rows += 1;
                    let prior = got.insert(
                        ids.value(i).to_string(),
                        (outcomes.value(i).to_string(), reasons.value(i).to_string()),
                    );
                    assert!(prior.is_none(), "{} landed twice", ids.value(i));
                }
            }
        }
        assert!(want.len() > n / 2, "{} decisions of {n} scans", want.len());
        assert_eq!(rows, want.len(), "decision rows in the lake");
        let differ: Vec<_> = want
            .iter()
            .filter(|(id, w)| got.get(*id) != Some(w))
            .take(5)
            .collect();
        assert!(
            differ.is_empty(),
            "decided otherwise (or not at all): {differ:?}"
        );

        let figures = json!({
            "scans": n,
            "decisions": rows,
            "put_seconds": put_time.as_secs_f64(),
            "drain_seconds": drain_time.as_secs_f64(),
            "scans_per_second": n as f64 / drain_time.as_secs_f64(),
            "seconds_in_function": in_function.as_secs_f64(),
            // The rest of the time inside, the function waits on the emulator.
            "function_cpu_seconds": cpu.as_secs_f64(),
            "invocations": invocations,
            "largest_batch": largest,
            "redeliveries": redeliveries,
            "function_peak_rss_bytes": peak,
            "binary": binary,
        });
        eprintln!("load: {figures:#}");
        if let Ok(path) = std::env::var("ACCESSLAKE_LOAD_REPORT") {
            std::fs::write(path, figures.to_string()).unwrap();
        }
        assert!(
            logs.len() < 64 << 20,
            "the function logged {} bytes",
            logs.len()
        );
    });
}
