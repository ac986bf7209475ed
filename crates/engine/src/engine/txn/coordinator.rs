//! The transaction and group coordinators: finding them (FindCoordinator), the requests the
//! txn crate's state machine asks for (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! TxnOffsetCommit, EndTxn, in their v1 or KIP-890 v2 form); their answers are in
//! [`answers`](super::answers).

use std::time::Instant;

use ferrokafka_txn::{CoordinatorRequest, ErrorClass, ProducerIdAndEpoch};
use ferrokafka_wire::messages::find_coordinator::FindCoordinatorRequest;
use ferrokafka_wire::messages::txn::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AddPartitionsToTxnTopic, EndTxnRequest,
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use ferrokafka_wire::messages::{FindCoordinatorResponse, InitProducerIdRequest, RequestBody};
use ferrokafka_wire::{ApiKey, ErrorCode};

use super::CoordinatorKind;
use crate::engine::{ConnState, Engine, Pending, duration_ms_i32};
use ferrokafka_txn::{FailureReason, TransactionManager};

impl Engine {
    pub(in crate::engine) fn coordinator_conn(
        &mut self,
        node: i32,
        now: Instant,
    ) -> Option<(crate::ConnId, crate::engine::Versions)> {
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

    pub(in crate::engine) fn find_coordinator(
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
            self.fail_fatal(FailureReason::Unsupported {
                api: ApiKey::FIND_COORDINATOR,
            });
            return;
        };
        let key = match &kind {
            CoordinatorKind::Transaction => {
                self.mode.txn().map(|t| t.id.clone()).unwrap_or_default()
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
            && let Some(t) = self.mode.txn_mut()
        {
            t.in_flight = true;
        }
    }

    pub(in crate::engine) fn handle_find_coordinator(
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
        let Some(t) = self.mode.txn_mut() else {
            return;
        };
        t.in_flight = false;
        if code != ErrorCode::NONE {
            let class = self
                .mode
                .manager_mut()
                .map(|m| m.handle_coordinator_error(ApiKey::FIND_COORDINATOR, code));
            if matches!(
                class,
                Some(Ok(ErrorClass::Retry | ErrorClass::RediscoverCoordinator))
            ) && let Some(t) = self.mode.txn_mut()
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

    pub(in crate::engine) fn send_coordinator_request(
        &mut self,
        request: CoordinatorRequest,
        now: Instant,
        wake_at: &mut impl FnMut(Instant),
    ) {
        let Some(node) = self.mode.txn().and_then(|t| t.coordinator) else {
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
        let tid = self.mode.txn().map(|t| t.id.clone()).unwrap_or_default();
        let (body, version, pending) = match request {
            CoordinatorRequest::InitProducerId { current } => {
                let Ok(version) = v.init_producer_id.clone() else {
                    self.fail_fatal(FailureReason::Unsupported {
                        api: ApiKey::INIT_PRODUCER_ID,
                    });
                    return;
                };
                // KIP-890 part 2 when the coordinator's cluster finalized it; decided once per
                // identity, before any transaction uses it.
                self.txn_v2 = v.transactions_v2;
                if let Some(m) = self.mode.manager_mut() {
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
                    self.fail_fatal(FailureReason::Unsupported {
                        api: ApiKey::ADD_PARTITIONS_TO_TXN,
                    });
                    return;
                };
                let Some(m) = self.mode.manager_mut() else {
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
                            name: tp.topic.to_string(),
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
                if !self
                    .mode
                    .manager()
                    .is_some_and(TransactionManager::transaction_started) =>
            {
                // Nothing was added: end it locally, as Java does.
                if let Some(m) = self.mode.manager_mut() {
                    match m.handle_end_txn(Ok(None)) {
                        Ok(_) => {
                            if let Some(t) = self.mode.txn_mut() {
                                t.ended = Some(commit);
                            }
                        }
                        Err(e) => self.fail_fatal(e.failure()),
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
                    self.fail_fatal(FailureReason::Unsupported {
                        api: ApiKey::END_TXN,
                    });
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
            && let Some(t) = self.mode.txn_mut()
        {
            t.in_flight = true;
        }
    }

    pub(in crate::engine) fn send_add_offsets(
        &mut self,
        now: Instant,
        wake_at: &mut impl FnMut(Instant),
    ) {
        let Some(t) = self.mode.txn() else {
            return;
        };
        let (Some(node), Some(op)) = (t.coordinator, &t.offsets) else {
            return;
        };
        let group_id = op.group.group_id.clone();
        let tid = t.id.clone();
        let producer = self
            .mode
            .manager()
            .map_or(ProducerIdAndEpoch::NONE, |m| m.producer());
        let Some((conn, v)) = self.coordinator_conn(node, now) else {
            let _ = wake_at;
            return;
        };
        let Ok(version) = v.add_offsets.clone() else {
            self.fail_fatal(FailureReason::Unsupported {
                api: ApiKey::ADD_OFFSETS_TO_TXN,
            });
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
            && let Some(t) = self.mode.txn_mut()
        {
            t.in_flight = true;
        }
    }

    pub(in crate::engine) fn send_txn_offset_commit(
        &mut self,
        node: i32,
        now: Instant,
        wake_at: &mut impl FnMut(Instant),
    ) {
        let producer = self
            .mode
            .manager()
            .map_or(ProducerIdAndEpoch::NONE, |m| m.producer());
        let Some(t) = self.mode.txn() else {
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
            self.fail_fatal(FailureReason::Unsupported {
                api: ApiKey::TXN_OFFSET_COMMIT,
            });
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
            && let Some(t) = self.mode.txn_mut()
        {
            t.in_flight = true;
        }
    }
}
