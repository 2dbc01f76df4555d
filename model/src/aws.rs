//! AWS SDK settings shared by every accesslake AWS client (feature `aws`).

/// The AWS SDK configuration from the standard chain (region, credentials,
/// `AWS_ENDPOINT_URL`), with an HTTPS client on rustls + ring: the one crypto
/// provider of the build.
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// Retries of every AWS call (docs/reliability.md): standard mode (retries
/// throttling, 5xx, timeouts and connection errors, with a client-side retry
/// quota), 4 attempts, backoff from 100 ms doubling with jitter to at most
/// 2 s. A throttled DynamoDB write clears in a few hundred milliseconds;
/// past ~2 s of retrying one call, the Lambda does better to hand the rest of
/// its batch back (a batch item failure) than to spend its timeout waiting.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    use std::time::Duration;
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(2))
}

/// Timeouts of every AWS call: 2 s to connect, 10 s per attempt (a
/// 10,000-record TransactWriteItems series or a large Parquet PUT stays far
/// below), so a hung connection is retried instead of holding the Lambda to
/// its timeout.
pub fn timeout_config() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(10))
        .build()
}
