//! Per-batch state of the engine: one record per batch that was drained (or retried), owning
//! everything the engine remembers about it beyond the accumulator — the sequence the tracker
//! holds for it and a renumbering waiting for its next drain. (Its attempts, last error, whether
//! an earlier attempt may be in the log, whether its records expired while its request was out,
//! and which flushes wait for it are the accumulator's.) A batch's record ends with the batch
//! ([`Batches::finish`]), so nothing about it outlives its one outcome.

use ferrokafka_accumulator::{BatchId, TopicPartition};
use ferrokafka_records::ProducerStamp;
use ferrokafka_txn::Rewrite;

/// What the engine knows about one batch.
#[derive(Debug, Default, Clone)]
struct BatchState {
    /// The partition and base sequence the sequence tracker holds for the batch (idempotence):
    /// the one it was drained with, or its renumbering. `None` once its sequence is settled
    /// (answered, released) or when it carries none.
    sequence: Option<(TopicPartition, i32)>,
    /// A new stamp from a renumbering (epoch bump, refused batch ahead of it), taken at its
    /// next drain.
    rewrite: Option<ProducerStamp>,
}

/// The per-batch records, by batch.
#[derive(Debug, Default)]
pub(super) struct Batches {
    by_id: foldhash::HashMap<BatchId, BatchState>,
}

impl Batches {
    fn entry(&mut self, batch: BatchId) -> &mut BatchState {
        self.by_id.entry(batch).or_default()
    }

    /// The partition and base sequence the tracker holds for `batch`, if any.
    pub(super) fn sequence(&self, batch: BatchId) -> Option<&(TopicPartition, i32)> {
        self.by_id.get(&batch)?.sequence.as_ref()
    }

    /// `batch` was drained with base sequence `base` of `tp`.
    pub(super) fn track(&mut self, batch: BatchId, tp: TopicPartition, base: i32) {
        self.entry(batch).sequence = Some((tp, base));
    }

    /// `batch`'s sequence is settled (or its range given to the batches behind it): it leaves
    /// the tracker's view. Returns what it held.
    pub(super) fn untrack(&mut self, batch: BatchId) -> Option<(TopicPartition, i32)> {
        self.by_id.get_mut(&batch)?.sequence.take()
    }

    /// A batch of `r.partition` was renumbered: whichever batch holds its old base takes the new
    /// one, and the new stamp at its next drain.
    pub(super) fn note_rewrite(&mut self, r: &Rewrite<TopicPartition>) {
        for state in self.by_id.values_mut() {
            if let Some((tp, base)) = &mut state.sequence
                && *tp == r.partition
                && *base == r.old_base_sequence
            {
                *base = r.new.base_sequence;
                state.rewrite = Some(r.new);
            }
        }
    }

    /// The renumbering waiting for `batch`'s drain, if any (taken).
    pub(super) fn take_rewrite(&mut self, batch: BatchId) -> Option<ProducerStamp> {
        self.by_id.get_mut(&batch)?.rewrite.take()
    }

    /// `original` was split into `parts`: given `bases` (the parts' slices of the original's
    /// tracked range), each part inherits the tracked sequence and the pending renumbering.
    pub(super) fn split(&mut self, original: BatchId, parts: &[BatchId], bases: Option<&[i32]>) {
        let Some(state) = self.by_id.remove(&original) else {
            return;
        };
        for (i, part) in parts.iter().enumerate() {
            let mut p = BatchState::default();
            if let (Some((tp, _)), Some(base)) =
                (&state.sequence, bases.and_then(|b| b.get(i).copied()))
            {
                p.sequence = Some((tp.clone(), base));
                p.rewrite = state.rewrite.map(|r| ProducerStamp {
                    base_sequence: base,
                    ..r
                });
            }
            self.by_id.insert(*part, p);
        }
    }

    /// `batch` got its outcome: its record ends. Returns the sequence the tracker still held
    /// for it (a batch that left without an answer: aborted, expired), to fail there.
    pub(super) fn finish(&mut self, batch: BatchId) -> Option<(TopicPartition, i32)> {
        self.by_id.remove(&batch)?.sequence
    }
}
