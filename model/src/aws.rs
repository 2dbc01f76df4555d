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
        .load()
        .await
}
