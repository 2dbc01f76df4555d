//! Rows to Firehose delivery streams (one per table) as JSON lines in the
//! tables' Arrow schemas, for deployments where Firehose buffers and converts
//! to Parquet with the Glue schema.
//!
//! Firehose delivers at least once: a retried batch may add a row twice.
//! Reports count each event_id once and compaction removes the duplicates.

use std::collections::HashMap;
use std::time::Duration;

use accesslake_model::Table;
use accesslake_transform::{LakeRow, record_batch};
use arrow_json::LineDelimitedWriter;
use arrow_json::writer::WriterBuilder;
use async_trait::async_trait;
use aws_sdk_firehose::Client;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;

use crate::sink::{DecisionSink, Rows};
use crate::{Error, Result};

/// `PutRecordBatch` limits: records and bytes per call.
pub const MAX_RECORDS: usize = 500;
pub const MAX_BYTES: usize = 4 << 20;
/// Attempts for records Firehose reports as failed within a batch.
const ATTEMPTS: u32 = 5;

/// The Firehose [`DecisionSink`].
#[derive(Debug, Clone)]
pub struct FirehoseSink {
    client: Client,
    streams: HashMap<Table, String>,
}

impl FirehoseSink {
    pub fn new(client: Client, streams: HashMap<Table, String>) -> Self {
        FirehoseSink { client, streams }
    }

    async fn put_all(&self, table: Table, lines: Vec<Vec<u8>>) -> Result<()> {
        let Some(stream) = self.streams.get(&table) else {
            return Err(Error::Config(format!(
                "no Firehose stream for {}",
                table.name()
            )));
        };
        for chunk in chunks(lines) {
            let mut pending = chunk;
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                let records = pending
                    .iter()
                    .map(|l| Record::builder().data(Blob::new(l.clone())).build())
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::Store(e.to_string()))?;
                let out = self
                    .client
                    .put_record_batch()
                    .delivery_stream_name(stream)
                    .set_records(Some(records))
                    .send()
                    .await
                    .map_err(|e| {
                        Error::Unavailable(format!(
                            "PutRecordBatch: {}",
                            aws_sdk_firehose::error::DisplayErrorContext(&e)
                        ))
                    })?;
                if out.failed_put_count() == 0 {
                    pending.clear();
                    break;
                }
                // Keep the records whose entry carries an error code.
                pending = pending
                    .into_iter()
                    .zip(out.request_responses())
                    .filter(|(_, r)| r.error_code().is_some())
                    .map(|(l, _)| l)
                    .collect();
            }
            if !pending.is_empty() {
                return Err(Error::Unavailable(format!(
                    "Firehose refused {} records after {ATTEMPTS} attempts",
                    pending.len()
                )));
            }
        }
        Ok(())
    }
}

/// JSON lines of `rows` in their table's schema, timestamps as RFC 3339 UTC.
pub fn json_lines<R: LakeRow>(rows: &[R]) -> Result<Vec<Vec<u8>>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&R> = rows.iter().collect();
    let batch = record_batch(&refs)?;
    let mut buf = Vec::new();
    {
        let mut w: LineDelimitedWriter<&mut Vec<u8>> = WriterBuilder::new()
            .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.6fZ".into())
            .build(&mut buf);
        w.write(&batch)
            .and_then(|()| w.finish())
            .map_err(|e| Error::Lake(e.into()))?;
    }
    Ok(buf
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect())
}

/// Cuts records into `PutRecordBatch` calls within both limits.
fn chunks(lines: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut bytes = 0;
    for l in lines {
        let fits = out
            .last()
            .is_some_and(|c| c.len() < MAX_RECORDS && bytes + l.len() <= MAX_BYTES);
        if !fits {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += l.len();
        if let Some(c) = out.last_mut() {
            c.push(l);
        }
    }
    out
}

#[async_trait]
impl DecisionSink for FirehoseSink {
    async fn land(&self, _delivery: &str, rows: Rows<'_>) -> Result<()> {
        self.put_all(Table::Decisions, json_lines(rows.decisions)?)
            .await?;
        self.put_all(Table::AdminEvents, json_lines(rows.admin)?)
            .await?;
        self.put_all(Table::Rejected, json_lines(rows.rejected)?)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_both_limits() {
        let small = vec![vec![b'x'; 10]; 1201];
        let c = chunks(small);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), [500, 500, 201]);
        let big = vec![vec![b'x'; 900 << 10]; 10];
        let c = chunks(big);
        assert!(
            c.iter()
                .all(|c| c.iter().map(Vec::len).sum::<usize>() <= MAX_BYTES)
        );
        assert_eq!(c.iter().map(Vec::len).sum::<usize>(), 10);
        assert!(chunks(Vec::new()).is_empty());
    }
}
