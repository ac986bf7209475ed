//! Idempotence: stamping batches with producer id, epoch and sequence at drain, settling
//! sequences, renumbering after refusals and epoch bumps (KIP-360), and InitProducerId.

use ferrokafka_accumulator::{StampRequest, TopicPartition};
use ferrokafka_records::ProducerStamp;
use ferrokafka_txn::{ProducerIdAndEpoch, TransactionManager};
use ferrokafka_wire::ErrorCode;

use super::batches::Batches;
use super::{Engine, SentBatch};

impl Engine {
    /// Whether an earlier batch of the same partition is still unresolved, so an
    /// out-of-sequence answer for this one is a consequence of that one's failure.
    pub(super) fn is_behind_earlier_batch(&self, b: &SentBatch) -> bool {
        let Some(idem) = self.mode.manager() else {
            return false;
        };
        idem.sequences()
            .in_flight(&b.tp)
            .first()
            .is_some_and(|first| first.base_sequence != b.stamp.base_sequence)
    }

    /// Gives a refused batch's sequences back; false if it carries no current sequence.
    pub(super) fn release_refused(&mut self, b: &SentBatch) -> bool {
        let base = self.tracked_base(b);
        let Some(idem) = self.mode.manager_mut() else {
            return false;
        };
        if base < 0 {
            return false;
        }
        match idem.sequences_mut().release_refused(&b.tp, base) {
            Ok(rewrites) => {
                // Its range now belongs to the batches behind it: `finish` must not fail it
                // again (that would drop the batch renumbered into its base).
                self.batches.untrack(b.id);
                for r in &rewrites {
                    self.batches.note_rewrite(r);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// The base sequence the tracker holds for `b`: the one it was sent with, or its
    /// renumbered one if an epoch bump or a refused batch ahead of it moved it since.
    pub(super) fn tracked_base(&self, b: &SentBatch) -> i32 {
        self.batches
            .sequence(b.id)
            .map_or(b.stamp.base_sequence, |(_, base)| *base)
    }

    pub(super) fn sequence_done(&mut self, b: &SentBatch, ok: bool) {
        let base = self.tracked_base(b);
        // Settled here, once: `finish` must not fail the same base again later, when another
        // batch may have been renumbered into it.
        self.batches.untrack(b.id);
        let Some(idem) = self.mode.manager_mut() else {
            return;
        };
        if base < 0 {
            return;
        }
        let seqs = idem.sequences_mut();
        let _ = if ok {
            seqs.complete(&b.tp, base)
        } else {
            seqs.fail(&b.tp, base)
        };
    }

    /// Java `maybeResolveSequences`: a partition left with a gap by a batch that failed for good
    /// (or expired after being sent) gets its epoch bump once none of its batches is in flight:
    /// until then an unanswered batch may still land in the log, and renumbering it under the
    /// new epoch would write it twice. New batches of the partition wait meanwhile
    /// ([`stamp_for`]).
    pub(super) fn resolve_sequences(&mut self) {
        if self.mode.is_transactional() {
            return;
        }
        let Some(idem) = self.mode.manager() else {
            return;
        };
        let seqs = idem.sequences();
        let mut due: Vec<TopicPartition> = seqs
            .unresolved_partitions()
            .filter(|tp| seqs.in_flight(tp).is_empty() && !self.acc.has_expired_in_flight(tp))
            .cloned()
            .collect();
        for tp in std::mem::take(&mut self.pending_bumps) {
            if !due.contains(&tp) {
                due.push(tp);
            }
        }
        if !due.is_empty() {
            self.bump_epoch(due);
        }
    }

    /// A local epoch bump (KIP-360) renumbering `affected` from 0. Only partitions none of whose
    /// in-flight batches can be in the log are named (a refused head batch, or nothing in
    /// flight); the others finish their in-flight batches under the old epoch and then restart
    /// at 0 (Java renumbers only the partitions that asked for the bump).
    pub(super) fn bump_epoch(&mut self, affected: Vec<TopicPartition>) {
        let Some(idem) = self.mode.manager_mut() else {
            return;
        };
        tracing::info!(
            producer_id = idem.producer().producer_id,
            from_epoch = idem.producer().epoch,
            partitions = ?affected,
            "bumping the producer epoch (KIP-360)"
        );
        match idem.bump_epoch_locally(affected) {
            Ok(rewrites) => {
                for r in &rewrites {
                    self.batches.note_rewrite(r);
                }
            }
            // Not READY (a new producer id is on its way after an exhausted epoch): the new id
            // restarts every sequence anyway.
            Err(ferrokafka_txn::TxnError::LocalBumpNotAllowed { .. }) => {}
            Err(e) => self.fail_fatal(e.failure()),
        }
        if let Some(idem) = self.mode.manager_mut() {
            for r in &idem.take_rewrites() {
                self.batches.note_rewrite(r);
            }
            if !idem.producer().is_valid() {
                let _ = idem.start_idempotent_init();
            }
        }
        self.dirty = true;
    }

    pub(super) fn handle_init_producer_id(&mut self, error_code: i16, id: i64, epoch: i16) {
        let Some(idem) = self.mode.manager_mut() else {
            return;
        };
        let code = ErrorCode(error_code);
        match idem.handle_init_producer_id(init_producer_id_result(code, id, epoch)) {
            // The manager is fatal now, naming the API and code.
            Ok(ferrokafka_txn::ErrorClass::Fatal) => {}
            Ok(_) => {
                if idem.producer().is_valid() {
                    tracing::info!(
                        producer_id = idem.producer().producer_id,
                        epoch = idem.producer().epoch,
                        "producer id assigned"
                    );
                } else if code != ErrorCode::NONE {
                    tracing::info!(error = ?code, "InitProducerId failed; retrying");
                }
                for r in &idem.take_rewrites() {
                    self.batches.note_rewrite(r);
                }
                if !idem.producer().is_valid() {
                    let _ = idem.start_idempotent_init();
                }
            }
            Err(e) => self.fail_fatal(e.failure()),
        }
        self.dirty = true;
    }
}

/// The stamp for a batch at drain: none without idempotence; a fresh sequence on first drain;
/// on a retry the new stamp a renumbering gave it, else its own (even under an older epoch, as
/// Java: the broker still accepts it on that partition). `None` defers the batch: a new batch
/// of a partition that still has batches in flight under an older identity (or too many in
/// flight) waits, rather than go out without a sequence.
pub(super) fn stamp_for(
    idem: Option<&mut TransactionManager<TopicPartition>>,
    batches: &mut Batches,
    req: &StampRequest<'_>,
    transactional: bool,
) -> Option<ProducerStamp> {
    let Some(idem) = idem else {
        return Some(ProducerStamp::NONE);
    };
    let fresh = req.previous.is_none_or(|p| p.base_sequence < 0);
    if fresh && !transactional && idem.sequences().is_unresolved(req.tp) {
        // Numbered after a gap, it would be refused: wait for the epoch bump.
        return None;
    }
    // The latest renumbering of this batch, even under an epoch a later bump has passed (its
    // partition then finishes its in-flight batches under that epoch before restarting at 0):
    // its original stamp would no longer match the tracker.
    if let Some(new) = batches.take_rewrite(req.batch) {
        return Some(new);
    }
    if let Some(prev) = req.previous
        && prev.base_sequence >= 0
    {
        return Some(prev);
    }
    idem.sequences_mut().assign(req.tp, req.record_count).ok()
}

/// An InitProducerId answer as the txn crate takes it: the identity, or the error code.
pub(super) fn init_producer_id_result(
    code: ErrorCode,
    id: i64,
    epoch: i16,
) -> Result<ProducerIdAndEpoch, ErrorCode> {
    if code == ErrorCode::NONE {
        Ok(ProducerIdAndEpoch::new(id, epoch))
    } else {
        Err(code)
    }
}
