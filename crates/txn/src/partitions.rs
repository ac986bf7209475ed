//! Which partitions belong to the open transaction (Java `newPartitionsInTransaction`,
//! `pendingPartitionsInTransaction`, `partitionsInTransaction`).
//!
//! Under transactions v1 a partition must be added with AddPartitionsToTxn before its first
//! batch is sent; a batch for a partition not yet in the transaction waits. Under transactions
//! v2 (KIP-890 part 2) a transactional Produce v12+ adds the partition itself, so partitions join
//! at once.

use std::collections::BTreeSet;

/// The three sets a partition moves through during one transaction: new → pending → added.
#[derive(Debug, Clone)]
pub(crate) struct TxnPartitions<K> {
    /// Written to in this transaction, not yet asked for.
    new: BTreeSet<K>,
    /// In an AddPartitionsToTxn request awaiting its response.
    pending: BTreeSet<K>,
    /// Confirmed by the coordinator: batches may be sent.
    added: BTreeSet<K>,
}

impl<K: Ord + Clone> TxnPartitions<K> {
    pub(crate) fn new() -> Self {
        TxnPartitions {
            new: BTreeSet::new(),
            pending: BTreeSet::new(),
            added: BTreeSet::new(),
        }
    }

    /// Records that the transaction writes to `tp`; with `implicit` (transactions v2) it joins
    /// at once.
    pub(crate) fn add(&mut self, tp: &K, implicit: bool) {
        if self.added.contains(tp) || self.pending.contains(tp) {
            return;
        }
        if implicit {
            self.new.remove(tp);
            self.added.insert(tp.clone());
        } else {
            self.new.insert(tp.clone());
        }
    }

    pub(crate) fn is_added(&self, tp: &K) -> bool {
        self.added.contains(tp)
    }

    pub(crate) fn has_new(&self) -> bool {
        !self.new.is_empty()
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Moves every new partition to pending and returns them, for one AddPartitionsToTxn.
    pub(crate) fn take_new(&mut self) -> Vec<K> {
        let taken = std::mem::take(&mut self.new);
        self.pending.extend(taken.iter().cloned());
        taken.into_iter().collect()
    }

    /// The request succeeded for every partition.
    pub(crate) fn confirm_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.added.extend(pending);
    }

    /// The request will be sent again: pending partitions become new.
    pub(crate) fn retry_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.new.extend(pending);
    }

    /// An abort starts: nothing more needs adding.
    pub(crate) fn clear_new(&mut self) {
        self.new.clear();
    }

    /// The transaction is over.
    pub(crate) fn clear(&mut self) {
        self.new.clear();
        self.pending.clear();
        self.added.clear();
    }
}
