//! How a reporter hears outcomes: [`DeliveryReporter`], and a batch's records at once
//! ([`ReportedBatch`], [`ReportedDelivery`]).

use std::time::{Duration, Instant};

use super::RecordMetadata;
use super::slot::{BatchOutcome, BatchSlot, ReportedRecord, contained};
use crate::error::ProduceError;

/// Receives the outcomes of records sent with a tag
/// ([`Producer::send_reported`](crate::Producer::send_reported),
/// [`Producer::send_borrowed_reported`](crate::Producer::send_borrowed_reported)).
///
/// One reporter serves many records: a send keeps a reference to it and the tag, where a
/// callback closure costs an allocation per record (rust-rdkafka's delivery opaque plays the
/// same part). It runs on the producer's I/O task: keep it short. A panic in it is contained.
///
/// The records of one batch come through [`report_batch`](Self::report_batch), which calls
/// [`report`](Self::report) for each unless overridden: a reporter that counts or locks
/// something per outcome can do so once per batch instead.
pub trait DeliveryReporter: Send + Sync + 'static {
    /// The outcome of the record sent with `tag`.
    fn report(&self, tag: u64, outcome: Result<RecordMetadata, ProduceError>);

    /// The outcomes of several records sent with this reporter: records of one batch (one
    /// partition, one shared result), in the order they were sent, with no other listener's
    /// record between them. Every record is reported once, through this or through
    /// [`report`](Self::report) (a record registered after its batch finished, or one of a
    /// batch that was split, comes through `report`).
    ///
    /// The default reports each through `report`, a panic in one not stopping the others;
    /// in an override, a panic ends that call.
    fn report_batch(&self, batch: &ReportedBatch<'_>) {
        for (tag, outcome) in batch.outcomes() {
            contained(|| self.report(tag, outcome));
        }
    }
}

/// Records of one batch that report to the same [`DeliveryReporter`], and the batch's
/// outcome, which they share: what [`DeliveryReporter::report_batch`] hears.
pub struct ReportedBatch<'a> {
    pub(super) slot: &'a BatchSlot,
    pub(super) outcome: &'a BatchOutcome,
    pub(super) acknowledged_at: Instant,
    pub(super) records: &'a [ReportedRecord],
}

impl std::fmt::Debug for ReportedBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportedBatch")
            .field("topic", &self.topic())
            .field("partition", &self.partition())
            .field("records", &self.len())
            .field("error", &self.error())
            .finish_non_exhaustive()
    }
}

impl<'a> ReportedBatch<'a> {
    /// The topic.
    pub fn topic(&self) -> &str {
        self.slot.topic()
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.slot.partition()
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none (never so when the producer calls).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Why the records were not delivered (all of them, for the same reason); `None` when
    /// they were.
    pub fn error(&self) -> Option<&ProduceError> {
        match self.outcome {
            BatchOutcome::Delivered { .. } => None,
            BatchOutcome::Failed(e) => Some(e),
        }
    }

    /// When the batch's answer reached the producer (or it gave up), on tokio's clock.
    pub fn acknowledged_at(&self) -> Instant {
        self.acknowledged_at
    }

    /// Each record's tag, offset, timestamp and latency, in order (offsets are `None` when
    /// the batch failed: see [`error`](Self::error)).
    pub fn records(&self) -> impl ExactSizeIterator<Item = ReportedDelivery> + 'a {
        let (base_offset, log_append_time) = match self.outcome {
            BatchOutcome::Delivered {
                base_offset,
                log_append_time,
            } => (*base_offset, *log_append_time),
            BatchOutcome::Failed(_) => (None, None),
        };
        let at = self.acknowledged_at;
        self.records.iter().map(move |r| ReportedDelivery {
            tag: r.tag,
            offset: base_offset.map(|b| b + i64::from(r.index)),
            timestamp: log_append_time.unwrap_or(r.timestamp),
            sent_at: r.queued_at,
            acknowledged_at: at,
        })
    }

    /// Each record's tag and outcome, as [`DeliveryReporter::report`] takes them.
    pub fn outcomes(
        &self,
    ) -> impl ExactSizeIterator<Item = (u64, Result<RecordMetadata, ProduceError>)> + 'a {
        let (slot, outcome, at) = (self.slot, self.outcome, self.acknowledged_at);
        self.records.iter().map(move |r| {
            (
                r.tag,
                slot.result_for(outcome, r.index, r.timestamp, r.queued_at, at),
            )
        })
    }
}

/// One record of a [`ReportedBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportedDelivery {
    tag: u64,
    offset: Option<i64>,
    timestamp: i64,
    sent_at: Instant,
    acknowledged_at: Instant,
}

impl ReportedDelivery {
    /// The tag it was sent with.
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// Its offset; `None` with `acks=0` or when the batch failed.
    pub fn offset(&self) -> Option<i64> {
        self.offset
    }

    /// Its timestamp, as [`RecordMetadata::timestamp`].
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// From its send call to the batch's outcome, as [`RecordMetadata::latency`].
    pub fn latency(&self) -> Duration {
        self.acknowledged_at.saturating_duration_since(self.sent_at)
    }

    /// When its send call was made, on tokio's clock: what [`latency`](Self::latency) counts
    /// from, up to [`ReportedBatch::acknowledged_at`]. A reporter that buckets latencies can
    /// compare these instants with its bucket bounds rather than subtract one per record.
    pub fn sent_at(&self) -> Instant {
        self.sent_at
    }
}
