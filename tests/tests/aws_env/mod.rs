//! The emulated AWS account of the tests: the moto server `scripts/test`
//! starts and names in `AWS_ENDPOINT_URL`, reached by the real SDK clients
//! through the standard configuration chain.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// The endpoint, or a clear failure: these tests never pass by skipping.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: run scripts/test, which starts the moto \
             emulator, or start `moto_server` and export AWS_ENDPOINT_URL, \
             AWS_REGION and dummy AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    })
}

/// The SDK configuration the Lambdas use, pointed at the emulator by the environment.
pub async fn sdk() -> aws_config::SdkConfig {
    endpoint();
    accesslake_ingest::aws::sdk_config().await
}

/// A resource name unique to this test process and call.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
