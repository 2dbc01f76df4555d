//! The [`BatchStore`] conformance suite on the in-memory store the handler
//! benchmark uses, so what it measures is a store with the same semantics.

mod conformance;

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::MemoryBatchStore;

#[tokio::test]
async fn decisions_follow_the_rules() {
    conformance::decisions_follow_the_rules(&MemoryBatchStore::new()).await;
}

#[tokio::test]
async fn admin_semantics() {
    conformance::admin_semantics(&MemoryBatchStore::new()).await;
}

#[tokio::test]
async fn redelivery_returns_the_first_outcome() {
    conformance::redelivery_returns_the_first_outcome(&MemoryBatchStore::new()).await;
}

#[tokio::test]
async fn poison_records_are_rejected_and_skipped() {
    conformance::poison_records_are_rejected_and_skipped(&MemoryBatchStore::new()).await;
}

#[tokio::test]
async fn retry_from_the_failed_record() {
    conformance::retry_from_the_failed_record(&MemoryBatchStore::new(), &MemoryBatchStore::new())
        .await;
}

#[tokio::test]
async fn concurrent_writers_are_caught_by_conditions() {
    conformance::concurrent_writers_are_caught_by_conditions(&MemoryBatchStore::new()).await;
}

#[tokio::test]
async fn same_rows_as_the_local_pipeline() {
    let d = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        seed: 11,
        employees: 40,
        days: 3,
        ..GenConfig::default()
    };
    generate_to_dir(&cfg, d.path()).unwrap();
    conformance::same_rows_as_the_local_pipeline(&MemoryBatchStore::new(), d.path(), 97).await;
}
