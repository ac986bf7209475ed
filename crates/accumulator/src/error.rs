//! Typed errors. Settings are named the way the Java producer names them.

use ferrokafka_records::SplitError;

use crate::batch::BatchId;

/// A record was not appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The record can never be sent: its one-record batch upper bound exceeds a limit
    /// (`max.request.size`, or `buffer.memory`, as in Java's `ensureValidRecordSize`).
    #[error("record of {size} bytes (as a batch, upper bound) exceeds {setting} = {limit}")]
    RecordTooLarge {
        /// Upper bound of the record's size in a batch of its own.
        size: usize,
        /// The configured limit.
        limit: usize,
        /// The Java setting that was exceeded.
        setting: &'static str,
    },
    /// `buffer.memory` is exhausted: a new batch needs `needed` bytes of budget. Nothing was
    /// appended; retry once memory is freed (see
    /// [`RecordAccumulator::poll_memory_freed`](crate::RecordAccumulator::poll_memory_freed)),
    /// giving up after `max.block.ms`.
    #[error("buffer.memory exhausted: a new batch needs {needed} bytes")]
    WouldBlock {
        /// Bytes of budget the new batch would reserve.
        needed: usize,
    },
    /// The accumulator is closing (after [`close`](crate::RecordAccumulator::close) or
    /// [`abort_all`](crate::RecordAccumulator::abort_all)).
    #[error("producer closed while send in progress")]
    Closed,
    /// The record itself was rejected by the batch builder (e.g. a timestamp below -1).
    #[error(transparent)]
    Record(#[from] ferrokafka_records::RecordError),
}

/// A completion call named a batch the accumulator cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The batch is not in flight: never drained, already completed, failed, expired, aborted,
    /// re-enqueued or split. A late response for such a batch must be ignored.
    #[error("batch {0} is not in flight")]
    NotInFlight(BatchId),
    /// A one-record batch cannot be split: its record is too large for the broker, so the caller
    /// should [`fail`](crate::RecordAccumulator::fail) the batch (Java does the same).
    #[error("batch {0} holds a single record and cannot be split")]
    SingleRecord(BatchId),
    /// Splitting the batch's bytes failed; the batch stays in flight.
    #[error("splitting batch {batch} failed: {source}")]
    Split {
        /// The batch.
        batch: BatchId,
        /// Why.
        #[source]
        source: SplitError,
    },
}
