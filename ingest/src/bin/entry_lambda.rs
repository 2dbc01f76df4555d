//! `entry-lambda`: Kinesis batches of card scans → decisions (DynamoDB) and
//! rows (S3 or Firehose). Clients are built once per cold start.

use std::sync::Arc;

use accesslake_ingest::aws::{self, LambdaConfig, kinesis};
use accesslake_ingest::batch::BatchStore;
use accesslake_ingest::sink::DecisionSink;
use accesslake_model::{Clock, SystemClock};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| {
        let (store, sink) = (store.clone(), sink.clone());
        async move {
            let handled = kinesis::handle(
                store.as_ref(),
                sink.as_ref(),
                &event.payload,
                SystemClock.now(),
            )
            .await;
            Ok::<KinesisEventResponse, Error>(handled.response)
        }
    }))
    .await
}
