//! The coordinators' answers: InitProducerId, AddPartitionsToTxn, EndTxn, AddOffsetsToTxn and
//! TxnOffsetCommit fed to the txn crate's state machine, coordinator errors and lost requests
//! (look the coordinator up again, back off), and the failures that end the transactional
//! producer (authentication, local fatal errors).

use std::time::Instant;

use ferrokafka_txn::{ErrorClass, FailureReason, ProducerIdAndEpoch, TransactionManager, TxnState};
use ferrokafka_wire::messages::{
    AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, EndTxnResponse, TxnOffsetCommitResponse,
};
use ferrokafka_wire::{ApiKey, ErrorCode};

use super::OffsetsStage;
use crate::engine::Engine;
use crate::engine::idempotence::init_producer_id_result;
use crate::event::{Event, Reason, TxnCall, TxnFailure};

impl Engine {
    /// Applies a coordinator error class: retry after the backoff, or forget the coordinator.
    pub(in crate::engine) fn after_coordinator_error(
        &mut self,
        class: ErrorClass,
        group: Option<&str>,
        now: Instant,
    ) {
        let backoff = self.config.accumulator.retry_backoff;
        let Some(t) = self.mode.txn_mut() else {
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

    pub(in crate::engine) fn handle_txn_init_producer_id(
        &mut self,
        resp_code: i16,
        id: i64,
        epoch: i16,
        now: Instant,
    ) {
        if let Some(t) = self.mode.txn_mut() {
            t.in_flight = false;
        }
        let code = ErrorCode(resp_code);
        let Some(m) = self.mode.manager_mut() else {
            return;
        };
        match m.handle_init_producer_id(init_producer_id_result(code, id, epoch)) {
            Ok(class) => {
                for r in &m.take_rewrites() {
                    self.batches.note_rewrite(r);
                }
                self.after_coordinator_error(class, None, now);
            }
            Err(e) => self.fail_fatal(e.failure()),
        }
        self.dirty = true;
    }

    pub(in crate::engine) fn handle_add_partitions(
        &mut self,
        resp: &AddPartitionsToTxnResponse,
        now: Instant,
    ) {
        if let Some(t) = self.mode.txn_mut() {
            t.in_flight = false;
        }
        let codes: Vec<ErrorCode> = resp
            .results_by_topic
            .iter()
            .flat_map(|t| t.results_by_partition.iter())
            .map(|p| ErrorCode(p.partition_error_code))
            .collect();
        let Some(m) = self.mode.manager_mut() else {
            return;
        };
        match m.handle_add_partitions(codes) {
            Ok(ErrorClass::Success) => {}
            Ok(class) => self.after_coordinator_error(class, None, now),
            Err(e) => self.fail_fatal(e.failure()),
        }
        self.dirty = true;
    }

    pub(in crate::engine) fn handle_end_txn(
        &mut self,
        commit: bool,
        returns_identity: bool,
        resp: &EndTxnResponse,
        now: Instant,
    ) {
        if let Some(t) = self.mode.txn_mut() {
            t.in_flight = false;
        }
        let code = ErrorCode(resp.error_code);
        let Some(m) = self.mode.manager_mut() else {
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
                for r in &m.take_rewrites() {
                    self.batches.note_rewrite(r);
                }
                if let Some(t) = self.mode.txn_mut() {
                    t.ended = Some(commit);
                }
            }
            Ok(class) => self.after_coordinator_error(class, None, now),
            Err(e) => self.fail_fatal(e.failure()),
        }
        self.dirty = true;
    }

    pub(in crate::engine) fn handle_add_offsets(
        &mut self,
        resp: &AddOffsetsToTxnResponse,
        now: Instant,
    ) {
        if let Some(t) = self.mode.txn_mut() {
            t.in_flight = false;
        }
        let code = ErrorCode(resp.error_code);
        if code == ErrorCode::NONE {
            if let Some((m, _)) = self.mode.parts_mut() {
                m.mark_started();
            }
            if let Some(op) = self.mode.txn_mut().and_then(|t| t.offsets.as_mut()) {
                op.stage = OffsetsStage::Commit;
            }
            self.dirty = true;
            return;
        }
        let Some(m) = self.mode.manager_mut() else {
            return;
        };
        match m.handle_coordinator_error(ApiKey::ADD_OFFSETS_TO_TXN, code) {
            Ok(class) => self.after_coordinator_error(class, None, now),
            Err(e) => self.fail_fatal(e.failure()),
        }
    }

    pub(in crate::engine) fn handle_txn_offset_commit(
        &mut self,
        resp: &TxnOffsetCommitResponse,
        now: Instant,
    ) {
        let group = self
            .mode
            .txn()
            .and_then(|t| t.offsets.as_ref())
            .map(|o| o.group.group_id.clone());
        if let Some(t) = self.mode.txn_mut() {
            t.in_flight = false;
        }
        let worst = resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| ErrorCode(p.error_code))
            .find(|c| *c != ErrorCode::NONE);
        let Some(code) = worst else {
            if let Some((m, t)) = self.mode.parts_mut() {
                m.mark_started();
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
        let Some(m) = self.mode.manager_mut() else {
            return;
        };
        match m.handle_coordinator_error(ApiKey::TXN_OFFSET_COMMIT, code) {
            Ok(class) => self.after_coordinator_error(class, group.as_deref(), now),
            Err(e) => self.fail_fatal(e.failure()),
        }
    }

    /// A request to a coordinator was lost (connection dropped): send it again.
    pub(in crate::engine) fn txn_request_lost(&mut self, group: Option<&str>, now: Instant) {
        if let Some(t) = self.mode.txn_mut() {
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
    pub(in crate::engine) fn txn_authentication_failed(&mut self, reason: &str) {
        let Some(t) = self.mode.txn_mut() else {
            return;
        };
        if t.waiting.is_empty() {
            return;
        }
        let calls = std::mem::take(&mut t.waiting);
        self.fail_fatal(FailureReason::AuthenticationFailed);
        for call in calls {
            self.events.push_back(Event::Transaction {
                call,
                result: Err(TxnFailure::fatal_with(format!("{call} failed: {reason}"))),
            });
        }
    }

    /// The producer cannot go on (idempotent or transactional; a plain producer has no
    /// fatal state): its manager enters `FatalError`, keeping a first reason.
    pub(in crate::engine) fn fail_fatal(&mut self, reason: FailureReason) {
        if let Some(m) = self.mode.manager_mut() {
            m.fail_fatal(reason);
        }
        self.dirty = true;
    }

    /// Why the producer is fatal, if it is: its manager's reason.
    pub(in crate::engine) fn fatal_reason(&self) -> Option<Reason> {
        match self.mode.manager().map(TransactionManager::state) {
            Some(TxnState::FatalError(reason)) => {
                let mut r = Reason::from_failure(*reason);
                if !self.mode.is_transactional()
                    && *reason
                        == (FailureReason::Unsupported {
                            api: ApiKey::INIT_PRODUCER_ID,
                        })
                {
                    r.message.push_str("; set enable.idempotence=false");
                }
                Some(r)
            }
            _ => None,
        }
    }
}
