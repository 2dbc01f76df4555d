//! `admin-lambda`: SQS batches of admin events (SNS envelopes, raw messages,
//! S3 notifications of bulk files) → DynamoDB state and `admin_events` rows.

use std::sync::Arc;

use accesslake_ingest::aws::{self, LambdaConfig, sqs};
use accesslake_ingest::batch::BatchStore;
use accesslake_ingest::sink::DecisionSink;
use accesslake_model::{Clock, SystemClock};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

/// The same allocator as the CLI: each batch allocates and frees many small
/// strings, which mimalloc serves faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    aws::init_logging();
    let config = LambdaConfig::from_env()?;
    let sdk = aws::sdk_config().await;
    let store: Arc<dyn BatchStore> = Arc::new(aws::store(&config, &sdk));
    let sink: Arc<dyn DecisionSink> = aws::sink(&config, &sdk)?;
    let open_bucket: Arc<sqs::BucketOpener> = Arc::new(|bucket: &str| aws::s3_store(bucket));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (store, sink, open_bucket) = (store.clone(), sink.clone(), open_bucket.clone());
        async move {
            let queue = event
                .payload
                .records
                .first()
                .and_then(|m| m.event_source_arn.as_deref())
                .and_then(|arn| arn.rsplit(':').next())
                .unwrap_or("queue")
                .to_string();
            let handled = sqs::handle(
                store.as_ref(),
                sink.as_ref(),
                open_bucket.as_ref(),
                &queue,
                &event.payload,
                SystemClock.now(),
            )
            .await;
            Ok::<SqsBatchResponse, Error>(handled.response)
        }
    }))
    .await
}
