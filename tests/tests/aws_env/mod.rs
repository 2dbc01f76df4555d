//! The emulated AWS account of the tests: the moto server `scripts/test`
//! starts and names in `AWS_ENDPOINT_URL`, reached by the real SDK clients
//! through the standard configuration chain.
#![allow(dead_code)]

pub mod account;

use std::sync::atomic::{AtomicU32, Ordering};

/// This crate's folder, as cargo or nextest gives it to the running test
/// (a test binary can be reused from another checkout of the same target
/// folder, with another folder compiled in).
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
        .into()
}

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

/// An S3 client on the emulator (path-style addressing, as moto serves it).
pub fn s3(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// A new empty bucket in the configured region; its name.
pub async fn bucket(sdk: &aws_config::SdkConfig) -> String {
    let bucket = unique("lake").to_lowercase();
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    s3(sdk)
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(region.as_str().into())
                .build(),
        )
        .send()
        .await
        .unwrap();
    bucket
}

/// POSTs `body` (JSON) to the emulator's own API (`/moto-api/…`): preset
/// Athena results, state transitions. Panics unless moto answers 2xx.
pub fn moto_api(path: &str, body: &serde_json::Value) {
    let endpoint = endpoint();
    let host = endpoint
        .strip_prefix("http://")
        .expect("the emulator endpoint is http://host:port")
        .trim_end_matches('/');
    let answer = http(host, "POST", path, &body.to_string());
    let status = answer.split_whitespace().nth(1).unwrap_or_default();
    assert!(status.starts_with('2'), "moto {path}: {answer}");
}

/// One HTTP/1.1 request with a JSON body on its own connection; the whole
/// answer, status line and headers included.
fn http(host: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// Service settings without the environment's (AWS_ENDPOINT_URL_* would
/// win over an endpoint set in code).
#[derive(Debug)]
pub struct NoEnvironment;

impl aws_types::service_config::LoadServiceConfig for NoEnvironment {
    fn load_config(&self, _: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        None
    }
}

/// `scripts/fault_proxy.py` in front of the emulator, stopped on drop.
pub struct FaultProxy {
    child: std::process::Child,
    port: u16,
}

impl FaultProxy {
    /// Starts the proxy with faults off; `seed` fixes which calls fail.
    pub fn start(seed: u64) -> FaultProxy {
        use std::io::BufRead;
        let script = manifest_dir().join("../scripts/fault_proxy.py");
        let mut child = std::process::Command::new("python3")
            .arg(&script)
            .args([endpoint().as_str(), "0", &seed.to_string(), "0.8"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the fault proxy");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("fault proxy said {line:?}"));
        FaultProxy { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The fraction of calls that fail from now on.
    pub fn set_rate(&self, rate: f64) {
        self.call("POST", &format!("{{\"rate\": {rate}}}"));
    }

    /// Requests and faults per service: `{"dynamodb": {"requests": n, "throttle": n, …}}`.
    pub fn counts(&self) -> serde_json::Value {
        serde_json::from_str(&self.call("GET", "")).unwrap()
    }

    fn call(&self, method: &str, body: &str) -> String {
        let host = format!("127.0.0.1:{}", self.port);
        http(&host, method, "/__faults", body)
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
