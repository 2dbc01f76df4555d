//! What an admin message holds: an SNS envelope around an admin event or an
//! S3 notification, an S3 notification of a bulk file, or the event itself.
//! Pure parsing, without the AWS clients, so it can be fuzzed on its own.

use serde::Deserialize;

/// What one SQS message holds once unwrapped.
#[derive(Debug, PartialEq)]
pub enum Body {
    /// One admin event (raw delivery or an SNS envelope's `Message`).
    Event(String),
    /// Bulk files to read: (bucket, key).
    Files(Vec<(String, String)>),
    /// A notification with nothing to do (S3's `s3:TestEvent`).
    Nothing,
}

#[derive(Deserialize)]
struct SnsEnvelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Message")]
    message: String,
}

#[derive(Deserialize)]
struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(Deserialize)]
struct S3Record {
    #[serde(rename = "eventSource")]
    event_source: Option<String>,
    #[serde(rename = "eventName")]
    event_name: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
}

/// Unwraps an SQS body: an SNS envelope around an event or an S3
/// notification, an S3 notification, or the event itself. Anything that is
/// none of these is passed on as an event, to be rejected by the decoder
/// with its reason.
pub fn unwrap_body(body: &str) -> Body {
    let inner = match serde_json::from_str::<SnsEnvelope>(body) {
        Ok(env) if env.kind == "Notification" => env.message,
        _ => body.to_string(),
    };
    if let Ok(n) = serde_json::from_str::<S3Notification>(&inner) {
        let files: Vec<(String, String)> = n
            .records
            .into_iter()
            .filter(|r| r.event_source.as_deref() == Some("aws:s3"))
            .filter(|r| {
                r.event_name
                    .as_deref()
                    .is_some_and(|e| e.starts_with("ObjectCreated"))
            })
            .map(|r| (r.s3.bucket.name, decode_key(&r.s3.object.key)))
            .collect();
        return if files.is_empty() {
            Body::Nothing
        } else {
            Body::Files(files)
        };
    }
    if serde_json::from_str::<serde_json::Value>(&inner)
        .is_ok_and(|v| v.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent"))
    {
        return Body::Nothing;
    }
    Body::Event(inner)
}

/// S3 notifications carry keys URL-encoded, with `+` for a space.
pub fn decode_key(key: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
