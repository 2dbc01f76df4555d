//! The entry Lambda's handler: one Kinesis batch (one shard, in sequence
//! order) decided and landed; the response names the first record to retry.

use accesslake_model::{Micros, Source};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;

use crate::batch::{BatchOutput, BatchStore, Delivered, decide_entries};
use crate::sink::{DecisionSink, Rows, delivery_name};

/// What a batch did, for the log line and the tests.
#[derive(Debug)]
pub struct Handled {
    pub response: KinesisEventResponse,
    pub output: BatchOutput,
    /// The delivery name the rows landed under, if any landed.
    pub delivery: Option<String>,
}

/// The shard of a record: the part of `eventID` before `:`
/// (`shardId-000000000000:4954…`).
fn shard_of(event_id: Option<&str>) -> &str {
    event_id
        .and_then(|id| id.split_once(':').map(|(shard, _)| shard))
        .unwrap_or("shard")
}

/// Decides the batch in order and lands the acknowledged prefix.
///
/// - A malformed record becomes a `rejected` row and is acknowledged.
/// - A store failure at record k lands rows of records before k and reports
///   k's sequence number: Lambda redelivers from k, nothing after k was applied.
/// - A sink failure reports the first record: the redelivery gets the stored
///   decisions back and rewrites the same files (same delivery name).
pub async fn handle(
    store: &dyn BatchStore,
    sink: &dyn DecisionSink,
    event: &KinesisEvent,
    now: Micros,
) -> Handled {
    let records = &event.records;
    let delivered: Vec<Delivered<'_>> = records
        .iter()
        .map(|r| Delivered {
            source: Source::Kinesis,
            source_ref: &r.kinesis.sequence_number,
            data: &r.kinesis.data.0,
        })
        .collect();
    let output = decide_entries(store, &delivered, now).await;
    let mut response = KinesisEventResponse::default();
    let mut failed_from = output.failed_from;
    let mut delivery = None;
    let rows = Rows {
        decisions: &output.decisions,
        admin: &[],
        rejected: &output.rejected,
    };
    if let Some(first) = records.first()
        && !rows.is_empty()
    {
        let name = delivery_name(
            "kinesis",
            shard_of(first.event_id.as_deref()),
            &first.kinesis.sequence_number,
        );
        match sink.land(&name, rows).await {
            Ok(()) => delivery = Some(name),
            Err(e) => {
                tracing::warn!(error = %e, retryable = e.is_retryable(), "landing the batch failed; retrying it whole");
                failed_from = Some(0);
            }
        }
    }
    if let Some(i) = failed_from
        && let Some(r) = records.get(i)
    {
        response.add_failure(r.kinesis.sequence_number.clone());
    }
    let s = &output.stats;
    tracing::info!(
        records = records.len(),
        decided = s.entries_decided,
        granted = s.granted,
        denied = s.denied,
        redelivered = s.duplicate_entries,
        rejected = s.rejected,
        retry_from = failed_from,
        error = output.error.as_ref().map(|e| e.to_string()),
        "kinesis batch"
    );
    Handled {
        response,
        output,
        delivery,
    }
}
