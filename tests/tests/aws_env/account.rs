//! An emulated account with the resources `infra/` creates, and the test's
//! side of the event sources: a Kinesis producer and reader, an SNS
//! publisher and SQS receiver that hand the handlers Lambda events.

use std::collections::HashSet;

use accesslake_ingest::aws::s3_lake;
use accesslake_ingest::sink::LakeSink;
use accesslake_ingest::store::DynamoStore;
use accesslake_transform::Lake;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine;
use serde_json::json;

use super::unique;

/// One emulated account with the resources `infra/` creates.
pub struct Account {
    pub store: DynamoStore,
    pub lake: Lake,
    pub bucket: String,
    pub kinesis: aws_sdk_kinesis::Client,
    pub stream: String,
    pub stream_arn: String,
    pub iterator: Option<String>,
    pub sns: aws_sdk_sns::Client,
    pub topic: String,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
    pub s3: aws_sdk_s3::Client,
}

impl Account {
    pub async fn create() -> Account {
        Self::create_with(&super::sdk().await, |bucket| {
            s3_lake(&format!("s3://{bucket}/lake")).unwrap()
        })
        .await
    }

    /// The resources, through `sdk` (which may point at a fault-injecting
    /// proxy); `lake` opens the lake in the new bucket.
    pub async fn create_with(
        sdk: &aws_config::SdkConfig,
        lake: impl FnOnce(&str) -> Lake,
    ) -> Account {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), unique("state"));
        store.create_table().await.unwrap();
        let s3 = super::s3(sdk);
        let bucket = super::bucket(sdk).await;
        let lake = lake(&bucket);

        let kinesis = aws_sdk_kinesis::Client::new(sdk);
        let stream = unique("scans");
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
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{}.fifo", unique("admin")))
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
            // A message received but not deleted (a lost answer) is back soon.
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "2",
            )
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
        let sns = aws_sdk_sns::Client::new(sdk);
        let topic = sns
            .create_topic()
            .name(format!("{}.fifo", unique("admin")))
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
    /// Calls that fail are repeated, as a producer and the event source
    /// mapping do; a put whose answer was lost may land twice.
    pub async fn scans(&mut self, lines: &[Vec<u8>]) -> KinesisEvent {
        for chunk in lines.chunks(500) {
            let entries: Vec<_> = chunk
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
            let out = again(|| {
                self.kinesis
                    .put_records()
                    .stream_name(&self.stream)
                    .set_records(Some(entries.clone()))
                    .send()
            })
            .await;
            assert_eq!(out.failed_record_count(), Some(0));
        }
        if self.iterator.is_none() {
            let shards =
                again(|| self.kinesis.list_shards().stream_name(&self.stream).send()).await;
            let shard = shards.shards()[0].shard_id().to_string();
            self.iterator = again(|| {
                self.kinesis
                    .get_shard_iterator()
                    .stream_name(&self.stream)
                    .shard_id(&shard)
                    .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
                    .send()
            })
            .await
            .shard_iterator;
        }
        let mut missing: HashSet<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let mut records = Vec::new();
        loop {
            let iterator = self.iterator.clone().unwrap();
            let out = again(|| {
                self.kinesis
                    .get_records()
                    .shard_iterator(&iterator)
                    .limit(10_000)
                    .send()
            })
            .await;
            self.iterator = out.next_shard_iterator().map(str::to_string);
            if out.records().is_empty() && missing.is_empty() {
                break;
            }
            for r in out.records() {
                missing.remove(r.data().as_ref());
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
    pub async fn admin(&self, lines: &[Vec<u8>]) -> Vec<SqsEvent> {
        let mut texts = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let text = String::from_utf8_lossy(l).into_owned();
            let dedup = format!("{}-{i}", unique("m"));
            again(|| {
                self.sns
                    .publish()
                    .topic_arn(&self.topic)
                    .message(&text)
                    .message_group_id("fixture")
                    .message_deduplication_id(&dedup)
                    .send()
            })
            .await;
            texts.push(text);
        }
        self.receive(&texts).await
    }

    /// Receives until every one of `texts` (SNS messages) has come, then
    /// until the queue is empty: duplicates and redeliveries come too.
    pub async fn receive(&self, texts: &[String]) -> Vec<SqsEvent> {
        let mut missing: HashSet<&str> = texts.iter().map(String::as_str).collect();
        let mut events = Vec::new();
        loop {
            let out = again(|| {
                self.sqs
                    .receive_message()
                    .queue_url(&self.queue_url)
                    .max_number_of_messages(10)
                    .send()
            })
            .await;
            let messages = out.messages();
            if messages.is_empty() {
                if missing.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            let mut records = Vec::new();
            for m in messages {
                let body = m.body().unwrap_or_default();
                if let Ok(env) = serde_json::from_str::<serde_json::Value>(body)
                    && let Some(text) = env["Message"].as_str()
                {
                    missing.remove(text);
                }
                records.push(json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": body,
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "eu-west-1",
                }));
                let handle = m.receipt_handle().unwrap();
                again(|| {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                })
                .await;
            }
            events.push(serde_json::from_value(json!({ "Records": records })).unwrap());
        }
        events
    }

    pub fn sink(&self) -> LakeSink {
        LakeSink::new(self.lake.clone())
    }
}

/// Hands a Kinesis event to the entry handler, and again from the first
/// failed record while it reports one, as the event source mapping does.
/// Returns how many redeliveries it took.
pub async fn handle_until_done(
    store: &DynamoStore,
    sink: &LakeSink,
    mut event: KinesisEvent,
    now: i64,
) -> u32 {
    let mut redeliveries = 0;
    loop {
        let h = accesslake_ingest::aws::kinesis::handle(store, sink, &event, now).await;
        let Some(first) = h
            .response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.clone())
        else {
            return redeliveries;
        };
        redeliveries += 1;
        assert!(redeliveries < 500, "{:?}", h.output.error);
        let from = event
            .records
            .iter()
            .position(|r| r.kinesis.sequence_number == first)
            .expect("the failed record is in the batch");
        event.records.drain(..from);
    }
}

/// Repeats an SDK call until it succeeds (at most 100 times, 20 ms apart).
pub async fn again<T, E: std::fmt::Debug, F: Future<Output = Result<T, E>>>(
    mut call: impl FnMut() -> F,
) -> T {
    let mut tries = 0;
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("an SDK call failed 100 times: {e:?}"),
        }
    }
}
