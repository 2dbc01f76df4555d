//! The [`BatchStore`] conformance suite on the embedded store (redb), on
//! disk and in memory.

mod conformance;

use accesslake_fixtures::{GenConfig, generate_to_dir};
use accesslake_ingest::EmbeddedStore;

fn store() -> (tempfile::TempDir, EmbeddedStore) {
    let d = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(&d.path().join("state.redb")).unwrap();
    (d, s)
}

#[tokio::test]
async fn decisions_follow_the_rules() {
    let (_d, s) = store();
    conformance::decisions_follow_the_rules(&s).await;
}

#[tokio::test]
async fn admin_semantics() {
    let (_d, s) = store();
    conformance::admin_semantics(&s).await;
}

#[tokio::test]
async fn redelivery_returns_the_first_outcome() {
    let (_d, s) = store();
    conformance::redelivery_returns_the_first_outcome(&s).await;
}

#[tokio::test]
async fn poison_records_are_rejected_and_skipped() {
    let (_d, s) = store();
    conformance::poison_records_are_rejected_and_skipped(&s).await;
}

#[tokio::test]
async fn retry_from_the_failed_record() {
    let (_d, s) = store();
    let clean = EmbeddedStore::in_memory().unwrap();
    conformance::retry_from_the_failed_record(&s, &clean).await;
}

#[tokio::test]
async fn concurrent_writers_are_caught_by_conditions() {
    let s = EmbeddedStore::in_memory().unwrap();
    conformance::concurrent_writers_are_caught_by_conditions(&s).await;
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
    let s = EmbeddedStore::in_memory().unwrap();
    conformance::same_rows_as_the_local_pipeline(&s, d.path(), 97).await;
}
