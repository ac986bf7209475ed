//! The transaction coordinator's state per `transactional.id` (Kafka's
//! `TransactionMetadata`), kept in memory. The fake completes a commit or an abort at once:
//! markers are written to every partition of the transaction inside the EndTxn call, so the
//! PrepareCommit/PrepareAbort states are never observable.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxnStatus {
    /// Initialised, no transaction begun.
    Empty,
    /// Partitions or offsets were added: a transaction is open.
    Ongoing,
    /// The last transaction committed.
    CompleteCommit,
    /// The last transaction aborted.
    CompleteAbort,
}

/// An offset a transaction commits for a group when it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOffset {
    /// Group id.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Leader epoch, or -1.
    pub leader_epoch: i32,
    /// Metadata.
    pub metadata: Option<String>,
}

/// The coordinator's view of one transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnState {
    /// Producer id.
    pub producer_id: i64,
    /// Current epoch.
    pub producer_epoch: i16,
    /// Status.
    pub status: TxnStatus,
    /// Partitions in the open transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// Groups whose offsets the open transaction commits.
    pub groups: BTreeSet<String>,
    /// Offsets sent with TxnOffsetCommit, applied on commit.
    pub pending_offsets: Vec<PendingOffset>,
    /// Transaction timeout.
    pub timeout_ms: i32,
    /// When the open transaction began (its first partition or group), for its timeout.
    pub started_at: Option<Instant>,
    /// Transactions committed so far.
    pub commits: u64,
    /// Transactions aborted so far.
    pub aborts: u64,
}

impl TxnState {
    /// Marks the transaction open (Ongoing), starting its timeout clock if it was not open.
    pub(crate) fn begin(&mut self, now: Instant) {
        if self.status != TxnStatus::Ongoing {
            self.status = TxnStatus::Ongoing;
            self.started_at = Some(now);
        }
    }

    /// Whether the open transaction has outlived its timeout at `now`.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        self.status == TxnStatus::Ongoing
            && self.started_at.is_some_and(|t| {
                let timeout = Duration::from_millis(u64::try_from(self.timeout_ms).unwrap_or(0));
                t.checked_add(timeout)
                    .is_some_and(|deadline| now >= deadline)
            })
    }
}

/// A committed offset of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// Offset.
    pub offset: i64,
    /// Leader epoch, or -1.
    pub leader_epoch: i32,
    /// Metadata.
    pub metadata: Option<String>,
}

/// Group id → (topic, partition) → committed offset.
pub(crate) type GroupOffsets = BTreeMap<String, BTreeMap<(String, i32), CommittedOffset>>;
