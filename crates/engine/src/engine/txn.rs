//! Transactions: coordinator discovery and the coordinator requests (InitProducerId,
//! AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn), driven by the txn crate's
//! state machine. Transactions v1 only (KIP-890 v2 needs broker support neither test peer
//! has): Produce is capped at v11, EndTxn and TxnOffsetCommit at v4, AddPartitionsToTxn at v3.

use std::time::Instant;

use ferrokafka_accumulator::TopicPartition;
use ferrokafka_txn::{CoordinatorRequest, ErrorClass, ProducerIdAndEpoch, StateKind, TxnState};
use ferrokafka_wire::messages::find_coordinator::FindCoordinatorRequest;
use ferrokafka_wire::messages::txn::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AddPartitionsToTxnTopic, EndTxnRequest,
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use ferrokafka_wire::messages::{
    AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, EndTxnResponse, FindCoordinatorResponse,
    InitProducerIdRequest, RequestBody, TxnOffsetCommitResponse,
};
use ferrokafka_wire::{ApiKey, ErrorCode};

use super::{ConnState, Engine, Pending, duration_ms_i32, init_producer_id_result, note_rewrite};
use crate::event::{Event, TxnCall, TxnFailure};

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
    flushing: bool,
    /// Whether the coordinator knows the open transaction: a partition or the group was added
    /// (v2: a transactional Produce or TxnOffsetCommit went out) — Java `transactionStarted`;
    /// an empty transaction ends locally, with no EndTxn (the coordinator would answer
    /// INVALID_TXN_STATE for a transaction it never saw).
    pub(super) started: bool,
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
            flushing: false,
            started: false,
        }
    }
}

impl Engine {
    fn txm_state(&self) -> Option<StateKind> {
        self.idem.as_ref().map(|m| m.state().kind())
    }

    /// Whether a `transactional.id` is configured.
    pub fn is_transactional(&self) -> bool {
        self.txn.is_some()
    }

    /// The transaction state (None without `transactional.id`).
    pub fn transaction_state(&self) -> Option<StateKind> {
        self.txn.as_ref().and(self.txm_state())
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
        if self.closed && self.txn.is_some() {
            return Err(TxnFailure::closed());
        }
        match (&mut self.idem, &mut self.txn) {
            (Some(m), Some(t)) => Ok((m, t)),
            _ => Err(TxnFailure::not_transactional()),
        }
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
        let (m, t) = self.txn_parts()?;
        m.begin_transaction()
            .map_err(|e| TxnFailure::from_error(&e))?;
        t.started = false;
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
        if !t.flushing {
            t.flushing = true;
            self.acc.begin_flush();
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
            );
        }
        self.dirty = true;
        Ok(())
    }

    /// One step of the coordinator conversation; called from `run`.
    pub(super) fn drive_txn(&mut self, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        self.resolve_txn_calls();
        let Some(t) = &self.txn else {
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
        let Some(m) = &self.idem else {
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
                    .txn
                    .as_ref()
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
        let Some(state) = self.idem.as_ref().map(|m| *m.state()) else {
            return;
        };
        let Some(t) = &mut self.txn else {
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
        if matches!(state, TxnState::Ready | TxnState::FatalError(_)) && t.flushing {
            t.flushing = false;
            self.acc.flush_done();
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

    fn coordinator_conn(
        &mut self,
        node: i32,
        now: Instant,
    ) -> Option<(crate::ConnId, super::Versions)> {
        if let Some(conn) = self.ready_conn(node) {
            match &self.conns.get(&conn)?.state {
                ConnState::Ready(v) => Some((conn, (**v).clone())),
                _ => None,
            }
        } else {
            self.ensure_connecting(node, now);
            None
        }
    }

    fn find_coordinator(
        &mut self,
        kind: CoordinatorKind,
        now: Instant,
        wake_at: &mut impl FnMut(Instant),
    ) {
        let Some(conn) = self.least_loaded_ready(now) else {
            self.connect_any(now, wake_at);
            return;
        };
        let Some(ConnState::Ready(v)) = self.conns.get(&conn).map(|c| &c.state) else {
            return;
        };
        let Ok(version) = v.find_coordinator.clone() else {
            self.txn_fatal_local("the broker does not support FindCoordinator");
            return;
        };
        let key = match &kind {
            CoordinatorKind::Transaction => {
                self.txn.as_ref().map(|t| t.id.clone()).unwrap_or_default()
            }
            CoordinatorKind::Group(g) => g.clone(),
        };
        let key_type = i8::from(matches!(kind, CoordinatorKind::Transaction));
        let req = if version >= 4 {
            FindCoordinatorRequest {
                key_type,
                coordinator_keys: vec![key],
                ..Default::default()
            }
        } else {
            FindCoordinatorRequest {
                key,
                key_type,
                ..Default::default()
            }
        };
        if self
            .send_request_with(
                conn,
                &RequestBody::FindCoordinator(req),
                version,
                Pending::FindCoordinator(kind),
                now,
            )
            .is_ok()
            && let Some(t) = &mut self.txn
        {
            t.in_flight = true;
        }
    }

    pub(super) fn handle_find_coordinator(
        &mut self,
        kind: CoordinatorKind,
        resp: &FindCoordinatorResponse,
        now: Instant,
    ) {
        let (code, node, host, port) = match resp.coordinators.first() {
            Some(c) => (ErrorCode(c.error_code), c.node_id, c.host.clone(), c.port),
            None => (
                ErrorCode(resp.error_code),
                resp.node_id,
                resp.host.clone(),
                resp.port,
            ),
        };
        let Some(t) = &mut self.txn else {
            return;
        };
        t.in_flight = false;
        if code != ErrorCode::NONE {
            let class = self
                .idem
                .as_mut()
                .map(|m| m.handle_coordinator_error(ApiKey::FIND_COORDINATOR, code));
            if matches!(
                class,
                Some(Ok(ErrorClass::Retry | ErrorClass::RediscoverCoordinator))
            ) && let Some(t) = &mut self.txn
            {
                t.retry_at = Some(now + self.config.accumulator.retry_backoff);
            }
            self.dirty = true;
            return;
        }
        if let Ok(port) = u16::try_from(port) {
            self.extra_addresses.insert(node, (host, port));
        }
        match kind {
            CoordinatorKind::Transaction => t.coordinator = Some(node),
            CoordinatorKind::Group(g) => {
                t.group_coordinators.insert(g, node);
            }
        }
        self.dirty = true;
    }

    fn send_coordinator_request(
        &mut self,
        request: CoordinatorRequest,
        now: Instant,
        wake_at: &mut impl FnMut(Instant),
    ) {
        let Some(node) = self.txn.as_ref().and_then(|t| t.coordinator) else {
            return;
        };
        // EndTxn waits for every batch of the transaction to be answered (commit flushed
        // them; abort failed the unsent ones).
        if matches!(request, CoordinatorRequest::EndTxn { .. }) && self.acc.has_incomplete() {
            return;
        }
        let Some((conn, v)) = self.coordinator_conn(node, now) else {
            let _ = wake_at;
            return;
        };
        let tid = self.txn.as_ref().map(|t| t.id.clone()).unwrap_or_default();
        let (body, version, pending) = match request {
            CoordinatorRequest::InitProducerId { current } => {
                let Ok(version) = v.init_producer_id.clone() else {
                    self.txn_fatal_local("the coordinator does not support InitProducerId");
                    return;
                };
                // KIP-890 part 2 when the coordinator's cluster finalized it; decided once per
                // identity, before any transaction uses it.
                self.txn_v2 = v.transactions_v2;
                if let Some(m) = &mut self.idem {
                    m.set_capabilities(version >= 3, v.transactions_v2);
                }
                let req = InitProducerIdRequest {
                    transactional_id: Some(tid),
                    transaction_timeout_ms: duration_ms_i32(self.config.transaction_timeout),
                    producer_id: current.producer_id,
                    producer_epoch: current.epoch,
                    ..Default::default()
                };
                (
                    RequestBody::InitProducerId(req),
                    version,
                    Pending::InitProducerId,
                )
            }
            CoordinatorRequest::AddPartitionsToTxn => {
                let Ok(version) = v.add_partitions.clone() else {
                    self.txn_fatal_local(
                        "the coordinator does not support AddPartitionsToTxn v0-3",
                    );
                    return;
                };
                let Some(m) = &mut self.idem else {
                    return;
                };
                let producer = m.producer();
                let parts = m.take_partitions_to_add();
                if parts.is_empty() {
                    return;
                }
                let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
                for tp in &parts {
                    match topics.iter_mut().find(|t| t.name == tp.topic) {
                        Some(t) => t.partitions.push(tp.partition),
                        None => topics.push(AddPartitionsToTxnTopic {
                            name: tp.topic.clone(),
                            partitions: vec![tp.partition],
                            ..Default::default()
                        }),
                    }
                }
                let req = AddPartitionsToTxnRequest {
                    transactional_id: tid,
                    producer_id: producer.producer_id,
                    producer_epoch: producer.epoch,
                    topics,
                    ..Default::default()
                };
                (
                    RequestBody::AddPartitionsToTxn(req),
                    version,
                    Pending::AddPartitions,
                )
            }
            CoordinatorRequest::EndTxn { commit, .. }
                if !self.txn.as_ref().is_some_and(|t| t.started) =>
            {
                // Nothing was added: end it locally, as Java does.
                if let Some(m) = &mut self.idem {
                    match m.handle_end_txn(Ok(None)) {
                        Ok(_) => {
                            if let Some(t) = &mut self.txn {
                                t.ended = Some(commit);
                            }
                        }
                        Err(e) => self.txn_fatal_local(&e.to_string()),
                    }
                }
                self.dirty = true;
                return;
            }
            CoordinatorRequest::EndTxn { commit, producer } => {
                let end_txn = if self.txn_v2 {
                    &v.end_txn_v2
                } else {
                    &v.end_txn
                };
                let Ok(version) = end_txn.clone() else {
                    self.txn_fatal_local("the coordinator does not support EndTxn");
                    return;
                };
                let req = EndTxnRequest {
                    transactional_id: tid,
                    producer_id: producer.producer_id,
                    producer_epoch: producer.epoch,
                    committed: commit,
                    ..Default::default()
                };
                (
                    RequestBody::EndTxn(req),
                    version,
                    Pending::EndTxn {
                        commit,
                        returns_identity: version >= 5,
                    },
                )
            }
            _ => return,
        };
        if self
            .send_request_with(conn, &body, version, pending, now)
            .is_ok()
            && let Some(t) = &mut self.txn
        {
            t.in_flight = true;
        }
    }

    fn send_add_offsets(&mut self, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        let Some(t) = &self.txn else {
            return;
        };
        let (Some(node), Some(op)) = (t.coordinator, &t.offsets) else {
            return;
        };
        let group_id = op.group.group_id.clone();
        let tid = t.id.clone();
        let producer = self
            .idem
            .as_ref()
            .map_or(ProducerIdAndEpoch::NONE, |m| m.producer());
        let Some((conn, v)) = self.coordinator_conn(node, now) else {
            let _ = wake_at;
            return;
        };
        let Ok(version) = v.add_offsets.clone() else {
            self.txn_fatal_local("the coordinator does not support AddOffsetsToTxn");
            return;
        };
        let req = AddOffsetsToTxnRequest {
            transactional_id: tid,
            producer_id: producer.producer_id,
            producer_epoch: producer.epoch,
            group_id,
            ..Default::default()
        };
        if self
            .send_request_with(
                conn,
                &RequestBody::AddOffsetsToTxn(req),
                version,
                Pending::AddOffsets,
                now,
            )
            .is_ok()
            && let Some(t) = &mut self.txn
        {
            t.in_flight = true;
        }
    }

    fn send_txn_offset_commit(
        &mut self,
        node: i32,
        now: Instant,
        wake_at: &mut impl FnMut(Instant),
    ) {
        let producer = self
            .idem
            .as_ref()
            .map_or(ProducerIdAndEpoch::NONE, |m| m.producer());
        let Some(t) = &self.txn else {
            return;
        };
        let Some(op) = &t.offsets else {
            return;
        };
        let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
        for o in &op.offsets {
            let part = TxnOffsetCommitRequestPartition {
                partition_index: o.partition,
                committed_offset: o.offset,
                committed_leader_epoch: o.leader_epoch.unwrap_or(-1),
                committed_metadata: o.metadata.clone(),
                ..Default::default()
            };
            match topics.iter_mut().find(|t| t.name == o.topic) {
                Some(t) => t.partitions.push(part),
                None => topics.push(TxnOffsetCommitRequestTopic {
                    name: o.topic.clone(),
                    partitions: vec![part],
                    ..Default::default()
                }),
            }
        }
        let req = TxnOffsetCommitRequest {
            transactional_id: t.id.clone(),
            group_id: op.group.group_id.clone(),
            producer_id: producer.producer_id,
            producer_epoch: producer.epoch,
            generation_id: op.group.generation_id,
            member_id: op.group.member_id.clone(),
            group_instance_id: op.group.group_instance_id.clone(),
            topics,
            ..Default::default()
        };
        let Some((conn, v)) = self.coordinator_conn(node, now) else {
            let _ = wake_at;
            return;
        };
        let txn_offset_commit = if self.txn_v2 {
            &v.txn_offset_commit_v2
        } else {
            &v.txn_offset_commit
        };
        let Ok(version) = txn_offset_commit.clone() else {
            self.txn_fatal_local("the group coordinator does not support TxnOffsetCommit");
            return;
        };
        if self
            .send_request_with(
                conn,
                &RequestBody::TxnOffsetCommit(req),
                version,
                Pending::TxnOffsetCommit,
                now,
            )
            .is_ok()
            && let Some(t) = &mut self.txn
        {
            t.in_flight = true;
        }
    }

    /// Applies a coordinator error class: retry after the backoff, or forget the coordinator.
    fn after_coordinator_error(&mut self, class: ErrorClass, group: Option<&str>, now: Instant) {
        let backoff = self.config.accumulator.retry_backoff;
        let Some(t) = &mut self.txn else {
            return;
        };
        match class {
            ErrorClass::RediscoverCoordinator => {
                match group {
                    Some(g) => {
                        t.group_coordinators.remove(g);
                    }
                    None => t.coordinator = None,
                }
                t.retry_at = Some(now + backoff);
            }
            ErrorClass::Retry => t.retry_at = Some(now + backoff),
            _ => {}
        }
        self.dirty = true;
    }

    pub(super) fn handle_txn_init_producer_id(
        &mut self,
        resp_code: i16,
        id: i64,
        epoch: i16,
        now: Instant,
    ) {
        if let Some(t) = &mut self.txn {
            t.in_flight = false;
        }
        let code = ErrorCode(resp_code);
        let Some(m) = &mut self.idem else {
            return;
        };
        match m.handle_init_producer_id(init_producer_id_result(code, id, epoch)) {
            Ok(class) => {
                for r in m.take_rewrites() {
                    note_rewrite(&mut self.rewrites, &mut self.stamped, r);
                }
                self.after_coordinator_error(class, None, now);
            }
            Err(e) => self.txn_fatal_local(&e.to_string()),
        }
        self.dirty = true;
    }

    pub(super) fn handle_add_partitions(
        &mut self,
        resp: &AddPartitionsToTxnResponse,
        now: Instant,
    ) {
        if let Some(t) = &mut self.txn {
            t.in_flight = false;
        }
        let codes: Vec<ErrorCode> = resp
            .results_by_topic
            .iter()
            .flat_map(|t| t.results_by_partition.iter())
            .map(|p| ErrorCode(p.partition_error_code))
            .collect();
        let Some(m) = &mut self.idem else {
            return;
        };
        match m.handle_add_partitions(codes) {
            Ok(ErrorClass::Success) => {
                if let Some(t) = &mut self.txn {
                    t.started = true;
                }
            }
            Ok(class) => self.after_coordinator_error(class, None, now),
            Err(e) => self.txn_fatal_local(&e.to_string()),
        }
        self.dirty = true;
    }

    pub(super) fn handle_end_txn(
        &mut self,
        commit: bool,
        returns_identity: bool,
        resp: &EndTxnResponse,
        now: Instant,
    ) {
        if let Some(t) = &mut self.txn {
            t.in_flight = false;
        }
        let code = ErrorCode(resp.error_code);
        let Some(m) = &mut self.idem else {
            return;
        };
        let response = if code == ErrorCode::NONE {
            // EndTxn v5 (transactions v2) hands back the identity for the next transaction.
            Ok(returns_identity
                .then(|| ProducerIdAndEpoch::new(resp.producer_id, resp.producer_epoch)))
        } else {
            Err(code)
        };
        match m.handle_end_txn(response) {
            Ok(ErrorClass::Success) => {
                for r in m.take_rewrites() {
                    note_rewrite(&mut self.rewrites, &mut self.stamped, r);
                }
                if let Some(t) = &mut self.txn {
                    t.ended = Some(commit);
                }
            }
            Ok(class) => self.after_coordinator_error(class, None, now),
            Err(e) => self.txn_fatal_local(&e.to_string()),
        }
        self.dirty = true;
    }

    pub(super) fn handle_add_offsets(&mut self, resp: &AddOffsetsToTxnResponse, now: Instant) {
        if let Some(t) = &mut self.txn {
            t.in_flight = false;
        }
        let code = ErrorCode(resp.error_code);
        if code == ErrorCode::NONE {
            if let Some(t) = &mut self.txn {
                t.started = true;
            }
            if let Some(op) = self.txn.as_mut().and_then(|t| t.offsets.as_mut()) {
                op.stage = OffsetsStage::Commit;
            }
            self.dirty = true;
            return;
        }
        let Some(m) = &mut self.idem else {
            return;
        };
        match m.handle_coordinator_error(ApiKey::ADD_OFFSETS_TO_TXN, code) {
            Ok(class) => self.after_coordinator_error(class, None, now),
            Err(e) => self.txn_fatal_local(&e.to_string()),
        }
    }

    pub(super) fn handle_txn_offset_commit(
        &mut self,
        resp: &TxnOffsetCommitResponse,
        now: Instant,
    ) {
        let group = self
            .txn
            .as_ref()
            .and_then(|t| t.offsets.as_ref())
            .map(|o| o.group.group_id.clone());
        if let Some(t) = &mut self.txn {
            t.in_flight = false;
        }
        let worst = resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| ErrorCode(p.error_code))
            .find(|c| *c != ErrorCode::NONE);
        let Some(code) = worst else {
            if let Some(t) = &mut self.txn {
                t.started = true;
                t.offsets = None;
                t.waiting.retain(|c| *c != TxnCall::SendOffsets);
            }
            self.events.push_back(Event::Transaction {
                call: TxnCall::SendOffsets,
                result: Ok(()),
            });
            self.dirty = true;
            return;
        };
        let Some(m) = &mut self.idem else {
            return;
        };
        match m.handle_coordinator_error(ApiKey::TXN_OFFSET_COMMIT, code) {
            Ok(class) => self.after_coordinator_error(class, group.as_deref(), now),
            Err(e) => self.txn_fatal_local(&e.to_string()),
        }
    }

    /// A request to a coordinator was lost (connection dropped): send it again.
    pub(super) fn txn_request_lost(&mut self, group: Option<&str>, now: Instant) {
        if let Some(t) = &mut self.txn {
            t.in_flight = false;
            match group {
                Some(g) => {
                    t.group_coordinators.remove(g);
                }
                None => t.coordinator = None,
            }
            t.retry_at = Some(now + self.config.accumulator.retry_backoff);
        }
        self.dirty = true;
    }

    /// An authentication failure while transactional calls wait: they fail, and the producer
    /// is fatal (Java's `TransactionManager.authenticationFailed`).
    pub(super) fn txn_authentication_failed(&mut self, reason: &str) {
        let Some(t) = &mut self.txn else {
            return;
        };
        if t.waiting.is_empty() {
            return;
        }
        let calls = std::mem::take(&mut t.waiting);
        self.txn_fatal_local(reason);
        for call in calls {
            self.events.push_back(Event::Transaction {
                call,
                result: Err(TxnFailure::fatal_with(format!("{call} failed: {reason}"))),
            });
        }
    }

    fn txn_fatal_local(&mut self, reason: &str) {
        self.fatal = Some(reason.to_owned());
        self.dirty = true;
    }
}
