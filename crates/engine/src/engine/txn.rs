//! Transactions: the public transactional calls (init, begin, send offsets, commit, abort),
//! the engine-side bookkeeping beside the txn crate's state machine ([`TxnCtx`]), and the
//! driving of that machine each round. Transactions v1 and, when the broker finalized
//! `transaction.version` >= 2, KIP-890 v2 (implicit partition registration by Produce v12,
//! EndTxn v5 and TxnOffsetCommit v5); the coordinator requests themselves are in
//! [`coordinator`].

use std::time::Instant;

use ferrokafka_accumulator::{FlushId, TopicPartition};
use ferrokafka_txn::{StateKind, TxnState};

use super::Engine;
use crate::event::{Event, TxnCall, TxnFailure};

mod answers;
mod coordinator;

/// Which coordinator a FindCoordinator looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CoordinatorKind {
    Transaction,
    Group(String),
}

/// One partition's offset for [`Engine::send_offsets_to_transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetToCommit {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The next offset the group should consume (last processed + 1).
    pub offset: i64,
    /// Leader epoch of the consumed record, if known.
    pub leader_epoch: Option<i32>,
    /// Metadata stored with the offset.
    pub metadata: Option<String>,
}

/// The consumer group's identity (Java `ConsumerGroupMetadata`, KIP-447).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// Generation id (-1 if unknown).
    pub generation_id: i32,
    /// Member id ("" if unknown).
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
}

impl GroupMetadata {
    /// Only the group id (generation -1, no member id): fencing of zombie consumers is then
    /// by the transactional id alone.
    pub fn new(group_id: impl Into<String>) -> Self {
        Self {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffsetsStage {
    /// AddOffsetsToTxn to the transaction coordinator.
    AddOffsets,
    /// TxnOffsetCommit to the group coordinator.
    Commit,
}

#[derive(Debug)]
struct OffsetsOp {
    offsets: Vec<OffsetToCommit>,
    group: GroupMetadata,
    stage: OffsetsStage,
}

/// Transaction bookkeeping beyond the state machine.
#[derive(Debug)]
pub(super) struct TxnCtx {
    pub(super) id: String,
    coordinator: Option<i32>,
    group_coordinators: std::collections::HashMap<String, i32>,
    /// A coordinator request (or FindCoordinator) is outstanding.
    in_flight: bool,
    retry_at: Option<Instant>,
    offsets: Option<OffsetsOp>,
    /// Public calls awaiting their outcome.
    waiting: Vec<TxnCall>,
    /// Set by a successful EndTxn: (commit?).
    ended: Option<bool>,
    /// The flush started by commit, to end when the transaction ends.
    flushing: Option<FlushId>,
}

impl TxnCtx {
    /// Forgets `node` as transaction or group coordinator (its connection failed).
    pub(super) fn forget_coordinator_node(&mut self, node: i32) {
        if self.coordinator == Some(node) {
            self.coordinator = None;
        }
        self.group_coordinators.retain(|_, n| *n != node);
    }

    pub(super) fn offsets_group(&self) -> Option<&str> {
        self.offsets.as_ref().map(|o| o.group.group_id.as_str())
    }

    pub(super) fn new(id: String) -> Self {
        Self {
            id,
            coordinator: None,
            group_coordinators: std::collections::HashMap::new(),
            in_flight: false,
            retry_at: None,
            offsets: None,
            waiting: Vec::new(),
            ended: None,
            flushing: None,
        }
    }
}

impl Engine {
    fn txm_state(&self) -> Option<StateKind> {
        self.mode.manager().map(|m| m.state().kind())
    }

    /// Whether a `transactional.id` is configured.
    pub fn is_transactional(&self) -> bool {
        self.mode.is_transactional()
    }

    /// The transaction state (None without `transactional.id`).
    pub fn transaction_state(&self) -> Option<StateKind> {
        self.mode.txn().and(self.txm_state())
    }

    fn txn_parts(
        &mut self,
    ) -> Result<
        (
            &mut ferrokafka_txn::TransactionManager<TopicPartition>,
            &mut TxnCtx,
        ),
        TxnFailure,
    > {
        if self.closed && self.mode.is_transactional() {
            return Err(TxnFailure::closed());
        }
        self.mode
            .parts_mut()
            .ok_or_else(TxnFailure::not_transactional)
    }

    /// `initTransactions`: finds the coordinator and gets a producer id; completes with an
    /// [`Event::Transaction`] for [`TxnCall::InitTransactions`].
    pub fn init_transactions(&mut self) -> Result<(), TxnFailure> {
        let (m, t) = self.txn_parts()?;
        m.init_transactions()
            .map_err(|e| TxnFailure::from_error(&e))?;
        if !t.waiting.contains(&TxnCall::InitTransactions) {
            t.waiting.push(TxnCall::InitTransactions);
        }
        self.dirty = true;
        Ok(())
    }

    /// `beginTransaction` (local: no request).
    pub fn begin_transaction(&mut self) -> Result<(), TxnFailure> {
        let (m, _) = self.txn_parts()?;
        m.begin_transaction()
            .map_err(|e| TxnFailure::from_error(&e))?;
        Ok(())
    }

    /// `sendOffsetsToTransaction` (KIP-447): AddOffsetsToTxn, then TxnOffsetCommit to the
    /// group coordinator; completes with [`TxnCall::SendOffsets`].
    pub fn send_offsets_to_transaction(
        &mut self,
        offsets: Vec<OffsetToCommit>,
        group: GroupMetadata,
    ) -> Result<(), TxnFailure> {
        let v2 = self.txn_v2;
        let (m, t) = self.txn_parts()?;
        m.send_offsets_to_transaction()
            .map_err(|e| TxnFailure::from_error(&e))?;
        if t.offsets.is_some() {
            return Err(TxnFailure::busy("send_offsets_to_transaction"));
        }
        // Under transactions v2, TxnOffsetCommit v5 adds the group implicitly (KIP-890).
        t.offsets = Some(OffsetsOp {
            offsets,
            group,
            stage: if v2 {
                OffsetsStage::Commit
            } else {
                OffsetsStage::AddOffsets
            },
        });
        t.waiting.push(TxnCall::SendOffsets);
        self.dirty = true;
        Ok(())
    }

    /// `commitTransaction`: flushes, then EndTxn(commit); completes with
    /// [`TxnCall::CommitTransaction`].
    pub fn commit_transaction(&mut self) -> Result<(), TxnFailure> {
        let (m, t) = self.txn_parts()?;
        if t.offsets.is_some() {
            return Err(TxnFailure::busy("commit_transaction"));
        }
        m.commit_transaction()
            .map_err(|e| TxnFailure::from_error(&e))?;
        if !t.waiting.contains(&TxnCall::CommitTransaction) {
            t.waiting.push(TxnCall::CommitTransaction);
        }
        let needs_flush = t.flushing.is_none();
        if needs_flush {
            let flush = self.acc.begin_flush();
            if let Some(t) = self.mode.txn_mut() {
                t.flushing = Some(flush);
            }
        }
        self.dirty = true;
        Ok(())
    }

    /// `abortTransaction`: fails what is not sent yet, waits for what is in flight, then
    /// EndTxn(abort); completes with [`TxnCall::AbortTransaction`].
    pub fn abort_transaction(&mut self) -> Result<(), TxnFailure> {
        let (m, t) = self.txn_parts()?;
        m.abort_transaction()
            .map_err(|e| TxnFailure::from_error(&e))?;
        if !t.waiting.contains(&TxnCall::AbortTransaction) {
            t.waiting.push(TxnCall::AbortTransaction);
        }
        // A pending send_offsets is abandoned with the transaction.
        if t.offsets.take().is_some() {
            t.waiting.retain(|c| *c != TxnCall::SendOffsets);
            self.events.push_back(Event::Transaction {
                call: TxnCall::SendOffsets,
                result: Err(TxnFailure::aborted()),
            });
        }
        for failed in self.acc.abort_queued() {
            self.push_failed(
                failed.id,
                failed.tp,
                failed.record_count,
                crate::DeliveryError::TransactionAborted,
                false,
            );
        }
        self.dirty = true;
        Ok(())
    }

    /// One step of the coordinator conversation; called from `run`.
    pub(super) fn drive_txn(&mut self, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        self.resolve_txn_calls();
        let Some(t) = self.mode.txn() else {
            return;
        };
        if t.in_flight {
            return;
        }
        if let Some(at) = t.retry_at
            && at > now
        {
            wake_at(at);
            return;
        }
        let Some(m) = self.mode.manager() else {
            return;
        };
        let request = m.pending_request();
        let offsets_stage = t
            .offsets
            .as_ref()
            .map(|o| (o.stage, o.group.group_id.clone()));
        let needs_coordinator =
            request.is_some() || matches!(offsets_stage, Some((OffsetsStage::AddOffsets, _)));
        if needs_coordinator && t.coordinator.is_none() {
            self.find_coordinator(CoordinatorKind::Transaction, now, wake_at);
            return;
        }
        if let Some(request) = request {
            self.send_coordinator_request(request, now, wake_at);
            return;
        }
        match offsets_stage {
            Some((OffsetsStage::AddOffsets, _)) => self.send_add_offsets(now, wake_at),
            Some((OffsetsStage::Commit, group)) => {
                let coordinator = self
                    .mode
                    .txn()
                    .and_then(|t| t.group_coordinators.get(&group).copied());
                match coordinator {
                    Some(node) => self.send_txn_offset_commit(node, now, wake_at),
                    None => self.find_coordinator(CoordinatorKind::Group(group), now, wake_at),
                }
            }
            None => {}
        }
    }

    /// Emits events for public calls whose outcome is now known.
    pub(super) fn resolve_txn_calls(&mut self) {
        let Some(state) = self.mode.manager().map(|m| *m.state()) else {
            return;
        };
        let Some(t) = self.mode.txn_mut() else {
            return;
        };
        let ended = t.ended;
        let mut done = Vec::new();
        t.waiting.retain(|&call| {
            let outcome = match (call, &state) {
                (_, TxnState::FatalError(reason)) => Some(Err(TxnFailure::fatal(call, *reason))),
                (TxnCall::InitTransactions, TxnState::Ready) => Some(Ok(())),
                (TxnCall::InitTransactions, TxnState::AbortableError(reason)) => {
                    Some(Err(TxnFailure::abortable(call, *reason)))
                }
                (TxnCall::CommitTransaction, TxnState::AbortableError(reason)) => {
                    Some(Err(TxnFailure::abortable(call, *reason)))
                }
                (TxnCall::CommitTransaction, TxnState::Ready) if ended == Some(true) => {
                    Some(Ok(()))
                }
                // An abort completes with EndTxn(abort), or — after INVALID_PRODUCER_ID_MAPPING or
                // when an epoch bump follows — with the InitProducerId that replaces it.
                (TxnCall::AbortTransaction, TxnState::Ready) => Some(Ok(())),
                // The epoch bump after the abort failed (Java: the abort's result is its
                // InitProducerId's).
                (TxnCall::AbortTransaction, TxnState::AbortableError(reason)) => {
                    Some(Err(TxnFailure::abortable(call, *reason)))
                }
                (TxnCall::SendOffsets, TxnState::AbortableError(reason)) => {
                    Some(Err(TxnFailure::abortable(call, *reason)))
                }
                _ => None,
            };
            match outcome {
                Some(result) => {
                    done.push((call, result));
                    false
                }
                None => true,
            }
        });
        if matches!(state, TxnState::Ready | TxnState::FatalError(_))
            && let Some(flush) = t.flushing.take()
        {
            self.acc.end_flush(flush);
        }
        if matches!(state, TxnState::AbortableError(_) | TxnState::FatalError(_)) {
            t.offsets = None;
        }
        if t.waiting.is_empty() {
            t.ended = None;
        }
        for (call, result) in done {
            match &result {
                Ok(()) => tracing::debug!(call = ?call, "transactional call completed"),
                Err(e) => tracing::warn!(call = ?call, error = ?e, "transactional call failed"),
            }
            self.events.push_back(Event::Transaction { call, result });
        }
    }
}
