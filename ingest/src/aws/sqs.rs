//! The admin Lambda's handler: an SQS batch whose bodies are SNS envelopes,
//! raw admin events (raw message delivery), or S3 notifications of a bulk
//! JSONL file of admin events.

use std::sync::Arc;

use accesslake_model::{Micros, Rejected, Source};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use object_store::{ObjectStore, ObjectStoreExt};

use crate::batch::{BatchOutput, BatchStore, Delivered, apply_admin_events};
pub use crate::envelope::{Body, unwrap_body};
use crate::sink::{DecisionSink, Rows, delivery_name};
use crate::{Error, Result};

/// Largest bulk file read from S3 (a bulk load is split into files below this).
pub const MAX_BULK_BYTES: u64 = 256 << 20;

/// Opens the object store of a bucket named in an S3 notification.
pub type BucketOpener = dyn Fn(&str) -> Result<Arc<dyn ObjectStore>> + Send + Sync;

/// One admin event to apply, or a line already rejected, with its message.
struct Unit {
    message: usize,
    source: Source,
    source_ref: String,
    data: Vec<u8>,
}

/// What a batch did, for the log line and the tests.
#[derive(Debug)]
pub struct Handled {
    pub response: SqsBatchResponse,
    pub output: BatchOutput,
    /// Messages whose rows landed (all but the failed ones).
    pub landed: usize,
}

/// Applies a batch in order. Messages are acknowledged in order: on a
/// retryable failure at message m, m and every message after it are
/// reported failed (FIFO queues need the rest of the batch back too).
pub async fn handle(
    store: &dyn BatchStore,
    sink: &dyn DecisionSink,
    open_bucket: &BucketOpener,
    queue: &str,
    event: &SqsEvent,
    now: Micros,
) -> Handled {
    let messages = &event.records;
    let ids: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.message_id
                .clone()
                .unwrap_or_else(|| format!("message-{i}"))
        })
        .collect();
    // Rows land per message, named so that delivering it again replaces
    // them: by message id, or for a bulk file by the file (S3 may notify twice).
    let mut names: Vec<String> = ids
        .iter()
        .map(|id| delivery_name("sqs", queue, id))
        .collect();
    let mut units: Vec<Unit> = Vec::new();
    let mut extra_rejected: Vec<(usize, Rejected)> = Vec::new();
    let mut failed_message: Option<(usize, Error)> = None;
    for (m, msg) in messages.iter().enumerate() {
        let body = msg.body.as_deref().unwrap_or_default();
        match unwrap_body(body) {
            Body::Nothing => {}
            Body::Event(text) => units.push(Unit {
                message: m,
                source: Source::Sqs,
                source_ref: ids[m].clone(),
                data: text.into_bytes(),
            }),
            Body::Files(files) => {
                if let Some((bucket, key)) = files.first() {
                    names[m] = delivery_name("s3", bucket, key);
                }
                for (bucket, key) in files {
                    match read_bulk(open_bucket, &bucket, &key).await {
                        Ok(Bulk::Lines(lines)) => {
                            units.extend(lines.into_iter().map(|(n, line)| Unit {
                                message: m,
                                source: Source::File,
                                source_ref: format!("s3://{bucket}/{key}:{n}"),
                                data: line,
                            }))
                        }
                        Ok(Bulk::Refused(why)) => extra_rejected.push((
                            m,
                            Rejected::new(
                                now,
                                Source::File,
                                format!("s3://{bucket}/{key}"),
                                why,
                                b"",
                            ),
                        )),
                        Err(e) => {
                            failed_message = Some((m, e));
                            break;
                        }
                    }
                }
            }
        }
        if failed_message.is_some() {
            break;
        }
    }
    // Units of a message whose file could not be read wait for its retry.
    if let Some((m, _)) = &failed_message {
        units.retain(|u| u.message < *m);
        extra_rejected.retain(|(msg, _)| msg < m);
    }
    let delivered: Vec<Delivered<'_>> = units
        .iter()
        .map(|u| Delivered {
            source: u.source,
            source_ref: &u.source_ref,
            data: &u.data,
        })
        .collect();
    let mut output = apply_admin_events(store, &delivered, now).await;
    let mut first_failed = failed_message.as_ref().map(|(m, _)| *m);
    if let Some(unit) = output.failed_from {
        let m = units.get(unit).map_or(messages.len(), |u| u.message);
        first_failed = Some(first_failed.map_or(m, |f| f.min(m)));
    }
    if output.error.is_none()
        && let Some((_, e)) = failed_message
    {
        output.error = Some(e);
    }
    let done = first_failed.unwrap_or(messages.len());

    // Land each acknowledged message's rows under its own name, so a
    // redelivered message replaces its files.
    let mut landed = 0;
    for (m, name) in names.iter().enumerate().take(done) {
        let pick = |records: &[usize]| -> Vec<usize> {
            records
                .iter()
                .enumerate()
                .filter(|(_, u)| units[**u].message == m)
                .map(|(row, _)| row)
                .collect()
        };
        let admin: Vec<_> = pick(&output.admin_records)
            .into_iter()
            .map(|row| output.admin[row].clone())
            .collect();
        let mut rejected: Vec<_> = pick(&output.rejected_records)
            .into_iter()
            .map(|row| output.rejected[row].clone())
            .collect();
        rejected.extend(
            extra_rejected
                .iter()
                .filter(|(msg, _)| *msg == m)
                .map(|(_, r)| r.clone()),
        );
        let rows = Rows {
            decisions: &[],
            admin: &admin,
            rejected: &rejected,
        };
        if rows.is_empty() {
            landed += 1;
            continue;
        }
        match sink.land(name, rows).await {
            Ok(()) => landed += 1,
            Err(e) => {
                tracing::warn!(error = %e, "landing a message's rows failed; it will be retried");
                first_failed = Some(m);
                break;
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    if let Some(f) = first_failed {
        for id in &ids[f..] {
            response.add_failure(id.clone());
        }
    }
    let s = &output.stats;
    tracing::info!(
        messages = messages.len(),
        events = units.len(),
        applied = s.admin_applied,
        not_applied = s.admin_not_applied,
        redelivered = s.duplicate_admin,
        rejected = s.rejected,
        failed = response.batch_item_failures.len(),
        error = output.error.as_ref().map(|e| e.to_string()),
        "sqs batch"
    );
    Handled {
        response,
        output,
        landed,
    }
}

enum Bulk {
    /// (line number, line), blank lines left out.
    Lines(Vec<(usize, Vec<u8>)>),
    /// The file cannot be read as admin events at all (too large, gone).
    Refused(String),
}

/// Reads a bulk file's lines (blank lines skipped; a line's own size is
/// checked by the decoder). A network failure is an error (retried); a file
/// over [`MAX_BULK_BYTES`] or no longer there is refused as one rejected row.
async fn read_bulk(open_bucket: &BucketOpener, bucket: &str, key: &str) -> Result<Bulk> {
    let store = open_bucket(bucket)?;
    let path = object_store::path::Path::from(key);
    let head = match store.head(&path).await {
        Ok(head) => head,
        // Gone before it was read (S3 reads are consistent, so it will not
        // appear on a retry): recorded as a rejected row, not retried.
        Err(object_store::Error::NotFound { .. }) => {
            return Ok(Bulk::Refused("bulk file not found".into()));
        }
        Err(e) => return Err(Error::Unavailable(format!("s3://{bucket}/{key}: {e}"))),
    };
    if head.size > MAX_BULK_BYTES {
        return Ok(Bulk::Refused(format!(
            "bulk file is {} bytes, over the {MAX_BULK_BYTES}-byte limit; split it",
            head.size
        )));
    }
    let bytes = store
        .get(&path)
        .await
        .map_err(|e| Error::Unavailable(format!("s3://{bucket}/{key}: {e}")))?
        .bytes()
        .await
        .map_err(|e| Error::Unavailable(format!("s3://{bucket}/{key}: {e}")))?;
    Ok(Bulk::Lines(
        bytes
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .enumerate()
            .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
            .map(|(n, l)| (n + 1, l.to_vec()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_unwrap_to_events_files_or_nothing() {
        let event = r#"{"event_id":"a","type":"zone_upserted"}"#;
        assert_eq!(unwrap_body(event), Body::Event(event.into()));
        let sns =
            serde_json::json!({"Type":"Notification","MessageId":"m","Message":event}).to_string();
        assert_eq!(unwrap_body(&sns), Body::Event(event.into()));
        let s3 = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"drop"},"object":{"key":"admin/bulk+load%3A1.jsonl","size":10}}}]}"#;
        assert_eq!(
            unwrap_body(s3),
            Body::Files(vec![("drop".into(), "admin/bulk load:1.jsonl".into())])
        );
        let via_sns = serde_json::json!({"Type":"Notification","Message":s3}).to_string();
        assert!(matches!(unwrap_body(&via_sns), Body::Files(_)));
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"drop"}"#;
        assert_eq!(unwrap_body(test_event), Body::Nothing);
        // Garbage is passed on to be rejected by the decoder.
        assert_eq!(unwrap_body("not json"), Body::Event("not json".into()));
        use crate::envelope::decode_key;
        assert_eq!(decode_key("a%2"), "a%2");
        assert_eq!(decode_key("%zz"), "%zz");
        assert_eq!(decode_key("%e2%82%ac%"), "\u{20ac}%");
    }
}
