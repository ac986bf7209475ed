//! [`TransactionManager`]: checks public calls against the state, applies coordinator and
//! Produce responses, and owns the producer identity, sequences and transaction partitions.

use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::classify::{ClassifyContext, ErrorClass, classify};
use crate::error::{Call, FailureReason, SequenceError, TxnError};
use crate::partitions::TxnPartitions;
use crate::sequence::{EpochBump, ProducerIdAndEpoch, Rewrite, Sequences};
use crate::state::{StateKind, TxnState};

/// The coordinator request the current state is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoordinatorRequest {
    /// InitProducerId with these current id and epoch (`NONE` for a fresh id; the current
    /// identity for a KIP-360 epoch bump).
    InitProducerId {
        /// `ProducerId` / `ProducerEpoch` fields (v3+).
        current: ProducerIdAndEpoch,
    },
    /// AddPartitionsToTxn for the partitions [`TransactionManager::take_partitions_to_add`]
    /// returns (transactions v1 only).
    AddPartitionsToTxn,
    /// EndTxn, committing or aborting.
    EndTxn {
        /// True to commit.
        commit: bool,
        /// Identity to send.
        producer: ProducerIdAndEpoch,
    },
}

/// Sans-IO manager of a producer's identity, sequences and transaction state.
///
/// Calls (`init_transactions`, `begin_transaction`, ...) check the state and return a typed
/// error naming the call and the state. Responses (`handle_*`) classify error codes with
/// [`classify`] and return the [`ErrorClass`] so the driver knows whether to resend,
/// rediscover the coordinator, or surface the error. Every state change goes through one
/// private transition function that enforces [`StateKind::can_transition_to`].
#[derive(Debug, Clone)]
pub struct TransactionManager<K> {
    state: TxnState,
    transactional: bool,
    can_bump_epoch: bool,
    transactions_v2: bool,
    /// Set by abortable errors that need a KIP-360 bump: after the abort completes the manager
    /// goes to `Initializing` (InitProducerId with the current id) instead of `Ready`.
    epoch_bump_required: bool,
    /// The reason of the last abortable error, kept while aborting: after
    /// INVALID_PRODUCER_ID_MAPPING the coordinator refuses EndTxn, so the abort goes straight to
    /// InitProducerId.
    last_abortable: Option<FailureReason>,
    sequences: Sequences<K>,
    /// Partitions of the open transaction; cleared whenever no transaction is open.
    partitions: TxnPartitions<K>,
    /// The coordinator knows the open transaction: a partition or the group was added (under
    /// transactions v2, a transactional Produce or TxnOffsetCommit went out) — Java's
    /// `transactionStarted`. An empty transaction ends locally, with no EndTxn.
    started: bool,
    /// In-flight batches renumbered when a new identity was adopted, not yet taken by the driver
    /// (which must re-stamp them before their next send).
    rewrites: Vec<Rewrite<K>>,
}

impl<K: Ord + std::hash::Hash + Clone> TransactionManager<K> {
    /// A manager for a transactional (`transactional = true`) or idempotent-only producer, with
    /// at most `max_in_flight` (1..=5) batches in flight per partition.
    pub fn new(transactional: bool, max_in_flight: usize) -> Result<Self, SequenceError> {
        Ok(TransactionManager {
            state: TxnState::Uninitialized,
            transactional,
            can_bump_epoch: false,
            transactions_v2: false,
            epoch_bump_required: false,
            last_abortable: None,
            sequences: {
                let mut s = Sequences::new(max_in_flight)?;
                s.set_transactional(transactional);
                s
            },
            partitions: TxnPartitions::new(),
            rewrites: Vec::new(),
            started: false,
        })
    }

    /// Records what the coordinator supports: InitProducerId v3+ (`can_bump_epoch`, KIP-360) and
    /// the finalized `transaction.version >= 2` (KIP-890 part 2).
    pub fn set_capabilities(&mut self, can_bump_epoch: bool, transactions_v2: bool) {
        self.can_bump_epoch = can_bump_epoch;
        self.transactions_v2 = transactions_v2;
    }

    /// The current state.
    pub fn state(&self) -> &TxnState {
        &self.state
    }

    /// Whether a `transactional.id` is set.
    pub fn is_transactional(&self) -> bool {
        self.transactional
    }

    /// Whether the next commit/abort is followed by an epoch bump.
    pub fn epoch_bump_required(&self) -> bool {
        self.epoch_bump_required
    }

    /// The current producer identity.
    pub fn producer(&self) -> ProducerIdAndEpoch {
        self.sequences.producer()
    }

    /// Takes the in-flight batches renumbered when a response made the manager adopt a new
    /// identity (after an exhausted epoch, the affected partitions are renumbered only once the
    /// new producer id arrives). Re-stamp each before its next send.
    pub fn take_rewrites(&mut self) -> Vec<Rewrite<K>> {
        std::mem::take(&mut self.rewrites)
    }

    /// The sequence tracker (read-only).
    pub fn sequences(&self) -> &Sequences<K> {
        &self.sequences
    }

    /// The sequence tracker, to stamp, complete and fail batches. Identity changes go through
    /// the manager so the state and the sequences agree.
    pub fn sequences_mut(&mut self) -> &mut Sequences<K> {
        &mut self.sequences
    }

    fn ctx(&self) -> ClassifyContext {
        ClassifyContext {
            transactional: self.transactional,
            can_bump_epoch: self.can_bump_epoch,
            transactions_v2: self.transactions_v2,
        }
    }

    /// The one transition function. Invalid transitions leave the state unchanged and return an
    /// error. A transition to ABORTABLE_ERROR while aborting is skipped (the abort already
    /// handles it), and a second fatal error keeps the first reason (fatal is sticky).
    fn transition(&mut self, target: TxnState) -> Result<(), TxnError> {
        let from = self.state.kind();
        let to = target.kind();
        if to == StateKind::AbortableError && from == StateKind::AbortingTransaction {
            return Ok(());
        }
        if from == StateKind::FatalError && to == StateKind::FatalError {
            return Ok(());
        }
        if !from.can_transition_to(to) {
            return Err(TxnError::InvalidTransition { from, to });
        }
        if let TxnState::AbortableError(reason) = target {
            self.last_abortable = Some(reason);
        } else if to != StateKind::AbortingTransaction {
            self.last_abortable = None;
        }
        match to {
            StateKind::Uninitialized | StateKind::Initializing | StateKind::Ready => {
                self.partitions.clear();
            }
            StateKind::AbortingTransaction => self.partitions.clear_new(),
            _ => {}
        }
        self.state = target;
        Ok(())
    }

    /// The error for `call` in the current state.
    fn refuse(&self, call: Call) -> TxnError {
        match self.state {
            TxnState::FatalError(reason) => TxnError::Fatal { call, reason },
            TxnState::AbortableError(reason) => TxnError::Abortable { call, reason },
            ref s => TxnError::InvalidState {
                call,
                state: s.kind(),
            },
        }
    }

    fn ensure_transactional(&self, call: Call) -> Result<(), TxnError> {
        if self.transactional {
            Ok(())
        } else {
            Err(TxnError::NotTransactional { call })
        }
    }

    /// `initTransactions`: UNINITIALIZED → INITIALIZING. Calling it again while INITIALIZING is
    /// accepted (the same InitProducerId is awaited, as Java's cached result). After an abortable
    /// error *during* init (no producer id yet, e.g. an authorization failure) it starts over
    /// through UNINITIALIZED.
    pub fn init_transactions(&mut self) -> Result<(), TxnError> {
        let call = Call::InitTransactions;
        self.ensure_transactional(call)?;
        match self.state {
            TxnState::Initializing => Ok(()),
            TxnState::Uninitialized => self.transition(TxnState::Initializing),
            TxnState::AbortableError(_) if !self.producer().is_valid() => {
                self.transition(TxnState::Uninitialized)?;
                self.transition(TxnState::Initializing)
            }
            _ => Err(self.refuse(call)),
        }
    }

    /// Starts InitProducerId for an idempotent-only producer (UNINITIALIZED → INITIALIZING, or
    /// ABORTABLE_ERROR → UNINITIALIZED → INITIALIZING after an abortable InitProducerId
    /// failure); a no-op if it is already running or an id is known.
    pub fn start_idempotent_init(&mut self) -> Result<(), TxnError> {
        match self.state {
            TxnState::Uninitialized if !self.transactional => {
                self.transition(TxnState::Initializing)
            }
            TxnState::Initializing | TxnState::Ready if !self.transactional => Ok(()),
            // An idempotent-only producer has no transaction to abort: an abortable failure of
            // its InitProducerId (e.g. TRANSACTION_ABORTABLE) is cleared by starting over.
            TxnState::AbortableError(_) if !self.transactional => {
                self.transition(TxnState::Uninitialized)?;
                self.transition(TxnState::Initializing)
            }
            _ => Err(self.refuse(Call::InitTransactions)),
        }
    }

    /// `beginTransaction`: READY → IN_TRANSACTION.
    pub fn begin_transaction(&mut self) -> Result<(), TxnError> {
        let call = Call::BeginTransaction;
        self.ensure_transactional(call)?;
        match self.state {
            TxnState::Ready => {
                self.started = false;
                self.transition(TxnState::InTransaction)
            }
            _ => Err(self.refuse(call)),
        }
    }

    /// The coordinator now knows the open transaction (see [`transaction_started`]): the group
    /// was added (AddOffsetsToTxn), or under transactions v2 a transactional Produce or
    /// TxnOffsetCommit went out. A successful AddPartitionsToTxn marks it by itself.
    ///
    /// [`transaction_started`]: Self::transaction_started
    pub fn mark_started(&mut self) {
        self.started = true;
    }

    /// Whether the coordinator knows the open transaction; if not, ending it needs no EndTxn
    /// (the coordinator would answer INVALID_TXN_STATE for a transaction it never saw).
    pub fn transaction_started(&self) -> bool {
        self.started
    }

    /// May a record be appended now? A transactional producer must be IN_TRANSACTION; an
    /// idempotent one may append before its id is known (records wait in the accumulator).
    /// Either fails once an error state is reached.
    pub fn send(&self) -> Result<(), TxnError> {
        let call = Call::Send;
        match self.state {
            TxnState::FatalError(_) | TxnState::AbortableError(_) => Err(self.refuse(call)),
            TxnState::InTransaction => Ok(()),
            _ if !self.transactional => Ok(()),
            _ => Err(self.refuse(call)),
        }
    }

    /// `sendOffsetsToTransaction`: only IN_TRANSACTION; the state does not change.
    pub fn send_offsets_to_transaction(&self) -> Result<(), TxnError> {
        let call = Call::SendOffsetsToTransaction;
        self.ensure_transactional(call)?;
        match self.state {
            TxnState::InTransaction => Ok(()),
            _ => Err(self.refuse(call)),
        }
    }

    /// `commitTransaction`: IN_TRANSACTION → COMMITTING_TRANSACTION (accepted again while
    /// committing). The caller flushes the accumulator before sending EndTxn.
    pub fn commit_transaction(&mut self) -> Result<(), TxnError> {
        let call = Call::CommitTransaction;
        self.ensure_transactional(call)?;
        match self.state {
            TxnState::CommittingTransaction => Ok(()),
            TxnState::InTransaction => self.transition(TxnState::CommittingTransaction),
            _ => Err(self.refuse(call)),
        }
    }

    /// `abortTransaction`: IN_TRANSACTION or ABORTABLE_ERROR → ABORTING_TRANSACTION (accepted
    /// again while aborting).
    pub fn abort_transaction(&mut self) -> Result<(), TxnError> {
        let call = Call::AbortTransaction;
        self.ensure_transactional(call)?;
        match self.state {
            TxnState::AbortingTransaction => Ok(()),
            TxnState::InTransaction | TxnState::AbortableError(_) => {
                self.transition(TxnState::AbortingTransaction)
            }
            _ => Err(self.refuse(call)),
        }
    }

    /// The coordinator request the current state waits for, if any.
    pub fn pending_request(&self) -> Option<CoordinatorRequest> {
        let producer = self.producer();
        let bump_current = if self.epoch_bump_required {
            producer
        } else {
            ProducerIdAndEpoch::NONE
        };
        match self.state {
            TxnState::Initializing => Some(CoordinatorRequest::InitProducerId {
                current: bump_current,
            }),
            TxnState::InTransaction | TxnState::CommittingTransaction
                if self.partitions.has_new() =>
            {
                Some(CoordinatorRequest::AddPartitionsToTxn)
            }
            TxnState::CommittingTransaction if self.partitions.has_pending() => None,
            TxnState::CommittingTransaction => Some(CoordinatorRequest::EndTxn {
                commit: true,
                producer,
            }),
            TxnState::AbortingTransaction if self.skip_end_txn() => {
                Some(CoordinatorRequest::InitProducerId { current: producer })
            }
            TxnState::AbortingTransaction => Some(CoordinatorRequest::EndTxn {
                commit: false,
                producer,
            }),
            _ => None,
        }
    }

    /// After INVALID_PRODUCER_ID_MAPPING the coordinator has no mapping to end the transaction
    /// with; Java skips EndTxn and re-initializes with the current identity.
    fn skip_end_txn(&self) -> bool {
        matches!(
            self.last_abortable,
            Some(FailureReason::Broker { code, .. }) if code == ErrorCode::INVALID_PRODUCER_ID_MAPPING
        ) && self.epoch_bump_required
    }

    /// Applies a classified error from `api`.
    fn apply(&mut self, api: ApiKey, code: ErrorCode, class: ErrorClass) -> Result<(), TxnError> {
        let reason = FailureReason::Broker { api, code };
        match class {
            ErrorClass::Abortable { bump_epoch } => {
                let was_aborting = self.state.kind() == StateKind::AbortingTransaction;
                self.transition(TxnState::AbortableError(reason))?;
                if bump_epoch && !was_aborting {
                    self.epoch_bump_required = true;
                }
                Ok(())
            }
            ErrorClass::Fatal => self.transition(TxnState::FatalError(reason)),
            _ => Ok(()),
        }
    }

    /// An InitProducerId response: the new identity, or the error code.
    pub fn handle_init_producer_id(
        &mut self,
        response: Result<ProducerIdAndEpoch, ErrorCode>,
    ) -> Result<ErrorClass, TxnError> {
        let api = ApiKey::INIT_PRODUCER_ID;
        let expected = matches!(self.state, TxnState::Initializing)
            || (matches!(self.state, TxnState::AbortingTransaction) && self.skip_end_txn());
        if !expected {
            return Err(TxnError::UnexpectedResponse {
                api,
                state: self.state.kind(),
            });
        }
        match response {
            Ok(producer) if producer.is_valid() => {
                self.transition(TxnState::Ready)?;
                self.epoch_bump_required = false;
                let rewrites = self.sequences.set_producer(producer);
                self.rewrites.extend(rewrites);
                Ok(ErrorClass::Success)
            }
            Ok(_) => {
                let code = ErrorCode::UNKNOWN_SERVER_ERROR;
                self.transition(TxnState::FatalError(FailureReason::Broker { api, code }))?;
                Ok(ErrorClass::Fatal)
            }
            Err(code) => {
                let class = classify(api, code, self.ctx());
                self.apply(api, code, class)?;
                Ok(class)
            }
        }
    }

    /// An EndTxn response: `Ok(new)` on success, where `new` is the identity EndTxn v5 returns
    /// under transactions v2 (adopted, which restarts every sequence at 0).
    pub fn handle_end_txn(
        &mut self,
        response: Result<Option<ProducerIdAndEpoch>, ErrorCode>,
    ) -> Result<ErrorClass, TxnError> {
        let api = ApiKey::END_TXN;
        if !matches!(
            self.state,
            TxnState::CommittingTransaction | TxnState::AbortingTransaction
        ) {
            return Err(TxnError::UnexpectedResponse {
                api,
                state: self.state.kind(),
            });
        }
        match response {
            Ok(new) => {
                // KIP-360: an abortable error that needs a bump sends InitProducerId next.
                let target = if self.epoch_bump_required {
                    TxnState::Initializing
                } else {
                    TxnState::Ready
                };
                self.transition(target)?;
                if let Some(p) = new.filter(|p| p.is_valid()) {
                    let rewrites = self.sequences.set_producer(p);
                    self.rewrites.extend(rewrites);
                }
                Ok(ErrorClass::Success)
            }
            Err(code) => {
                let class = classify(api, code, self.ctx());
                self.apply(api, code, class)?;
                Ok(class)
            }
        }
    }

    /// An error code from another coordinator API (FindCoordinator, AddPartitionsToTxn,
    /// AddOffsetsToTxn, TxnOffsetCommit). Only meaningful while a transaction is open or ending.
    pub fn handle_coordinator_error(
        &mut self,
        api: ApiKey,
        code: ErrorCode,
    ) -> Result<ErrorClass, TxnError> {
        let class = classify(api, code, self.ctx());
        self.apply(api, code, class)?;
        Ok(class)
    }

    /// Records that the open transaction writes to `tp` (Java `maybeAddPartition`), called when
    /// a record for it is appended. Under transactions v1 it must then be added with
    /// AddPartitionsToTxn before its first batch is sent; under v2 Produce adds it implicitly.
    pub fn add_partition(&mut self, tp: &K) -> Result<(), TxnError> {
        self.send()?;
        if self.transactional {
            self.partitions.add(tp, self.transactions_v2);
        }
        Ok(())
    }

    /// May a batch for `tp` be drained now? Idempotent-only producers: yes unless fatal.
    /// Transactional: only once `tp` is part of the transaction (Java `isSendToPartitionAllowed`).
    pub fn may_send_to(&self, tp: &K) -> bool {
        match self.state {
            TxnState::FatalError(_) => false,
            _ if !self.transactional => true,
            _ => self.partitions.is_added(tp),
        }
    }

    /// The partitions for the next AddPartitionsToTxn (they become pending until
    /// [`handle_add_partitions`](Self::handle_add_partitions)). Empty outside a transaction.
    pub fn take_partitions_to_add(&mut self) -> Vec<K> {
        match self.state {
            TxnState::InTransaction | TxnState::CommittingTransaction => self.partitions.take_new(),
            _ => Vec::new(),
        }
    }

    /// The AddPartitionsToTxn response: one error code per partition (or the request's). All
    /// `NONE` adds the pending partitions; otherwise the most severe class among the codes is
    /// applied (fatal, then abortable, then rediscover, then retry), and on retry or
    /// rediscovery the partitions are asked for again.
    pub fn handle_add_partitions(
        &mut self,
        codes: impl IntoIterator<Item = ErrorCode>,
    ) -> Result<ErrorClass, TxnError> {
        let api = ApiKey::ADD_PARTITIONS_TO_TXN;
        if !self.partitions.has_pending() {
            return Err(TxnError::UnexpectedResponse {
                api,
                state: self.state.kind(),
            });
        }
        let ctx = self.ctx();
        let worst = codes
            .into_iter()
            .filter(|&c| c != ErrorCode::NONE && c != ErrorCode::OPERATION_NOT_ATTEMPTED)
            .map(|c| (severity(classify(api, c, ctx)), c))
            .max();
        let Some((_, code)) = worst else {
            self.partitions.confirm_pending();
            self.started = true;
            return Ok(ErrorClass::Success);
        };
        let class = classify(api, code, ctx);
        if matches!(class, ErrorClass::Retry | ErrorClass::RediscoverCoordinator) {
            self.partitions.retry_pending();
        }
        self.apply(api, code, class)?;
        Ok(class)
    }

    /// A batch failed for good with `code` (retries are the sender's business). Fatal codes end
    /// the producer; inside a transaction anything else makes it abortable, with an epoch bump
    /// when the coordinator supports one and the transaction is not already completing.
    pub fn handle_produce_error(&mut self, code: ErrorCode) -> Result<ErrorClass, TxnError> {
        let class = classify(ApiKey::PRODUCE, code, self.ctx());
        let completing = matches!(
            self.state,
            TxnState::CommittingTransaction | TxnState::AbortingTransaction
        );
        let class = match class {
            ErrorClass::Abortable { bump_epoch } => ErrorClass::Abortable {
                bump_epoch: bump_epoch && !completing,
            },
            c => c,
        };
        self.apply(ApiKey::PRODUCE, code, class)?;
        Ok(class)
    }

    /// The producer cannot go on for `reason`, found outside the manager (a missing API, an
    /// authentication failure, a refusal of its own): it enters `FatalError`, from any state.
    /// A producer already fatal keeps its first reason.
    pub fn fail_fatal(&mut self, reason: FailureReason) {
        // Every state may enter FatalError; a fatal one stays as it is.
        let _ = self.transition(TxnState::FatalError(reason));
    }

    /// A batch of the transaction expired before it was acknowledged: abortable, with an epoch
    /// bump if possible (its sequence may or may not have been written).
    pub fn handle_batch_expired(&mut self) -> Result<(), TxnError> {
        if !self.transactional {
            return Ok(());
        }
        let completing = matches!(
            self.state,
            TxnState::CommittingTransaction | TxnState::AbortingTransaction
        );
        let was_aborting = self.state.kind() == StateKind::AbortingTransaction;
        self.transition(TxnState::AbortableError(FailureReason::BatchExpired))?;
        if self.can_bump_epoch && !self.transactions_v2 && !completing && !was_aborting {
            self.epoch_bump_required = true;
        }
        Ok(())
    }

    /// Idempotent-only local epoch bump (KIP-360), after an unresolved sequence gap. At
    /// `i16::MAX` the id is dropped and the manager goes READY → UNINITIALIZED; call
    /// [`start_idempotent_init`](Self::start_idempotent_init) next. Returns the in-flight batches
    /// to re-stamp.
    pub fn bump_epoch_locally(
        &mut self,
        affected: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Rewrite<K>>, TxnError> {
        if self.transactional || self.state.kind() != StateKind::Ready {
            return Err(TxnError::LocalBumpNotAllowed {
                transactional: self.transactional,
                state: self.state.kind(),
            });
        }
        match self.sequences.bump_epoch_locally(affected) {
            EpochBump::Bumped { rewrites, .. } => Ok(rewrites),
            EpochBump::NeedsNewProducerId => {
                self.transition(TxnState::Uninitialized)?;
                Ok(Vec::new())
            }
        }
    }
}

/// Orders classes by how much they override others in one multi-partition response.
fn severity(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Fatal => 4,
        ErrorClass::Abortable { .. } => 3,
        ErrorClass::RediscoverCoordinator => 2,
        ErrorClass::Retry => 1,
        _ => 0,
    }
}
