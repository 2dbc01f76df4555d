//! `compact-lambda`: on an EventBridge schedule, compacts the last days of
//! the lake and snapshots the dimensions from DynamoDB (docs/lake.md).

use accesslake_ingest::aws::{self, nightly};
use accesslake_ingest::store::DynamoStore;
use accesslake_model::{Clock, SystemClock};
use lambda_runtime::{Error, LambdaEvent, service_fn};

/// The same allocator as the CLI: each batch allocates and frees many small
/// strings, which mimalloc serves faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    aws::init_logging();
    let config = nightly::NightlyConfig::from_env()?;
    let sdk = aws::sdk_config().await;
    let lake = aws::s3_lake(&config.lake)?;
    let store = config
        .table
        .as_ref()
        .map(|t| DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), t.clone()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (lake, store, config) = (lake.clone(), store.clone(), config.clone());
        async move {
            let done = nightly::run(
                &lake,
                store.as_ref(),
                &event.payload,
                SystemClock.now(),
                &config,
            )
            .await?;
            Ok::<serde_json::Value, Error>(done)
        }
    }))
    .await
}
