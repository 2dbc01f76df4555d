//! The AWS ingest path end to end on the emulator: scans put to Kinesis and
//! read back with GetRecords, admin events published to SNS and received
//! from the SQS queue subscribed to it, each wrapped in the Lambda event type
//! and handed to the Lambda handlers, with state in DynamoDB and rows in S3.
//! The lake they build must hold the local pipeline's rows.

mod aws_env;
mod common;
mod conformance;

use std::sync::Arc;

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::aws::{kinesis, nightly, s3_lake, s3_store, sqs};
use accesslake_ingest::sink::LakeSink;
use accesslake_ingest::snapshot;
use accesslake_ingest::store::DynamoStore;
use accesslake_ingest::{EmbeddedStore, StateStore};
use accesslake_model::Table;
use accesslake_transform::Lake;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine;
use serde_json::json;

/// One emulated account with the resources `infra/` creates.
struct Account {
    store: DynamoStore,
    lake: Lake,
    bucket: String,
    kinesis: aws_sdk_kinesis::Client,
    stream: String,
    stream_arn: String,
    iterator: Option<String>,
    sns: aws_sdk_sns::Client,
    topic: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    s3: aws_sdk_s3::Client,
}

impl Account {
    async fn create() -> Account {
        let sdk = aws_env::sdk().await;
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            aws_env::unique("state"),
        );
        store.create_table().await.unwrap();

        let s3 = aws_env::s3(&sdk);
        let bucket = aws_env::bucket(&sdk).await;
        let lake = s3_lake(&format!("s3://{bucket}/lake")).unwrap();

        let kinesis = aws_sdk_kinesis::Client::new(&sdk);
        let stream = aws_env::unique("scans");
        kinesis
            .create_stream()
            .stream_name(&stream)
            .shard_count(1)
            .send()
            .await
            .unwrap();
        let summary = kinesis
            .describe_stream_summary()
            .stream_name(&stream)
            .send()
            .await
            .unwrap();
        let stream_arn = summary
            .stream_description_summary()
            .unwrap()
            .stream_arn()
            .to_string();

        // FIFO topic → FIFO queue, as deployed. The test uses one message
        // group so the whole fixture keeps its order (a deployment groups
        // by entity id, which keeps each entity's order).
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{}.fifo", aws_env::unique("admin")))
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic = sns
            .create_topic()
            .name(format!("{}.fifo", aws_env::unique("admin")))
            .attributes("FifoTopic", "true")
            .attributes("ContentBasedDeduplication", "false")
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_string();
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .send()
            .await
            .unwrap();
        Account {
            store,
            lake,
            bucket,
            kinesis,
            stream,
            stream_arn,
            iterator: None,
            sns,
            topic,
            sqs,
            queue_url,
            queue_arn,
            s3,
        }
    }

    /// Puts scans on the stream (partition key: the card) and reads them
    /// back as the Lambda Kinesis event the event source mapping would send.
    async fn scans(&mut self, lines: &[Vec<u8>]) -> KinesisEvent {
        for chunk in lines.chunks(500) {
            let entries = chunk
                .iter()
                .map(|l| {
                    let card = serde_json::from_slice::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v["card_id"].as_str().map(str::to_string))
                        .unwrap_or_else(|| "unparsed".into());
                    aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                        .data(aws_sdk_kinesis::primitives::Blob::new(l.clone()))
                        .partition_key(card)
                        .build()
                        .unwrap()
                })
                .collect();
            let out = self
                .kinesis
                .put_records()
                .stream_name(&self.stream)
                .set_records(Some(entries))
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_record_count(), Some(0));
        }
        if self.iterator.is_none() {
            let shards = self
                .kinesis
                .list_shards()
                .stream_name(&self.stream)
                .send()
                .await
                .unwrap();
            let shard = shards.shards()[0].shard_id().to_string();
            self.iterator = self
                .kinesis
                .get_shard_iterator()
                .stream_name(&self.stream)
                .shard_id(&shard)
                .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator;
        }
        let mut records = Vec::new();
        while records.len() < lines.len() {
            let out = self
                .kinesis
                .get_records()
                .shard_iterator(self.iterator.clone().unwrap())
                .limit(10_000)
                .send()
                .await
                .unwrap();
            self.iterator = out.next_shard_iterator().map(str::to_string);
            for r in out.records() {
                records.push(json!({
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
                    "eventSourceARN": self.stream_arn,
                }));
            }
        }
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }

    /// Publishes admin events to the topic and receives them from the queue
    /// as Lambda SQS events of at most 10 messages, in order.
    async fn admin(&self, lines: &[Vec<u8>]) -> Vec<SqsEvent> {
        for (i, l) in lines.iter().enumerate() {
            self.sns
                .publish()
                .topic_arn(&self.topic)
                .message(String::from_utf8_lossy(l))
                .message_group_id("fixture")
                .message_deduplication_id(format!("{}-{i}", aws_env::unique("m")))
                .send()
                .await
                .unwrap();
        }
        self.receive(lines.len()).await
    }

    async fn receive(&self, n: usize) -> Vec<SqsEvent> {
        let mut events = Vec::new();
        let mut got = 0;
        while got < n {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = out.messages();
            if messages.is_empty() {
                continue;
            }
            let mut records = Vec::new();
            for m in messages {
                records.push(json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "eu-west-1",
                }));
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            got += records.len();
            events.push(serde_json::from_value(json!({ "Records": records })).unwrap());
        }
        events
    }

    fn sink(&self) -> LakeSink {
        LakeSink::new(self.lake.clone())
    }
}

fn queue_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap()
}

fn opener() -> impl Fn(&str) -> accesslake_ingest::Result<Arc<dyn object_store::ObjectStore>> {
    |bucket: &str| s3_store(bucket)
}

#[test]
fn same_lake_as_the_local_pipeline() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    let cfg = GenConfig {
        seed: 21,
        employees: 12,
        days: 2,
        ..GenConfig::default()
    };
    generate_to_dir(&cfg, &input).unwrap();
    let local = d.path().join("local");
    common::ingest(
        &local,
        &[input.join("admin.jsonl"), input.join("entries.jsonl")],
        10_000,
    )
    .unwrap();
    // The SDK clients need timers; the local pipeline ran on its own runtime.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(aws_lake_matches(&input, &local));
}

async fn aws_lake_matches(input: &std::path::Path, local: &std::path::Path) {
    let mut acct = Account::create().await;
    let sink = acct.sink();
    let now = conformance::now();
    for (is_admin, lines) in conformance::fixture_batches(input, 400) {
        let lines: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
        if is_admin {
            for event in acct.admin(&lines).await {
                let h = sqs::handle(
                    &acct.store,
                    &sink,
                    &opener(),
                    queue_name(&acct.queue_arn),
                    &event,
                    now,
                )
                .await;
                assert!(
                    h.response.batch_item_failures.is_empty(),
                    "{:?}",
                    h.output.error
                );
                assert!(h.output.rejected.is_empty());
            }
        } else {
            let event = acct.scans(&lines).await;
            let h = kinesis::handle(&acct.store, &sink, &event, now).await;
            assert!(
                h.response.batch_item_failures.is_empty(),
                "{:?}",
                h.output.error
            );
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
    let listed = acct
        .s3
        .list_objects_v2()
        .bucket(&acct.bucket)
        .prefix("lake/decisions/")
        .send()
        .await
        .unwrap();
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
    let done = nightly::run(&acct.lake, Some(&acct.store), &event, taken, &config)
        .await
        .unwrap();
    assert_eq!(done["from"], "2026-03-03");
    assert!(
        done["compacted"]["partitions"].as_u64().unwrap() > 0,
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
        let h = sqs::handle(
            &acct.store,
            &sink,
            &opener(),
            queue_name(&acct.queue_arn),
            &event,
            now,
        )
        .await;
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
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/aws/sqs-s3-notification-event.json"),
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
    use accesslake_ingest::aws::FirehoseSink;
    use accesslake_ingest::sink::{DecisionSink, Rows};

    let acct = Account::create().await;
    let sdk = aws_env::sdk().await;
    let firehose = aws_sdk_firehose::Client::new(&sdk);
    let role = "arn:aws:iam::123456789012:role/firehose";
    let mut streams = std::collections::HashMap::new();
    for table in [Table::Decisions, Table::AdminEvents, Table::Rejected] {
        let name = aws_env::unique(table.name());
        firehose
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
    let sink = FirehoseSink::new(firehose, streams);
    // 1,200 decisions: three PutRecordBatch calls of at most 500 records.
    let decisions: Vec<accesslake_model::Decision> = (0..1200)
        .map(|i| accesslake_model::Decision {
            event_id: format!("s{i}"),
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
        })
        .collect();
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
    let listed = acct
        .s3
        .list_objects_v2()
        .bucket(&acct.bucket)
        .prefix("firehose/decisions/")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    assert_eq!(
        keys.len(),
        3,
        "one object per PutRecordBatch on the emulator"
    );
    let mut lines = Vec::new();
    for k in keys {
        let body = acct
            .s3
            .get_object()
            .bucket(&acct.bucket)
            .key(&k)
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
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()),
        );
    }
    assert_eq!(lines.len(), 1200);
    let first = lines.iter().find(|v| v["event_id"] == "s0").unwrap();
    assert_eq!(first["occurred_at"], "2026-06-01T12:00:00.000000Z");
    assert_eq!(first["reason"], "unknown_card");
    assert_eq!(first["presence_change"], 0);
}
