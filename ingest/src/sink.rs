//! Where a batch's rows go: straight to the lake as Parquet ([`LakeSink`],
//! any object store), or to Firehose (`FirehoseSink`, with the `aws`
//! feature) for deployments that let Firehose convert and buffer.

use accesslake_model::{AdminRecord, Decision, Rejected};
use accesslake_transform::Lake;
use async_trait::async_trait;

use crate::Result;

/// The rows one delivery produced, to land together.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub decisions: &'a [Decision],
    pub admin: &'a [AdminRecord],
    pub rejected: &'a [Rejected],
}

impl Rows<'_> {
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty() && self.admin.is_empty() && self.rejected.is_empty()
    }
}

/// Lands the rows of one delivery.
#[async_trait]
pub trait DecisionSink: Send + Sync {
    /// `delivery` names the delivery so that landing the same delivery again
    /// (a retried batch from the same record) replaces rather than adds:
    /// `kinesis-<shard>-<first sequence number>` or `sqs-<message id>`.
    async fn land(&self, delivery: &str, rows: Rows<'_>) -> Result<()>;
}

/// Parquet files in the lake, one per table and `dt`, named after the delivery.
#[derive(Debug, Clone)]
pub struct LakeSink {
    lake: Lake,
}

impl LakeSink {
    pub fn new(lake: Lake) -> Self {
        LakeSink { lake }
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }
}

#[async_trait]
impl DecisionSink for LakeSink {
    async fn land(&self, delivery: &str, rows: Rows<'_>) -> Result<()> {
        let name = format!("{delivery}.parquet");
        let mut files = Lake::encode(rows.decisions, &name)?;
        files.extend(Lake::encode(rows.admin, &name)?);
        files.extend(Lake::encode(rows.rejected, &name)?);
        for f in &files {
            self.lake.put(f).await?;
        }
        Ok(())
    }
}

/// A delivery name made safe for an object key: `[A-Za-z0-9_-]` kept, any
/// other byte replaced by `_`, and a sequence number of digits left-padded
/// to 60 so names sort by the number (AWS's have 56 digits, emulators' are
/// small integers).
pub fn delivery_name(source: &str, stream: &str, position: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let digits = !position.is_empty() && position.bytes().all(|b| b.is_ascii_digit());
    let shown = if digits {
        format!("{position:0>60}")
    } else {
        clean(position)
    };
    let exact = clean(stream) == stream && (digits || shown == position);
    let mut name = format!("{source}-{}-{shown}", clean(stream));
    // Object keys stay well within S3's 1024-byte limit.
    let cut = name.len() > 180;
    name.truncate(180);
    if !exact || cut {
        // Two names that clean or cut to the same text must not share a file.
        let hash = crate::store::rejected_key("", format!("{stream}\n{position}").as_bytes());
        name.push_str(&hash.replace('#', "-"));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_sort_by_sequence_number() {
        let aws = "49546986683135544286507457936321625675700192471156785154";
        let a = delivery_name("kinesis", "shardId-000000000000", "9");
        let b = delivery_name("kinesis", "shardId-000000000000", "10");
        let c = delivery_name("kinesis", "shardId-000000000000", aws);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert!(c.ends_with(aws));
        let hostile = delivery_name("sqs", "../../x", "a/b?c");
        assert!(hostile.starts_with("sqs-______x-a_b_c-"), "{hostile}");
        assert_ne!(
            delivery_name("s3", "drop", "a/b.jsonl"),
            delivery_name("s3", "drop", "a_b.jsonl")
        );
        assert!(delivery_name("sqs", &"x".repeat(500), "1").len() <= 200);
        assert_ne!(
            delivery_name("sqs", &"x".repeat(500), "1"),
            delivery_name("sqs", &"x".repeat(501), "1")
        );
    }
}
