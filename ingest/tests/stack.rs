//! The deployment of `infra/accesslake.yaml`, created as a CloudFormation
//! stack on the moto emulator, then exercised end to end: admin events
//! published to the stack's SNS topic and read from its queue, scans put into
//! its stream, each batch handed to the built Lambda binary under a local
//! Runtime API with exactly the environment the stack gave that function,
//! and the decisions, state and Parquet files checked in the table and
//! bucket the stack named. So the template and the code must agree on names,
//! environment variables, key schema and event source settings.
//!
//! moto's CloudFormation skips resource types it does not model (queue and
//! bucket policies, the S3 notification configuration, Glue, Athena,
//! alarms): those are checked by cfn-lint and checkov in scripts/test, and
//! the IAM policies statically by tests/python/check_infra.py. moto runs no
//! Lambda code itself (that needs Docker), so the event source mappings are
//! checked and then disabled, and this test plays Lambda's poller.

mod runtime_api;

use std::collections::BTreeMap;

use accesslake_ingest::batch::BatchStore;
use accesslake_ingest::store::DynamoStore;
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use base64::Engine;
use runtime_api::{create_bucket, endpoint, fixture, invoke, keys, start};
use serde_json::{Value, json};

const TEMPLATE: &str = include_str!("../../infra/accesslake.yaml");

/// An empty zip archive (its end-of-central-directory record alone): moto
/// stores a function's code and never runs it.
fn code_zip() -> Vec<u8> {
    let mut z = vec![0x50, 0x4b, 0x05, 0x06];
    z.resize(22, 0);
    z
}

struct Stack {
    outputs: BTreeMap<String, String>,
    /// Logical id → physical id (a queue's is its URL).
    resources: BTreeMap<String, String>,
}

async fn create_stack(sdk: &aws_config::SdkConfig, s3: &aws_sdk_s3::Client, name: &str) -> Stack {
    let code = format!("{name}-code");
    create_bucket(sdk, s3, &code).await;
    for key in ["entry.zip", "admin.zip", "compact.zip"] {
        s3.put_object()
            .bucket(&code)
            .key(key)
            .body(code_zip().into())
            .send()
            .await
            .unwrap();
    }
    let cf = aws_sdk_cloudformation::Client::new(sdk);
    let param = |k: &str, v: &str| {
        Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    cf.create_stack()
        .stack_name(name)
        .template_body(TEMPLATE)
        .capabilities(Capability::CapabilityIam)
        .parameters(param("CodeBucket", &code))
        .parameters(param("EntryCodeKey", "entry.zip"))
        .parameters(param("AdminCodeKey", "admin.zip"))
        .parameters(param("CompactCodeKey", "compact.zip"))
        .parameters(param("EntryBatchSize", "100"))
        .send()
        .await
        .unwrap();
    let stack = cf
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .clone();
    assert_eq!(
        stack.stack_status(),
        Some(&StackStatus::CreateComplete),
        "{:?}",
        stack.stack_status_reason()
    );
    let outputs = stack
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap_or_default().to_string(),
                o.output_value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let resources = cf
        .list_stack_resources()
        .stack_name(name)
        .send()
        .await
        .unwrap()
        .stack_resource_summaries()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_string(),
                r.physical_resource_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Stack { outputs, resources }
}

/// The function as deployed: its environment, after checking its runtime.
async fn deployed_env(lambda: &aws_sdk_lambda::Client, function: &str) -> Vec<(String, String)> {
    let f = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .unwrap();
    assert_eq!(f.handler(), Some("bootstrap"), "{function}");
    assert_eq!(
        f.runtime().map(|r| r.as_str()),
        Some("provided.al2023"),
        "{function}"
    );
    let mut env: Vec<(String, String)> = f
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    env.sort();
    // Every ACCESSLAKE_ variable the template sets is one the code reads
    // (docs/aws.md, "Configuration"): a misspelt name would be ignored.
    for (k, _) in &env {
        assert!(
            [
                "ACCESSLAKE_TABLE",
                "ACCESSLAKE_LAKE",
                "ACCESSLAKE_SINK",
                "ACCESSLAKE_LOG",
                "ACCESSLAKE_COMPACT_DAYS",
                "ACCESSLAKE_COMPACT_TARGET_SIZE",
                "ACCESSLAKE_FIREHOSE_DECISIONS",
                "ACCESSLAKE_FIREHOSE_ADMIN_EVENTS",
                "ACCESSLAKE_FIREHOSE_REJECTED",
            ]
            .contains(&k.as_str()),
            "{function}: {k} is not a variable accesslake reads"
        );
    }
    env
}

/// The event source mappings of a function, checked for the settings the
/// handlers rely on, then disabled (this test is the poller).
async fn mappings(lambda: &aws_sdk_lambda::Client, function: &str) -> Vec<String> {
    let listed = lambda
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await
        .unwrap();
    let mut sources = Vec::new();
    for m in listed.event_source_mappings() {
        assert!(
            m.function_response_types()
                .iter()
                .any(|t| t.as_str() == "ReportBatchItemFailures"),
            "{function}: the handlers answer with batch item failures"
        );
        sources.push(m.event_source_arn().unwrap_or_default().to_string());
        lambda
            .update_event_source_mapping()
            .uuid(m.uuid().unwrap())
            .enabled(false)
            .send()
            .await
            .unwrap();
    }
    sources.sort();
    sources
}

fn admin_event(id: &str, kind: &str, data: Value) -> String {
    json!({"event_id": id, "type": kind, "occurred_at": "2026-03-01T09:00:00Z",
           "actor": "hr-system", "data": data})
    .to_string()
}

/// Runs the built function `bin` on `event` with its deployed environment.
fn run(bin: &str, env: &[(String, String)], event: &[u8]) -> runtime_api::Invocation {
    invoke(|api| start(bin, api, &with_endpoint(env.to_vec())), event)
}

/// Environment of a binary run: the deployed variables, plus where the
/// emulator is (on AWS the SDK finds the endpoints itself).
fn with_endpoint(mut env: Vec<(String, String)>) -> Vec<(String, String)> {
    env.push(("AWS_ENDPOINT_URL".into(), endpoint()));
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn the_template_deploys_and_the_binaries_run_on_what_it_created() {
    endpoint();
    let sdk = accesslake_ingest::aws::sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let name = format!("al{}", std::process::id());
    let stack = create_stack(&sdk, &s3, &name).await;
    let out = |k: &str| {
        stack
            .outputs
            .get(k)
            .unwrap_or_else(|| panic!("output {k} in {:?}", stack.outputs))
            .clone()
    };
    let lake_bucket = out("LakeUri").trim_start_matches("s3://").to_string();

    // The functions, as deployed.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let entry_env = deployed_env(&lambda, &out("EntryFunctionName")).await;
    let admin_env = deployed_env(&lambda, &out("AdminFunctionName")).await;
    let compact_env = deployed_env(&lambda, &out("CompactFunctionName")).await;
    let table = entry_env
        .iter()
        .find(|(k, _)| k == "ACCESSLAKE_TABLE")
        .map(|(_, v)| v.clone())
        .expect("entry-lambda is told its table");
    assert_eq!(table, out("StateTableName"));
    let entry_sources = mappings(&lambda, &out("EntryFunctionName")).await;
    assert_eq!(entry_sources.len(), 1);
    assert!(entry_sources[0].ends_with(&format!("stream/{}", out("ScanStreamName"))));
    let admin_sources = mappings(&lambda, &out("AdminFunctionName")).await;
    assert_eq!(admin_sources.len(), 2, "the admin queue and the bulk queue");

    // Admin events, published to the stack's topic, arrive on its queue.
    let sns = aws_sdk_sns::Client::new(&sdk);
    let zone = json!({"zone_id": "hq-lobby", "name": "Lobby", "site_id": "hq",
                      "timezone": "Europe/London", "capacity": 120});
    let door = json!({"door_id": "hq-f1-east", "zone_id": "hq-lobby", "name": "Floor 1 east"});
    let person = json!({"employee_id": "e-1001", "name": "Ada Lovelace",
                        "department": "R&D", "status": "active"});
    let card = json!({"card_id": "0042:18231", "employee_id": "e-1001",
                      "valid_from": "2026-03-01T00:00:00Z", "valid_until": "2027-03-01T00:00:00Z"});
    let grant = json!({"employee_id": "e-1001", "zone_id": "hq-lobby",
                       "schedule": {"weekdays": [1, 2, 3, 4, 5], "start": "07:00", "end": "19:00"}});
    for (id, kind, data) in [
        ("admin-1", "zone_upserted", zone),
        ("admin-2", "door_upserted", door),
        ("admin-3", "employee_upserted", person),
        ("admin-4", "card_issued", card),
        ("admin-5", "access_granted", grant),
    ] {
        sns.publish()
            .topic_arn(out("AdminTopicArn"))
            .message(admin_event(id, kind, data))
            .message_group_id("hr")
            .send()
            .await
            .unwrap();
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = stack.resources["AdminQueue"].clone();
    let queue_arn = admin_sources
        .iter()
        .find(|a| a.ends_with("-admin.fifo"))
        .expect("the admin mapping reads the FIFO queue")
        .clone();
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    assert_eq!(messages.len(), 5, "the topic delivered to the queue");
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": m.attributes().map(|a| a.iter()
                    .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                    .collect::<serde_json::Map<_, _>>()).unwrap_or_default(),
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": sdk.region().map(|r| r.to_string()),
            })
        })
        .collect();
    let admin = run(
        env!("CARGO_BIN_EXE_admin-lambda"),
        &admin_env,
        json!({"Records": records}).to_string().as_bytes(),
    );
    assert_eq!(admin.response, json!({"batchItemFailures": []}));

    // Scans, put into the stack's stream and read back as Lambda would.
    let kinesis = aws_sdk_kinesis::Client::new(&sdk);
    let stream = out("ScanStreamName");
    for (id, at, direction) in [
        ("scan-1", "2026-03-02T08:01:02.123Z", "in"),
        ("scan-3", "2026-03-02T17:30:00Z", "out"),
    ] {
        let scan = json!({"event_id": id, "occurred_at": at, "door_id": "hq-f1-east",
                          "card_id": "0042:18231", "direction": direction});
        kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key("0042:18231")
            .data(aws_sdk_kinesis::primitives::Blob::new(scan.to_string()))
            .send()
            .await
            .unwrap();
    }
    let shards = kinesis
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for shard in shards.shards() {
        let iterator = kinesis
            .get_shard_iterator()
            .stream_name(&stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        let got = kinesis
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
            .unwrap();
        for r in got.records() {
            records.push(json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key(),
                    "sequenceNumber": r.sequence_number(),
                    "data": base64::engine::general_purpose::STANDARD.encode(r.data().as_ref()),
                    "approximateArrivalTimestamp": 1772438462.123,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("{}:{}", shard.shard_id(), r.sequence_number()),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/entry",
                "awsRegion": sdk.region().map(|r| r.to_string()),
                "eventSourceARN": entry_sources[0],
            }));
        }
    }
    assert_eq!(records.len(), 2);
    let entry = run(
        env!("CARGO_BIN_EXE_entry-lambda"),
        &entry_env,
        json!({"Records": records}).to_string().as_bytes(),
    );
    assert_eq!(entry.response, json!({"batchItemFailures": []}));

    // The decisions are in the stack's table (with the key schema the code
    // uses) and the rows in the stack's lake bucket.
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let decided = store.decisions(&["scan-1", "scan-3"]).await.unwrap();
    let reasons: Vec<&str> = decided
        .iter()
        .map(|d| d.as_ref().map_or("missing", |d| d.row.reason.as_str()))
        .collect();
    assert_eq!(reasons, ["ok", "egress"]);
    let lake = keys(&s3, &lake_bucket, "").await;
    assert!(
        lake.iter()
            .any(|k| k.starts_with("decisions/dt=2026-03-02/kinesis-")),
        "{lake:?}"
    );
    assert!(
        lake.iter()
            .any(|k| k.starts_with("admin_events/dt=2026-03-01/sqs-")),
        "{lake:?}"
    );

    // The nightly function, with its deployed environment, compacts and
    // snapshots into the same bucket.
    let nightly = run(
        env!("CARGO_BIN_EXE_compact-lambda"),
        &compact_env,
        &fixture("eventbridge-scheduled-event.json"),
    );
    assert_eq!(
        nightly.response["snapshot"]["employees"], 1,
        "{:?}",
        nightly.response
    );
    let lake = keys(&s3, &lake_bucket, "").await;
    assert!(
        lake.iter()
            .any(|k| k.starts_with("decisions/dt=2026-03-02/compact-")),
        "{lake:?}"
    );
    assert!(
        lake.iter()
            .any(|k| k.starts_with("grants/dt=") && k.contains("/snapshot-")),
        "{lake:?}"
    );
    eprintln!(
        "init to first event with the deployed environment: admin {:?}, entry {:?}, compact {:?}",
        admin.init, entry.init, nightly.init
    );
}
