//! The built Lambda binaries under a local Lambda Runtime API: the real
//! wiring (environment, client construction, event and response shapes) with
//! the captured envelopes of `fixtures/aws/`, against the moto emulator.
//! `ACCESSLAKE_LAMBDA_DIR` runs other builds of them (`infra/check-lambdas`:
//! the packaged ones).

mod runtime_api;

use std::process::Child;

use accesslake_ingest::batch::BatchStore;
use runtime_api::{binary, endpoint, fixture, invoke, start};

fn lambda(bin: &str, api: &str, table: &str, lake: &str) -> Child {
    let env = [
        ("ACCESSLAKE_TABLE", table),
        ("ACCESSLAKE_LAKE", lake),
        // The most verbose level: the logs are checked for personal data.
        ("ACCESSLAKE_LOG", "trace"),
    ];
    start(
        &binary(bin),
        api,
        &env.map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binaries_answer_the_runtime_api() {
    endpoint();
    let sdk = accesslake_ingest::aws::sdk_config().await;
    let (table, store) = runtime_api::table_and_bucket(&sdk, "bootstrap").await;
    let bucket = &table;
    let s3 = runtime_api::s3(&sdk);
    let lake = format!("s3://{bucket}/lake");

    // What the logs are checked for: the events' card ids and names.
    for (f, want) in [
        ("kinesis-event.json", "0042:18231"),
        ("sqs-sns-event.json", "Ada Lovelace"),
    ] {
        let mut found = Vec::new();
        runtime_api::personal_data(&serde_json::from_slice(&fixture(f)).unwrap(), &mut found);
        assert!(found.iter().any(|s| s == want), "{f}: {found:?}");
    }

    // The admin function: SNS envelopes, a raw message, a poison message.
    let admin = invoke(
        |api| lambda(env!("CARGO_BIN_EXE_admin-lambda"), api, &table, &lake),
        &fixture("sqs-sns-event.json"),
    );
    assert_eq!(admin.response, serde_json::json!({"batchItemFailures": []}));
    let records = store
        .admin_records(&["admin-1", "admin-5", "admin-6"])
        .await
        .unwrap();
    assert!(records[0].as_ref().is_some_and(|r| r.row.applied));
    assert!(records[1].as_ref().is_some_and(|r| r.row.applied));
    assert_eq!(
        records[2].as_ref().and_then(|r| r.row.error),
        Some("unknown_card")
    );

    // The entry function: two scans and a poison record on shard 3.
    let entry = invoke(
        |api| lambda(env!("CARGO_BIN_EXE_entry-lambda"), api, &table, &lake),
        &fixture("kinesis-event.json"),
    );
    assert_eq!(entry.response, serde_json::json!({"batchItemFailures": []}));
    let decided = store.decisions(&["scan-1", "scan-3"]).await.unwrap();
    let reasons: Vec<&str> = decided
        .iter()
        .map(|d| d.as_ref().map_or("missing", |d| d.row.reason.as_str()))
        .collect();
    assert_eq!(reasons, ["ok", "egress"]);
    let keys = runtime_api::keys(&s3, bucket, "lake/").await;
    let shard_file = format!(
        "kinesis-shardId-000000000003-{:0>60}.parquet",
        "49568167373333333333333333333333333333333333333333333333"
    );
    assert!(
        keys.contains(&format!("lake/decisions/dt=2026-03-02/{shard_file}")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("lake/rejected/dt=") && k.ends_with(&shard_file)),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .filter(|k| k.starts_with("lake/admin_events/dt=2026-03-01/sqs-"))
            .count()
            >= 6,
        "{keys:?}"
    );
    // The nightly function: compacts the three days before its time and
    // snapshots the state the other two wrote.
    let nightly = invoke(
        |api| lambda(env!("CARGO_BIN_EXE_compact-lambda"), api, &table, &lake),
        &fixture("eventbridge-scheduled-event.json"),
    );
    assert_eq!(nightly.response["from"], "2026-02-28");
    assert_eq!(nightly.response["to"], "2026-03-02");
    assert_eq!(
        nightly.response["snapshot"]["employees"], 1,
        "{:?}",
        nightly.response
    );
    assert_eq!(nightly.response["snapshot"]["grants"], 1);
    let keys = runtime_api::keys(&s3, bucket, "lake/").await;
    for prefix in [
        "lake/decisions/dt=2026-03-02/",
        "lake/admin_events/dt=2026-03-01/",
    ] {
        let files: Vec<&String> = keys.iter().filter(|k| k.starts_with(prefix)).collect();
        assert!(
            files.len() == 1 && files[0].contains("/compact-"),
            "{prefix}: {files:?}"
        );
    }
    assert!(
        keys.iter()
            .any(|k| k.starts_with("lake/grants/dt=") && k.contains("/snapshot-")),
        "{keys:?}"
    );
    eprintln!(
        "init to first event: admin {:?}, entry {:?}",
        admin.init, entry.init
    );
}
