//! Error classification for the transactional and idempotent producer: one pure function,
//! [`classify`], from (API, error code, context) to what the manager does.
//!
//! The rules are those of the Java client's `TransactionManager` (its response handlers and
//! `maybeTransitionToErrorState`):
//!
//! - **Success**: `NONE`; `DUPLICATE_SEQUENCE_NUMBER` on Produce (the batch was already written).
//! - **Rediscover the coordinator**: `NOT_COORDINATOR`, `COORDINATOR_NOT_AVAILABLE` on every
//!   coordinator API (and `REQUEST_TIMED_OUT` on TxnOffsetCommit, whose coordinator is the
//!   group's), then resend.
//! - **Retry** the same coordinator: any other retriable code, including
//!   `COORDINATOR_LOAD_IN_PROGRESS` and `CONCURRENT_TRANSACTIONS` (Java retries it with a short
//!   backoff), and `UNKNOWN_TOPIC_OR_PARTITION` on AddPartitionsToTxn / TxnOffsetCommit.
//! - **Fatal** (sticky; the producer can only be closed): `PRODUCER_FENCED` and
//!   `INVALID_PRODUCER_EPOCH` from coordinator APIs (KIP-588 replaced the latter with the
//!   former), `TRANSACTIONAL_ID_AUTHORIZATION_FAILED`, `CLUSTER_AUTHORIZATION_FAILED`,
//!   `UNSUPPORTED_VERSION`, `INVALID_TXN_STATE`, `UNSUPPORTED_FOR_MESSAGE_FORMAT` on
//!   TxnOffsetCommit, and any code a coordinator handler does not expect.
//! - **Abortable** (abort the transaction, then carry on): `TRANSACTION_ABORTABLE` (KIP-890),
//!   group/topic authorization and consumer-group membership errors, any other Produce failure
//!   inside a transaction (including `INVALID_PRODUCER_EPOCH` from Produce, KIP-588).
//!   `UNKNOWN_PRODUCER_ID` / `INVALID_PRODUCER_ID_MAPPING` are abortable *with an epoch bump*
//!   when the coordinator can bump epochs (InitProducerId v3+, KIP-360), and fatal otherwise.
//! - One exception from Java's InitProducerId handler: authorization failures
//!   (`TRANSACTIONAL_ID_AUTHORIZATION_FAILED`, `CLUSTER_AUTHORIZATION_FAILED`) in an
//!   InitProducerId *response* put a transactional producer in `AbortableError`, not
//!   `FatalError`, so `init_transactions` may be retried once the ACLs are fixed.
//! - A Produce failure of an idempotent (non-transactional) producer is a batch-level matter
//!   ([`ErrorClass::Batch`]: retry, split or epoch bump by the sender) unless it is one of the
//!   fatal codes above.

use ferrokafka_wire::{ApiKey, ErrorCode};

/// What to do about an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Not an error.
    Success,
    /// Resend to the same coordinator (after the retry backoff).
    Retry,
    /// Look the coordinator up again (FindCoordinator), then resend.
    RediscoverCoordinator,
    /// The transaction must be aborted; `bump_epoch` if the producer epoch must also be bumped
    /// (InitProducerId with the current id and epoch, KIP-360) after the abort.
    Abortable {
        /// Whether an epoch bump is required after the abort.
        bump_epoch: bool,
    },
    /// The producer is unusable and must be closed.
    Fatal,
    /// A Produce failure of a non-transactional producer, handled per batch by the sender.
    Batch,
}

/// What [`classify`] needs to know about the producer and its coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClassifyContext {
    /// The producer has a `transactional.id`.
    pub transactional: bool,
    /// The coordinator supports InitProducerId v3+ (KIP-360), so the epoch can be bumped
    /// instead of the producer being fenced.
    pub can_bump_epoch: bool,
    /// Transactions v2 (KIP-890 part 2) are on: EndTxn v5 bumps the epoch after every
    /// transaction, so a Produce failure needs no client-triggered bump.
    pub transactions_v2: bool,
}

/// Classifies `code` returned by `api`. For Produce, `code` is the final error of a batch that
/// will not be retried.
pub fn classify(api: ApiKey, code: ErrorCode, ctx: ClassifyContext) -> ErrorClass {
    use ErrorClass::{Abortable, Batch, Fatal, RediscoverCoordinator, Retry, Success};
    type E = ErrorCode;

    if code == E::NONE {
        return Success;
    }
    let abortable_if_bump = if ctx.can_bump_epoch {
        Abortable { bump_epoch: true }
    } else {
        Fatal
    };
    if api == ApiKey::PRODUCE {
        return match code {
            E::DUPLICATE_SEQUENCE_NUMBER => Success,
            E::CLUSTER_AUTHORIZATION_FAILED
            | E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            | E::PRODUCER_FENCED
            | E::UNSUPPORTED_VERSION => Fatal,
            _ if !ctx.transactional => Batch,
            E::UNKNOWN_PRODUCER_ID | E::INVALID_PRODUCER_ID_MAPPING => {
                if ctx.transactions_v2 && ctx.can_bump_epoch {
                    Abortable { bump_epoch: false }
                } else {
                    abortable_if_bump
                }
            }
            _ => Abortable {
                bump_epoch: ctx.can_bump_epoch && !ctx.transactions_v2,
            },
        };
    }

    // Codes every coordinator API treats alike.
    match code {
        E::NOT_COORDINATOR | E::COORDINATOR_NOT_AVAILABLE => return RediscoverCoordinator,
        E::PRODUCER_FENCED | E::INVALID_PRODUCER_EPOCH => return Fatal,
        E::TRANSACTION_ABORTABLE => return Abortable { bump_epoch: false },
        _ => {}
    }
    match api {
        ApiKey::INIT_PRODUCER_ID => match code {
            E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED | E::CLUSTER_AUTHORIZATION_FAILED
                if ctx.transactional =>
            {
                Abortable { bump_epoch: false }
            }
            c if c.is_retriable() => Retry,
            _ => Fatal,
        },
        ApiKey::FIND_COORDINATOR => match code {
            E::GROUP_AUTHORIZATION_FAILED => Abortable { bump_epoch: false },
            c if c.is_retriable() => Retry,
            _ => Fatal,
        },
        ApiKey::ADD_PARTITIONS_TO_TXN => match code {
            E::UNKNOWN_TOPIC_OR_PARTITION => Retry,
            // OPERATION_NOT_ATTEMPTED only accompanies another partition's failure, which decides.
            E::TOPIC_AUTHORIZATION_FAILED | E::OPERATION_NOT_ATTEMPTED => {
                Abortable { bump_epoch: false }
            }
            E::UNKNOWN_PRODUCER_ID | E::INVALID_PRODUCER_ID_MAPPING => abortable_if_bump,
            c if c.is_retriable() => Retry,
            _ => Fatal,
        },
        ApiKey::ADD_OFFSETS_TO_TXN => match code {
            E::GROUP_AUTHORIZATION_FAILED => Abortable { bump_epoch: false },
            E::UNKNOWN_PRODUCER_ID | E::INVALID_PRODUCER_ID_MAPPING => abortable_if_bump,
            c if c.is_retriable() => Retry,
            _ => Fatal,
        },
        ApiKey::END_TXN => match code {
            E::UNKNOWN_PRODUCER_ID | E::INVALID_PRODUCER_ID_MAPPING => abortable_if_bump,
            c if c.is_retriable() => Retry,
            _ => Fatal,
        },
        ApiKey::TXN_OFFSET_COMMIT => match code {
            E::REQUEST_TIMED_OUT => RediscoverCoordinator,
            E::UNKNOWN_TOPIC_OR_PARTITION => Retry,
            E::GROUP_AUTHORIZATION_FAILED
            | E::FENCED_INSTANCE_ID
            | E::UNKNOWN_MEMBER_ID
            | E::ILLEGAL_GENERATION => Abortable { bump_epoch: false },
            c if c.is_retriable() => Retry,
            _ => Fatal,
        },
        _ => Fatal,
    }
}
