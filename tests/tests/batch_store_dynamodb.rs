//! The [`BatchStore`] conformance suite on DynamoDB, served by the moto
//! emulator that `scripts/test` starts (`AWS_ENDPOINT_URL`), through the real
//! `aws-sdk-dynamodb` client.

mod aws_env;
mod conformance;

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::EmbeddedStore;
use accesslake_ingest::store::DynamoStore;

async fn store() -> DynamoStore {
    let sdk = aws_env::sdk().await;
    let s = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        aws_env::unique("state"),
    );
    s.create_table()
        .await
        .expect("create the table on the emulator");
    s
}

#[tokio::test]
async fn decisions_follow_the_rules() {
    conformance::decisions_follow_the_rules(&store().await).await;
}

#[tokio::test]
async fn admin_semantics() {
    conformance::admin_semantics(&store().await).await;
}

#[tokio::test]
async fn redelivery_returns_the_first_outcome() {
    conformance::redelivery_returns_the_first_outcome(&store().await).await;
}

#[tokio::test]
async fn poison_records_are_rejected_and_skipped() {
    conformance::poison_records_are_rejected_and_skipped(&store().await).await;
}

#[tokio::test]
async fn retry_from_the_failed_record() {
    let clean = EmbeddedStore::in_memory().unwrap();
    conformance::retry_from_the_failed_record(&store().await, &clean).await;
}

#[tokio::test]
async fn concurrent_writers_are_caught_by_conditions() {
    conformance::concurrent_writers_are_caught_by_conditions(&store().await).await;
}

#[tokio::test]
async fn same_rows_as_the_local_pipeline() {
    let d = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        seed: 11,
        employees: 12,
        days: 2,
        ..GenConfig::default()
    };
    generate_to_dir(&cfg, d.path()).unwrap();
    // Large batches: many keys per BatchGetItem, transactions cut at 100 actions.
    conformance::same_rows_as_the_local_pipeline(&store().await, d.path(), 450).await;
}
