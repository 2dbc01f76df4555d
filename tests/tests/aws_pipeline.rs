//! The AWS ingest path end to end on the emulator: scans put to Kinesis and
//! read back with GetRecords, admin events published to SNS and received
//! from the SQS queue subscribed to it, each wrapped in the Lambda event type
//! and handed to the Lambda handlers, with state in DynamoDB and rows in S3.
//! The lake they build must hold the local pipeline's rows.

mod aws_env;
mod common;
mod conformance;

use std::sync::Arc;

use aws_env::account::Account;

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::aws::{kinesis, nightly, s3_store, sqs};
use accesslake_ingest::snapshot;
use accesslake_ingest::{EmbeddedStore, StateStore};
use accesslake_model::Table;
use accesslake_transform::Lake;
use aws_lambda_events::event::sqs::SqsEvent;

fn queue_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap()
}

/// The admin handler on one SQS event of the account's queue.
async fn admin_handle(
    acct: &Account,
    sink: &accesslake_ingest::sink::LakeSink,
    event: &aws_lambda_events::event::sqs::SqsEvent,
    now: i64,
) -> sqs::Handled {
    sqs::handle(
        &acct.store,
        sink,
        &opener(),
        queue_name(&acct.queue_arn),
        event,
        now,
    )
    .await
}

fn opener() -> impl Fn(&str) -> accesslake_ingest::Result<Arc<dyn object_store::ObjectStore>> {
    |bucket: &str| s3_store(bucket)
}

/// A small generated fixture and the local pipeline's lake of it.
fn fixture_and_local_lake(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let input = dir.join("in");
    let cfg = GenConfig {
        seed: 21,
        employees: 12,
        days: 2,
        ..GenConfig::default()
    };
    generate_to_dir(&cfg, &input).unwrap();
    let local = dir.join("local");
    common::ingest(
        &local,
        &[input.join("admin.jsonl"), input.join("entries.jsonl")],
        10_000,
    )
    .unwrap();
    (input, local)
}

/// The SDK clients need timers; the local pipeline ran on its own runtime.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn same_lake_as_the_local_pipeline() {
    let d = tempfile::tempdir().unwrap();
    let (input, local) = fixture_and_local_lake(d.path());
    block_on(async {
        let acct = Account::create().await;
        let retries = aws_lake_matches(&input, &local, acct, 400).await;
        assert_eq!(retries, Retries::default(), "redeliveries without faults");
    });
}

/// SPEC 5 under faults: 20 % of the calls to DynamoDB, S3, Kinesis, SQS
/// and SNS fail (throttling, 500, reset, answer lost after the call took
/// effect, timeout) through a proxy in front of the emulator. With the
/// production retry settings and Lambda's redelivery, the lake and the state
/// end exactly as the local pipeline's: nothing lost, nothing twice.
#[test]
fn same_lake_under_injected_faults() {
    let d = tempfile::tempdir().unwrap();
    let (input, local) = fixture_and_local_lake(d.path());
    let seed = fault_seed();
    let rate = 0.2;
    eprintln!("fault proxy seed {seed}, rate {rate}");
    let proxy = aws_env::FaultProxy::start(seed);
    block_on(async {
        let endpoint = proxy.url();
        let sdk = through_proxy(&endpoint).await;
        let acct = Account::create_with(&sdk, |bucket| {
            let options = object_store::ClientOptions::new()
                .with_allow_http(true)
                .with_timeout(std::time::Duration::from_millis(500));
            let store = accesslake_ingest::aws::s3_builder(bucket, Some(&endpoint))
                .with_client_options(options)
                .build()
                .unwrap();
            Lake::from_store(
                Arc::new(object_store::prefix::PrefixStore::new(store, "lake")),
                format!("s3://{bucket}/lake"),
            )
        })
        .await;
        proxy.set_rate(rate);
        let started = std::time::Instant::now();
        // Small batches: more calls to each service, so each meets faults.
        let retries = aws_lake_matches(&input, &local, acct, 100).await;
        eprintln!("end to end under faults in {:?}", started.elapsed());
        proxy.set_rate(0.0);
        let counts = proxy.counts();
        eprintln!("redeliveries {retries:?}\nfaults per service {counts}");
        for service in ["dynamodb", "s3", "kinesis", "sqs", "sns"] {
            let (_, faults) = faults_of(&counts, service);
            assert!(faults > 0, "no fault reached {service}: {counts}");
        }
    });
}

/// The fault proxy's seed: `ACCESSLAKE_FAULT_SEED` replays a run's choice of
/// failing calls (what a hung call overlaps with still depends on timing).
fn fault_seed() -> u64 {
    std::env::var("ACCESSLAKE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        })
}

/// The production SDK settings with every call through the fault proxy at
/// `endpoint`, and short attempts so an injected timeout costs little.
async fn through_proxy(endpoint: &str) -> aws_config::SdkConfig {
    aws_env::sdk()
        .await
        .into_builder()
        .endpoint_url(endpoint)
        // AWS_ENDPOINT_URL (the emulator) would win over the proxy.
        .service_config(aws_env::NoEnvironment)
        .timeout_config(
            accesslake_model::aws::timeout_config()
                .to_builder()
                .operation_attempt_timeout(std::time::Duration::from_millis(500))
                .build(),
        )
        .build()
}

/// The fault counts of `service`: (calls, faults).
fn faults_of(counts: &serde_json::Value, service: &str) -> (u64, u64) {
    let c = &counts[service];
    let faults = ["throttle", "error500", "reset", "lost", "timeout"]
        .iter()
        .map(|k| c[k].as_u64().unwrap_or(0))
        .sum();
    (c["requests"].as_u64().unwrap_or(0), faults)
}

/// What the fault test relies on from the emulator: a FIFO batch whose
/// visibility timeout passes (a receive whose answer was lost) comes back
/// from its first message, as SQS hands it back. (moto alone resumes from
/// the batch's last message; `scripts/moto_server.py` corrects it.)
#[tokio::test]
async fn a_timed_out_fifo_batch_comes_back_in_order() {
    let acct = Account::create().await;
    let texts: Vec<String> = (0..15).map(|i| format!("m{i}")).collect();
    for (i, t) in texts.iter().enumerate() {
        acct.sqs
            .send_message()
            .queue_url(&acct.queue_url)
            .message_body(t)
            .message_group_id("g")
            .message_deduplication_id(format!("d{i}"))
            .send()
            .await
            .unwrap();
    }
    let receive = |visibility: i32| {
        acct.sqs
            .receive_message()
            .queue_url(&acct.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(visibility)
            .send()
    };
    let bodies = |out: aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput| {
        out.messages()
            .iter()
            .map(|m| m.body().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let first = bodies(receive(1).await.unwrap());
    assert_eq!(first, texts[..10]);
    assert!(
        bodies(receive(1).await.unwrap()).is_empty(),
        "group in flight"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(bodies(receive(30).await.unwrap()), texts[..10]);
}

/// How often the event sources had to hand a batch back, as Lambda does on
/// batch item failures and on an error of the whole invocation.
#[derive(Debug, Default, PartialEq)]
struct Retries {
    kinesis: u32,
    sqs: u32,
    nightly: u32,
}

/// Drives the fixture through the handlers as the event source mappings
/// would (redelivering from the first failed record, or the failed
/// messages), then compares the lake and the state with the local pipeline's.
async fn aws_lake_matches(
    input: &std::path::Path,
    local: &std::path::Path,
    mut acct: Account,
    batch: usize,
) -> Retries {
    let sink = acct.sink();
    let now = conformance::now();
    let mut retries = Retries::default();
    for (is_admin, lines) in conformance::fixture_batches(input, batch) {
        let lines: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
        if is_admin {
            for mut event in acct.admin(&lines).await {
                loop {
                    let h = admin_handle(&acct, &sink, &event, now).await;
                    assert!(h.output.rejected.is_empty());
                    let failed: Vec<String> = h
                        .response
                        .batch_item_failures
                        .iter()
                        .map(|f| f.item_identifier.clone())
                        .collect();
                    if failed.is_empty() {
                        break;
                    }
                    retries.sqs += 1;
                    assert!(retries.sqs < 500, "{:?}", h.output.error);
                    event
                        .records
                        .retain(|r| r.message_id.as_ref().is_some_and(|id| failed.contains(id)));
                }
            }
        } else {
            let event = acct.scans(&lines).await;
            retries.kinesis +=
                aws_env::account::handle_until_done(&acct.store, &sink, event, now).await;
        }
    }
    for table in [Table::Decisions, Table::AdminEvents] {
        let want = common::rows(local, table, common::RUN_TIME_COLUMNS);
        let got = common::batch_rows(
            &common::store_batches(&acct.lake, table).await,
            common::RUN_TIME_COLUMNS,
        );
        assert!(!want.is_empty());
        common::assert_same_rows(&got, &want, table.name());
    }
    // The objects are where SPEC 4 puts them, named after their delivery.
    let keys = acct.lake.list(Table::Decisions).await.unwrap();
    assert!(keys.iter().all(|k| {
        let k = k.as_ref();
        k.starts_with("decisions/dt=2026-03-0") && k.contains("/kinesis-shardId-000000000000-")
    }));
    let listed = aws_env::account::again(|| {
        acct.s3
            .list_objects_v2()
            .bucket(&acct.bucket)
            .prefix("lake/decisions/")
            .send()
    })
    .await;
    assert_eq!(listed.key_count(), Some(keys.len() as i32));

    // The nightly run: the days before its time compacted into one object
    // each with the same rows, and a snapshot of the DynamoDB state equal to
    // the local pipeline's state.
    let config = nightly::NightlyConfig {
        lake: String::new(),
        table: Some(acct.store.table().to_string()),
        compact_days: Some("7".into()),
        compact_target_size: None,
    };
    let taken = accesslake_model::parse_rfc3339("2026-03-10T02:00:00Z").unwrap();
    let event = serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events",
        "time": "2026-03-10T02:00:00Z", "detail": {}});
    let done = loop {
        // A failed nightly run is run again by the schedule's retry; a rerun
        // finishes what a run left.
        match nightly::run(&acct.lake, Some(&acct.store), &event, taken, &config).await {
            Ok(done) => break done,
            Err(e) => {
                retries.nightly += 1;
                assert!(retries.nightly < 50, "{e}");
            }
        }
    };
    assert_eq!(done["from"], "2026-03-03");
    // After a failed run the rerun may find the partitions already done;
    // the files below show the outcome either way.
    assert!(
        retries.nightly > 0 || done["compacted"]["partitions"].as_u64().unwrap() > 0,
        "{done}"
    );
    for table in [Table::Decisions, Table::AdminEvents] {
        let keys = acct.lake.list(table).await.unwrap();
        for k in &keys {
            let dt = k.parts().nth(1).unwrap();
            let compacted = k.filename().unwrap().starts_with("compact-");
            assert_eq!(compacted, dt.as_ref() >= "dt=2026-03-03", "{k}");
        }
        let want = common::rows(local, table, common::RUN_TIME_COLUMNS);
        let got = common::batch_rows(
            &common::store_batches(&acct.lake, table).await,
            common::RUN_TIME_COLUMNS,
        );
        common::assert_same_rows(&got, &want, table.name());
    }
    let local_state = EmbeddedStore::open(&local.join("_state/state.redb"))
        .unwrap()
        .load()
        .unwrap();
    let local_snap = Lake::local(&local.join("snap")).unwrap();
    snapshot::write_snapshot(&local_snap, &local_state, taken)
        .await
        .unwrap();
    for table in Table::SNAPSHOTS {
        let want = common::batch_rows(&common::store_batches(&local_snap, table).await, &[]);
        let got = common::batch_rows(&common::store_batches(&acct.lake, table).await, &[]);
        assert!(!want.is_empty(), "{}", table.name());
        common::assert_same_rows(&got, &want, table.name());
    }
    retries
}

/// A batch that fails after record k, redelivered from k: no event decided
/// twice, no duplicate row in S3, nothing lost. Then a poison record in
/// Kinesis and a poison message in SQS: rejected rows, not failures.
#[tokio::test]
async fn retry_from_k_and_poison_records() {
    let mut acct = Account::create().await;
    let sink = acct.sink();
    let now = conformance::now();
    let setup: Vec<Vec<u8>> = [
        r#"{"event_id":"z1","type":"zone_upserted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"zone_id":"lobby","name":"Lobby","site_id":"hq","timezone":"Europe/London","capacity":10}}"#,
        r#"{"event_id":"d1","type":"door_upserted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"door_id":"door-1","zone_id":"lobby","name":"Front"}}"#,
        r#"{"event_id":"p1","type":"employee_upserted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"employee_id":"e1","name":"Ada","department":"R&D","status":"active"}}"#,
        r#"{"event_id":"c1","type":"card_issued","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"card_id":"c1","employee_id":"e1"}}"#,
        r#"{"event_id":"g1","type":"access_granted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"employee_id":"e1","zone_id":"lobby","schedule":"always"}}"#,
        r#"{"event_id":"bad","type":"card_issued"}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    for event in acct.admin(&setup).await {
        let h = admin_handle(&acct, &sink, &event, now).await;
        assert!(h.response.batch_item_failures.is_empty());
    }
    let admin_rows = common::store_batches(&acct.lake, Table::AdminEvents).await;
    assert_eq!(admin_rows.iter().map(|b| b.num_rows()).sum::<usize>(), 5);
    let rejected = common::store_batches(&acct.lake, Table::Rejected).await;
    let rejected = common::batch_rows(&rejected, &[]);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(rejected[0].contains("source=sqs"), "{}", rejected[0]);

    let scans: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            if i == 7 {
                return b"{\"event_id\":\"poison\",\"direction\":\"sideways\"}".to_vec();
            }
            let dir = if i % 2 == 0 { "in" } else { "out" };
            format!(
                r#"{{"event_id":"s{i}","occurred_at":"2026-03-02T08:{i:02}:00Z","door_id":"door-1","card_id":"c1","direction":"{dir}"}}"#
            )
            .into_bytes()
        })
        .collect();
    let event = acct.scans(&scans).await;
    let failing = conformance::Interposed {
        inner: &acct.store,
        on_write: conformance::OnWrite::FailAfter(11),
    };
    let first = kinesis::handle(&failing, &sink, &event, now).await;
    // 11 writes done: records 0..=11 minus the poison at 7; record 12 failed.
    let failed_seq = event.records[12].kinesis.sequence_number.clone();
    assert_eq!(
        first.response.batch_item_failures[0]
            .item_identifier
            .as_deref(),
        Some(failed_seq.as_str())
    );
    assert_eq!(first.response.batch_item_failures.len(), 1);
    // Lambda redelivers from the failed record.
    let mut retry_event = event.clone();
    retry_event.records.drain(..12);
    let retry = kinesis::handle(&acct.store, &sink, &retry_event, now).await;
    assert!(retry.response.batch_item_failures.is_empty());
    assert_eq!(retry.output.stats.entries_decided, 8);

    let decisions = common::store_batches(&acct.lake, Table::Decisions).await;
    let rows = common::batch_rows(&decisions, &[]);
    assert_eq!(
        rows.len(),
        19,
        "every scan once, the poison record rejected"
    );
    let mut ids: Vec<&str> = rows.iter().map(|r| r.split('|').next().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 19, "no duplicate event_id in the lake");
    let rejected = common::batch_rows(
        &common::store_batches(&acct.lake, Table::Rejected).await,
        &[],
    );
    assert_eq!(rejected.len(), 2);
    let kinesis_reject = rejected
        .iter()
        .find(|r| r.contains("source=kinesis"))
        .unwrap();
    assert!(
        kinesis_reject.contains(&format!(
            "source_ref={}",
            event.records[7].kinesis.sequence_number
        )),
        "{kinesis_reject}"
    );
    // A batch whose response never reached Lambda (a timeout after the rows
    // landed) comes back whole, and then bisected: same files, no new row.
    let more: Vec<Vec<u8>> = (20..30)
        .map(|i| {
            format!(
                r#"{{"event_id":"s{i}","occurred_at":"2026-03-02T09:{i:02}:00Z","door_id":"door-1","card_id":"c1","direction":"in"}}"#
            )
            .into_bytes()
        })
        .collect();
    let event = acct.scans(&more).await;
    for attempt in [event.clone(), event.clone()] {
        let h = kinesis::handle(&acct.store, &sink, &attempt, now).await;
        assert!(h.response.batch_item_failures.is_empty());
    }
    let mut first_half = event.clone();
    first_half.records.truncate(5);
    let mut second_half = event.clone();
    second_half.records.drain(..5);
    for attempt in [first_half, second_half] {
        let h = kinesis::handle(&acct.store, &sink, &attempt, now).await;
        assert_eq!(h.output.stats.entries_decided, 0);
    }
    let after = common::batch_rows(
        &common::store_batches(&acct.lake, Table::Decisions).await,
        &[],
    );
    let mut after_ids: Vec<&str> = after.iter().map(|r| r.split('|').next().unwrap()).collect();
    let total = after_ids.len();
    after_ids.sort();
    after_ids.dedup();
    assert_eq!((total, after_ids.len()), (29, 29), "each event once");
}

/// A bulk JSONL file dropped in S3: its notification (the captured envelope
/// of `fixtures/aws/`, pointed at this bucket) makes the admin function read
/// it line by line; bad lines become `rejected` rows named `file:line`, and a
/// second notification of the same file changes nothing.
#[tokio::test]
async fn bulk_admin_file_from_an_s3_notification() {
    let acct = Account::create().await;
    let sink = acct.sink();
    let now = conformance::now();
    let bulk = [
        r#"{"event_id":"b1","type":"zone_upserted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"zone_id":"lab","name":"Lab","site_id":"hq","timezone":"Europe/London","capacity":4}}"#,
        "",
        r#"{"event_id":"b2","type":"employee_upserted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"employee_id":"e1","name":"Ada","department":"R&D","status":"active"}}"#,
        r#"{"event_id":"b3","type":"access_granted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"employee_id":"e1","zone_id":"lab","schedule":"sometimes"}}"#,
        r#"{"event_id":"b4","type":"access_granted","occurred_at":"2026-01-01T00:00:00Z","actor":"hr","data":{"employee_id":"e1","zone_id":"lab","schedule":"always"}}"#,
    ]
    .join("\r\n");
    let key = "bulk/2026-03-01 hr export.jsonl";
    acct.s3
        .put_object()
        .bucket(&acct.bucket)
        .key(key)
        .body(bulk.into_bytes().into())
        .send()
        .await
        .unwrap();
    let sample = std::fs::read_to_string(
        aws_env::manifest_dir().join("../fixtures/aws/sqs-s3-notification-event.json"),
    )
    .unwrap()
    .replace("accesslake-admin-drop", &acct.bucket);
    let event: SqsEvent = serde_json::from_str(&sample).unwrap();
    for _ in 0..2 {
        let h = sqs::handle(&acct.store, &sink, &opener(), "admin.fifo", &event, now).await;
        assert!(
            h.response.batch_item_failures.is_empty(),
            "{:?}",
            h.output.error
        );
    }
    let admin = common::batch_rows(
        &common::store_batches(&acct.lake, Table::AdminEvents).await,
        common::RUN_TIME_COLUMNS,
    );
    assert_eq!(admin.len(), 3, "{admin:#?}");
    assert!(admin.iter().all(|r| r.contains("applied=true")));
    let rejected = common::batch_rows(
        &common::store_batches(&acct.lake, Table::Rejected).await,
        common::RUN_TIME_COLUMNS,
    );
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert!(
        rejected[0].contains(&format!("source_ref=s3://{}/{key}:4", acct.bucket))
            && rejected[0].contains("source=file")
            && rejected[0].contains("schedule"),
        "{}",
        rejected[0]
    );

    // A notification of a file deleted before it was read: a rejected row
    // that names it, and the message is done (a retry would not find it either).
    let missing: SqsEvent =
        serde_json::from_str(&sample.replace("export.jsonl", "gone.jsonl")).unwrap();
    let h = sqs::handle(&acct.store, &sink, &opener(), "admin.fifo", &missing, now).await;
    assert!(h.response.batch_item_failures.is_empty());
    assert_eq!(h.landed, 1);
    let rejected = common::batch_rows(
        &common::store_batches(&acct.lake, Table::Rejected).await,
        common::RUN_TIME_COLUMNS,
    );
    assert!(
        rejected
            .iter()
            .any(|r| r.contains("gone.jsonl") && r.contains("not found")),
        "{rejected:#?}"
    );
}

/// The Firehose sink: rows as JSON lines in the tables' schemas, chunked to
/// the API's limits, delivered by the emulated stream to S3.
#[tokio::test]
async fn firehose_sink_delivers_json_rows() {
    use accesslake_ingest::sink::{DecisionSink, Rows};

    let acct = Account::create().await;
    let sdk = aws_env::sdk().await;
    let sink = firehose_sink(&sdk, &acct).await;
    // 1,200 decisions: three PutRecordBatch calls of at most 500 records.
    let decisions = decisions(1200);
    sink.land(
        "unused",
        Rows {
            decisions: &decisions,
            admin: &[],
            rejected: &[],
        },
    )
    .await
    .unwrap();
    let (keys, lines) = firehose_lines(&acct).await;
    assert_eq!(
        keys.len(),
        3,
        "one object per PutRecordBatch on the emulator"
    );
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1200);
    let first = lines.iter().find(|v| v["event_id"] == "s0").unwrap();
    assert_eq!(first["occurred_at"], "2026-06-01T12:00:00.000000Z");
    assert_eq!(first["reason"], "unknown_card");
    assert_eq!(first["presence_change"], 0);
}

/// SPEC 5 for the Firehose sink, at least once by design: under 20 % faults
/// on Firehose (the answer of a call that took effect lost among them), with
/// each delivery retried until it lands as the event source would, every row
/// arrives, unchanged; a row may arrive more than once, and then as the same
/// row, so counting each event_id once (reports, compaction) gives each
/// decision exactly once.
#[test]
fn firehose_sink_loses_nothing_under_injected_faults() {
    use accesslake_ingest::sink::{DecisionSink, Rows};

    let seed = fault_seed();
    eprintln!("fault proxy seed {seed}");
    let proxy = aws_env::FaultProxy::start(seed);
    block_on(async {
        let acct = Account::create().await;
        let sink = firehose_sink(&through_proxy(&proxy.url()).await, &acct).await;
        let decisions = decisions(6000);
        let want: std::collections::HashMap<String, String> =
            accesslake_ingest::aws::firehose::json_lines(&decisions)
                .unwrap()
                .into_iter()
                .zip(&decisions)
                .map(|(l, d)| {
                    (
                        d.event_id.to_string(),
                        String::from_utf8(l).unwrap().trim_end().to_string(),
                    )
                })
                .collect();
        proxy.set_rate(0.2);
        let mut redeliveries = 0;
        // Deliveries of 50 decisions, each handed again until it lands.
        for delivery in decisions.chunks(50) {
            let rows = Rows {
                decisions: delivery,
                admin: &[],
                rejected: &[],
            };
            while let Err(e) = sink.land("unused", rows).await {
                redeliveries += 1;
                assert!(redeliveries < 200, "{e}");
            }
        }
        proxy.set_rate(0.0);
        let counts = proxy.counts();
        let (calls, faults) = faults_of(&counts, "firehose");
        assert!(faults > 0, "no fault reached Firehose: {counts}");

        let (_, lines) = firehose_lines(&acct).await;
        let mut seen = std::collections::HashMap::<String, u32>::new();
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let id = v["event_id"].as_str().unwrap().to_string();
            assert_eq!(Some(l), want.get(&id), "a row arrived changed");
            *seen.entry(id).or_default() += 1;
        }
        let lost = want.keys().filter(|id| !seen.contains_key(*id)).count();
        let twice = lines.len() - seen.len();
        eprintln!(
            "firehose: {calls} calls, {faults} faults ({}), {redeliveries} redeliveries; \
             {} rows sent, {} arrived, lost {lost}, arrived more than once {twice}",
            counts["firehose"],
            want.len(),
            lines.len()
        );
        assert_eq!(lost, 0, "rows lost");
        assert_eq!(seen.len(), want.len());
        // An answer lost after Firehose took the rows makes them arrive twice:
        // the case the reports' and compaction's dedupe is for.
        if counts["firehose"]["lost"].as_u64().unwrap_or(0) > 0 {
            assert!(twice > 0, "a lost answer duplicated nothing: {counts}");
        }
    });
}

/// A Firehose sink with one delivery stream per table into the account's
/// bucket (under `firehose/<table>/`), its calls through `sdk`.
async fn firehose_sink(
    sdk: &aws_config::SdkConfig,
    acct: &Account,
) -> accesslake_ingest::aws::FirehoseSink {
    // The streams are made before any fault is turned on.
    let setup = aws_sdk_firehose::Client::new(&aws_env::sdk().await);
    let role = "arn:aws:iam::123456789012:role/firehose";
    let mut streams = std::collections::HashMap::new();
    for table in [Table::Decisions, Table::AdminEvents, Table::Rejected] {
        let name = aws_env::unique(table.name());
        setup
            .create_delivery_stream()
            .delivery_stream_name(&name)
            .extended_s3_destination_configuration(
                aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                    .role_arn(role)
                    .bucket_arn(format!("arn:aws:s3:::{}", acct.bucket))
                    .prefix(format!("firehose/{}/", table.name()))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        streams.insert(table, name);
    }
    accesslake_ingest::aws::FirehoseSink::new(aws_sdk_firehose::Client::new(sdk), streams)
}

/// `n` decisions with ids s0, s1, …
fn decisions(n: i64) -> Vec<accesslake_model::Decision> {
    (0..n)
        .map(|i| accesslake_model::Decision {
            event_id: format!("s{i}").into(),
            occurred_at: conformance::now() + i,
            processed_at: conformance::now(),
            site_id: Some("hq".into()),
            zone_id: Some("lobby".into()),
            door_id: "door-1".into(),
            card_id: "c1".into(),
            employee_id: None,
            direction: accesslake_model::Direction::In,
            outcome: accesslake_model::Outcome::Denied,
            reason: accesslake_model::Reason::UnknownCard,
            presence_change: 0,
            local: None,
            numbers: accesslake_model::IdNumbers::UNKNOWN,
        })
        .collect()
}

/// The objects Firehose wrote for the decisions, and their lines.
async fn firehose_lines(acct: &Account) -> (Vec<String>, Vec<String>) {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let listed = acct
            .s3
            .list_objects_v2()
            .bucket(&acct.bucket)
            .prefix("firehose/decisions/")
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        keys.extend(
            listed
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        token = listed.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut lines = Vec::new();
    for k in &keys {
        let body = acct
            .s3
            .get_object()
            .bucket(&acct.bucket)
            .key(k)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        lines.extend(
            String::from_utf8(body.to_vec())
                .unwrap()
                .lines()
                .map(str::to_string),
        );
    }
    (keys, lines)
}
