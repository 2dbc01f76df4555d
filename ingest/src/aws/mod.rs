//! The AWS side of ingest (feature `aws`): configuration from the
//! environment, clients built once per cold start, and the two Lambda
//! handlers as library functions of plain event types.
//!
//! - [`kinesis::handle`]: entry events from a Kinesis batch.
//! - [`sqs::handle`]: admin events from SQS (SNS envelopes, raw messages, or
//!   S3 notifications of a bulk JSONL file).
//! - [`FirehoseSink`]: rows to Firehose instead of straight to S3.
//! - [`nightly::run`]: the scheduled compaction and dimension snapshot.

pub mod firehose;
pub mod kinesis;
pub mod nightly;
pub mod sqs;
pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;

use accesslake_transform::Lake;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::prefix::PrefixStore;
use serde::Deserialize;

pub use firehose::FirehoseSink;

use crate::sink::{DecisionSink, LakeSink};
use crate::store::DynamoStore;
use crate::{Error, Result};

/// Where the rows of a batch go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// Parquet files straight into the lake bucket (the default).
    #[default]
    Lake,
    /// JSON rows to Firehose delivery streams that convert to Parquet.
    Firehose,
}

/// Settings of both Lambdas, read from `ACCESSLAKE_*` environment variables
/// (the field name in upper case: `table` ← `ACCESSLAKE_TABLE`). AWS
/// settings (region, credentials, `AWS_ENDPOINT_URL`) come from the standard
/// AWS chain, never from here.
#[derive(Debug, Clone, Deserialize)]
pub struct LambdaConfig {
    /// The DynamoDB table of the live state.
    pub table: String,
    /// The lake root, `s3://bucket[/prefix]`.
    pub lake: String,
    /// `lake` (default) or `firehose`.
    #[serde(default)]
    pub sink: SinkKind,
    /// Firehose delivery stream of the `decisions` table (sink = firehose).
    pub firehose_decisions: Option<String>,
    /// Firehose delivery stream of the `admin_events` table (sink = firehose).
    pub firehose_admin_events: Option<String>,
    /// Firehose delivery stream of the `rejected` table (sink = firehose).
    pub firehose_rejected: Option<String>,
}

impl LambdaConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the configuration from `ACCESSLAKE_*` pairs.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        from_vars(vars)
    }
}

/// A settings struct from `ACCESSLAKE_*` pairs: `ACCESSLAKE_TABLE` is the
/// field `table`; values are strings.
pub(crate) fn from_vars<T: serde::de::DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T> {
    let map: serde_json::Map<String, serde_json::Value> = vars
        .into_iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("ACCESSLAKE_")
                .map(|k| (k.to_ascii_lowercase(), serde_json::Value::String(v)))
        })
        .collect();
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| Error::Config(format!("ACCESSLAKE_* environment: {e}")))
}

pub use accesslake_model::aws::sdk_config;

/// An S3 object store for `bucket`, configured like the SDK clients: region
/// and credentials from the environment, `AWS_ENDPOINT_URL` honoured (plain
/// HTTP allowed only when that endpoint is `http://`, as a local emulator is).
pub fn s3_store(bucket: &str) -> Result<Arc<dyn ObjectStore>> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok();
    Ok(Arc::new(
        s3_builder(bucket, endpoint.as_deref())
            .build()
            .map_err(|e| Error::Config(format!("S3 bucket {bucket}: {e}")))?,
    ))
}

/// The settings of [`s3_store`] with an explicit endpoint. Retries are
/// object_store's (docs/reliability.md): 5xx, throttling, timeouts and
/// connection errors, up to 10 times with backoff from 100 ms, within 3
/// minutes; every lake write is a PUT of a whole object under a
/// deterministic key, so a retried or repeated PUT is harmless. Timeouts
/// are 2 s to connect and 30 s per request.
pub fn s3_builder(bucket: &str, endpoint: Option<&str>) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_client_options(client_options(endpoint))
        .with_http_connector(tls::connector(endpoint));
    if let Some(endpoint) = endpoint {
        b = b.with_endpoint(endpoint);
    }
    b
}

/// The HTTP settings of the lake's S3 client; the bundled-roots client
/// carries each of them over (a test in [`tls`] holds it to that).
fn client_options(endpoint: Option<&str>) -> object_store::ClientOptions {
    object_store::ClientOptions::new()
        .with_connect_timeout(std::time::Duration::from_secs(2))
        .with_timeout(std::time::Duration::from_secs(30))
        .with_allow_http(endpoint.is_some_and(|e| e.starts_with("http://")))
}

/// The lake at `s3://bucket[/prefix]`.
pub fn s3_lake(url: &str) -> Result<Lake> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| Error::Config(format!("lake {url:?}: expected s3://bucket[/prefix]")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::Config(format!("lake {url:?}: no bucket")));
    }
    let store = s3_store(bucket)?;
    let prefix = prefix.trim_matches('/');
    let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
        store
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    };
    Ok(Lake::from_store(store, url))
}

/// The sink the configuration names, with its clients.
pub fn sink(config: &LambdaConfig, sdk: &aws_config::SdkConfig) -> Result<Arc<dyn DecisionSink>> {
    Ok(match config.sink {
        SinkKind::Lake => Arc::new(LakeSink::new(s3_lake(&config.lake)?)),
        SinkKind::Firehose => {
            let stream = |name: &Option<String>, var: &str| {
                name.clone()
                    .ok_or_else(|| Error::Config(format!("sink=firehose needs ACCESSLAKE_{var}")))
            };
            let streams = HashMap::from([
                (
                    accesslake_model::Table::Decisions,
                    stream(&config.firehose_decisions, "FIREHOSE_DECISIONS")?,
                ),
                (
                    accesslake_model::Table::AdminEvents,
                    stream(&config.firehose_admin_events, "FIREHOSE_ADMIN_EVENTS")?,
                ),
                (
                    accesslake_model::Table::Rejected,
                    stream(&config.firehose_rejected, "FIREHOSE_REJECTED")?,
                ),
            ]);
            Arc::new(FirehoseSink::new(
                aws_sdk_firehose::Client::new(sdk),
                streams,
            ))
        }
    })
}

/// The state store the configuration names.
pub fn store(config: &LambdaConfig, sdk: &aws_config::SdkConfig) -> DynamoStore {
    DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), config.table.clone())
}

/// Logs as text lines without ANSI colours (CloudWatch), level from
/// `ACCESSLAKE_LOG` (default `info`; other crates never above `info` unless
/// named, see [`accesslake_model::logging::log_directives`]).
pub fn init_logging() {
    let setting = std::env::var("ACCESSLAKE_LOG").unwrap_or_else(|_| "info".into());
    let filter =
        tracing_subscriber::EnvFilter::new(accesslake_model::logging::log_directives(&setting));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_environment_pairs() {
        let c = LambdaConfig::from_vars([
            ("ACCESSLAKE_TABLE".to_string(), "state".to_string()),
            (
                "ACCESSLAKE_LAKE".to_string(),
                "s3://lake/prefix".to_string(),
            ),
            ("PATH".to_string(), "/bin".to_string()),
        ])
        .unwrap();
        assert_eq!(c.table, "state");
        assert_eq!(c.sink, SinkKind::Lake);
        let missing = LambdaConfig::from_vars([("ACCESSLAKE_TABLE".to_string(), "t".to_string())])
            .unwrap_err();
        assert!(missing.to_string().contains("lake"), "{missing}");
        let bad = LambdaConfig::from_vars([
            ("ACCESSLAKE_TABLE".to_string(), "t".to_string()),
            ("ACCESSLAKE_LAKE".to_string(), "s3://l".to_string()),
            ("ACCESSLAKE_SINK".to_string(), "kafka".to_string()),
        ])
        .unwrap_err();
        assert!(bad.to_string().contains("kafka"), "{bad}");
        assert!(s3_lake("file:///tmp").is_err());
        assert!(s3_lake("s3:///x").is_err());
    }
}
