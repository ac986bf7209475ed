//! Flush membership: which batches each flush in progress still waits for. A flush waits for
//! the batches that existed when it began; each leaves the set when it is finished (or its
//! records failed), and a split batch is replaced by its parts.

use std::collections::{BTreeMap, HashSet};

use crate::batch::BatchId;

/// One flush begun by [`RecordAccumulator::begin_flush`](crate::RecordAccumulator::begin_flush).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlushId(u64);

impl FlushId {
    /// The flush's number (unique per accumulator), e.g. to name it across an API boundary.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The flush numbered `n` (as returned by [`get`](Self::get)).
    pub fn from_raw(n: u64) -> Self {
        FlushId(n)
    }
}

/// The flushes in progress and the batches each still waits for.
#[derive(Debug, Default)]
pub(crate) struct Flushes {
    waiting: BTreeMap<FlushId, HashSet<BatchId>>,
    next: u64,
}

impl Flushes {
    pub(crate) fn begin(&mut self, live: impl Iterator<Item = BatchId>) -> FlushId {
        self.next += 1;
        let id = FlushId(self.next);
        self.waiting.insert(id, live.collect());
        id
    }

    pub(crate) fn any(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// `true` (and the flush ends) once nothing is left to wait for; `true` for an ended flush.
    pub(crate) fn finished(&mut self, id: FlushId) -> bool {
        match self.waiting.get(&id) {
            Some(left) if left.is_empty() => {
                self.waiting.remove(&id);
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    pub(crate) fn end(&mut self, id: FlushId) {
        self.waiting.remove(&id);
    }

    /// `batch` is finished, or its records have failed: no flush waits for it any more.
    pub(crate) fn forget(&mut self, batch: BatchId) {
        // (Checked first: walking even an empty map cost a hundred instructions a batch.)
        if self.waiting.is_empty() {
            return;
        }
        for left in self.waiting.values_mut() {
            left.remove(&batch);
        }
    }

    /// `original` was split into `parts`: a flush that waited for it waits for them.
    pub(crate) fn replace(
        &mut self,
        original: BatchId,
        parts: impl Iterator<Item = BatchId> + Clone,
    ) {
        for left in self.waiting.values_mut() {
            if left.remove(&original) {
                left.extend(parts.clone());
            }
        }
    }
}
