//! A local Lambda Runtime API for the built bootstrap binaries: serves
//! events one at a time, returns the function's answers; and a look at what
//! they wrote.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the function said back, and how long it took to ask for its first event.
#[derive(Debug)]
pub struct Invocation {
    pub response: serde_json::Value,
    pub init: Duration,
}

/// Card ids and employee names anywhere in an event: in nested JSON text
/// (SQS bodies, SNS messages) and base64 record data (Kinesis) too.
pub fn personal_data(v: &serde_json::Value, out: &mut Vec<String>) {
    use base64::Engine;
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let person = m.contains_key("employee_id");
                match (k.as_str(), x.as_str()) {
                    ("card_id", Some(s)) => out.push(s.to_string()),
                    ("name", Some(s)) if person => out.push(s.to_string()),
                    (_, Some(s)) => {
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(s)
                            .ok()
                            .filter(|_| k == "data");
                        let text = decoded.as_deref().unwrap_or(s.as_bytes());
                        if let Ok(inner) = serde_json::from_slice(text) {
                            personal_data(&inner, out);
                        }
                    }
                    _ => personal_data(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| personal_data(x, out)),
        _ => {}
    }
}

/// One HTTP/1.1 request (request line, headers, body by Content-Length or chunked).
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}

fn respond(w: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = w.write_all(head.as_bytes());
    let _ = w.write_all(body);
    let _ = w.flush();
}

/// A started function and the Runtime API it asks for events: hands it one
/// event per [`Runtime::invoke`], as Lambda does to a warm instance.
pub struct Runtime {
    child: Child,
    events: Option<mpsc::Sender<Vec<u8>>>,
    answers: mpsc::Receiver<Result<Vec<u8>, String>>,
    first: mpsc::Receiver<Instant>,
    started: Instant,
    output: Vec<std::thread::JoinHandle<String>>,
}

impl Runtime {
    /// Starts the process `spawn` makes (given the Runtime API address).
    pub fn start(spawn: impl FnOnce(&str) -> Child) -> Runtime {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (events_tx, events_rx) = mpsc::channel::<Vec<u8>>();
        let (tx, answers) = mpsc::channel::<Result<Vec<u8>, String>>();
        let (first_tx, first) = mpsc::channel::<Instant>();
        std::thread::spawn(move || serve(listener, events_rx, tx, first_tx));
        let started = Instant::now();
        let mut child = spawn(&addr);
        // Read the function's output while it runs: a full pipe would stop it.
        let drain = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut buf);
                }
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let output = vec![
            drain(
                child
                    .stderr
                    .take()
                    .map(|r| Box::new(r) as Box<dyn Read + Send>),
            ),
            drain(
                child
                    .stdout
                    .take()
                    .map(|r| Box::new(r) as Box<dyn Read + Send>),
            ),
        ];
        Runtime {
            child,
            events: Some(events_tx),
            answers,
            first,
            started,
            output,
        }
    }

    /// Hands the function `event` and waits for its answer (an error it
    /// reported is `Err`), at most `timeout`.
    pub fn invoke(&mut self, event: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, String> {
        self.events.as_ref().unwrap().send(event).unwrap();
        match self.answers.recv_timeout(timeout) {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }

    /// The process's peak resident memory so far (Linux `VmHWM`), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
        Some(
            kb.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()?
                * 1024,
        )
    }

    /// CPU time the process's threads have used so far (Linux schedstat).
    pub fn cpu_time(&self) -> Option<Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id())).ok()?;
        let mut ns = 0u64;
        for t in tasks.flatten() {
            let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(ns))
    }

    /// Stops the function; its log output and how long it took to ask for
    /// its first event.
    pub fn stop(mut self) -> (String, Option<Duration>) {
        self.events = None;
        let _ = self.child.kill();
        self.child.wait().unwrap();
        let logs = self
            .output
            .drain(..)
            .map(|h| h.join().unwrap())
            .collect::<String>();
        let init = self.first.try_recv().ok().map(|t| t - self.started);
        (logs, init)
    }
}

/// The Runtime API: each `GET …/next` takes the next event (and waits
/// while there is none); each answer goes back to [`Runtime::invoke`].
fn serve(
    listener: TcpListener,
    events: mpsc::Receiver<Vec<u8>>,
    answers: mpsc::Sender<Result<Vec<u8>, String>>,
    first: mpsc::Sender<Instant>,
) {
    let mut served = 0u64;
    for conn in listener.incoming() {
        let Ok(conn) = conn else { return };
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut writer = conn;
        while let Some((method, path, body)) = read_request(&mut reader) {
            match (method.as_str(), path.as_str()) {
                ("GET", "/2018-06-01/runtime/invocation/next") => {
                    if served == 0 {
                        let _ = first.send(Instant::now());
                    }
                    // No more events: the test is stopping the process.
                    let Ok(event) = events.recv() else { return };
                    served += 1;
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        + 900_000;
                    respond(
                        &mut writer,
                        "200 OK",
                        &[
                            ("content-type", "application/json".into()),
                            ("lambda-runtime-aws-request-id", format!("req-{served}")),
                            ("lambda-runtime-deadline-ms", deadline.to_string()),
                            (
                                "lambda-runtime-invoked-function-arn",
                                "arn:aws:lambda:eu-west-1:123456789012:function:test".into(),
                            ),
                            (
                                "lambda-runtime-trace-id",
                                "Root=1-00000000-000000000000000000000000".into(),
                            ),
                        ],
                        &event,
                    );
                }
                ("POST", p) => {
                    respond(&mut writer, "202 Accepted", &[], b"{}");
                    let answer =
                        if p == format!("/2018-06-01/runtime/invocation/req-{served}/response") {
                            Ok(body)
                        } else {
                            Err(format!("{p}: {}", String::from_utf8_lossy(&body)))
                        };
                    let _ = answers.send(answer);
                }
                _ => respond(&mut writer, "404 Not Found", &[], b""),
            }
        }
    }
}

/// Serves one invocation of `event` to the process started by `spawn`
/// (given the Runtime API address) and returns what it answered.
pub fn invoke(spawn: impl FnOnce(&str) -> Child, event: &[u8]) -> Invocation {
    let mut secrets = Vec::new();
    personal_data(&serde_json::from_slice(event).unwrap(), &mut secrets);
    let mut runtime = Runtime::start(spawn);
    let answer = runtime.invoke(event.to_vec(), Duration::from_secs(60));
    let (logs, init) = runtime.stop();
    let body = match answer {
        Ok(body) => body,
        Err(e) => panic!("the function reported an error: {e}\n{logs}"),
    };
    let init = init.expect("the function asked for an event");
    // SPEC 5: no card id and no employee name of the event reaches the logs.
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| logs.contains(s.as_str()))
        .collect();
    assert!(leaked.is_empty(), "{leaked:?} reached the logs:\n{logs}");
    Invocation {
        response: serde_json::from_slice(&body).unwrap(),
        init,
    }
}

pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run scripts/test, which starts the moto emulator")
    })
}

pub fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../fixtures/aws")
    .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The Lambda binary to run in place of `built` (one cargo built with the
/// tests): the one of the same name in `$ACCESSLAKE_LAMBDA_DIR` when that is
/// set (another build, or the `bootstrap`s of the packaged zips that
/// `infra/check-lambdas` unpacks).
pub fn binary(built: &str) -> String {
    match std::env::var_os("ACCESSLAKE_LAMBDA_DIR") {
        Some(dir) => {
            let name = std::path::Path::new(built).file_name().unwrap();
            std::path::Path::new(&dir)
                .join(name)
                .to_string_lossy()
                .into_owned()
        }
        None => built.to_string(),
    }
}

/// Starts the binary `bin` as Lambda would: the Runtime API at `api`, the
/// function's settings, and `env` (the function's environment variables).
pub fn start(bin: &str, api: &str, env: &[(String, String)]) -> Child {
    Command::new(bin)
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Lambda binary starts")
}

/// An S3 client on the emulator (path-style addressing, as moto serves it).
pub fn s3(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// Creates `bucket` in the configured region.
pub async fn create_bucket(sdk: &aws_config::SdkConfig, s3: &aws_sdk_s3::Client, bucket: &str) {
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(region.as_str().into())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A state table and a bucket for one test run, both named `<name>-<process
/// id>`: that name and the store on the table.
pub async fn table_and_bucket(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> (String, accesslake_ingest::store::DynamoStore) {
    let name = format!("{name}-{}", std::process::id());
    let store =
        accesslake_ingest::store::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &name);
    store.create_table().await.unwrap();
    create_bucket(sdk, &s3(sdk), &name).await;
    (name, store)
}

/// Every object key under `prefix` in `bucket`.
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}
