//! Table-driven test of `classify`: one row per (API, code, context) with the expected class,
//! written from the Java `TransactionManager` handlers (PROTOCOL §6/§7 facts copied into the
//! crate docs).

use ferrokafka_txn::{ClassifyContext, ErrorClass, classify};
use ferrokafka_wire::{ApiKey, ErrorCode as E};

use ErrorClass::{Abortable, Batch, Fatal, RediscoverCoordinator as Rediscover, Retry, Success};

const TXN_BUMP: ClassifyContext = ClassifyContext {
    transactional: true,
    can_bump_epoch: true,
    transactions_v2: false,
};
const TXN_NO_BUMP: ClassifyContext = ClassifyContext {
    transactional: true,
    can_bump_epoch: false,
    transactions_v2: false,
};
const TXN_V2: ClassifyContext = ClassifyContext {
    transactional: true,
    can_bump_epoch: true,
    transactions_v2: true,
};
const IDEMPOTENT: ClassifyContext = ClassifyContext {
    transactional: false,
    can_bump_epoch: true,
    transactions_v2: false,
};

const AB: ErrorClass = Abortable { bump_epoch: false };
const AB_BUMP: ErrorClass = Abortable { bump_epoch: true };

const COORDINATOR_APIS: [ApiKey; 5] = [
    ApiKey::INIT_PRODUCER_ID,
    ApiKey::ADD_PARTITIONS_TO_TXN,
    ApiKey::ADD_OFFSETS_TO_TXN,
    ApiKey::END_TXN,
    ApiKey::TXN_OFFSET_COMMIT,
];

#[test]
fn rows() {
    let rows: &[(ApiKey, E, ClassifyContext, ErrorClass)] = &[
        // InitProducerId
        (ApiKey::INIT_PRODUCER_ID, E::NONE, TXN_BUMP, Success),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::COORDINATOR_LOAD_IN_PROGRESS,
            TXN_BUMP,
            Retry,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::CONCURRENT_TRANSACTIONS,
            TXN_BUMP,
            Retry,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::NOT_COORDINATOR,
            TXN_BUMP,
            Rediscover,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::COORDINATOR_NOT_AVAILABLE,
            TXN_BUMP,
            Rediscover,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::PRODUCER_FENCED,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::INVALID_PRODUCER_EPOCH,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::CLUSTER_AUTHORIZATION_FAILED,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::CLUSTER_AUTHORIZATION_FAILED,
            IDEMPOTENT,
            Fatal,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::TRANSACTION_ABORTABLE,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::INVALID_TRANSACTION_TIMEOUT,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::INIT_PRODUCER_ID,
            E::UNSUPPORTED_VERSION,
            TXN_BUMP,
            Fatal,
        ),
        // AddPartitionsToTxn
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::CONCURRENT_TRANSACTIONS,
            TXN_BUMP,
            Retry,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::UNKNOWN_TOPIC_OR_PARTITION,
            TXN_BUMP,
            Retry,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::NOT_COORDINATOR,
            TXN_BUMP,
            Rediscover,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::INVALID_TXN_STATE,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::TOPIC_AUTHORIZATION_FAILED,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::OPERATION_NOT_ATTEMPTED,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::UNKNOWN_PRODUCER_ID,
            TXN_BUMP,
            AB_BUMP,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::UNKNOWN_PRODUCER_ID,
            TXN_NO_BUMP,
            Fatal,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::INVALID_PRODUCER_ID_MAPPING,
            TXN_BUMP,
            AB_BUMP,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::INVALID_PRODUCER_ID_MAPPING,
            TXN_NO_BUMP,
            Fatal,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::TRANSACTION_ABORTABLE,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::ADD_PARTITIONS_TO_TXN,
            E::UNKNOWN_SERVER_ERROR,
            TXN_BUMP,
            Fatal,
        ),
        // AddOffsetsToTxn
        (
            ApiKey::ADD_OFFSETS_TO_TXN,
            E::CONCURRENT_TRANSACTIONS,
            TXN_BUMP,
            Retry,
        ),
        (
            ApiKey::ADD_OFFSETS_TO_TXN,
            E::COORDINATOR_LOAD_IN_PROGRESS,
            TXN_BUMP,
            Retry,
        ),
        (
            ApiKey::ADD_OFFSETS_TO_TXN,
            E::GROUP_AUTHORIZATION_FAILED,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::ADD_OFFSETS_TO_TXN,
            E::INVALID_TXN_STATE,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::ADD_OFFSETS_TO_TXN,
            E::UNKNOWN_PRODUCER_ID,
            TXN_BUMP,
            AB_BUMP,
        ),
        // EndTxn
        (ApiKey::END_TXN, E::CONCURRENT_TRANSACTIONS, TXN_BUMP, Retry),
        (
            ApiKey::END_TXN,
            E::COORDINATOR_NOT_AVAILABLE,
            TXN_BUMP,
            Rediscover,
        ),
        (ApiKey::END_TXN, E::INVALID_TXN_STATE, TXN_BUMP, Fatal),
        (ApiKey::END_TXN, E::PRODUCER_FENCED, TXN_BUMP, Fatal),
        (ApiKey::END_TXN, E::INVALID_PRODUCER_EPOCH, TXN_BUMP, Fatal),
        (
            ApiKey::END_TXN,
            E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            TXN_BUMP,
            Fatal,
        ),
        (ApiKey::END_TXN, E::UNKNOWN_PRODUCER_ID, TXN_BUMP, AB_BUMP),
        (ApiKey::END_TXN, E::UNKNOWN_PRODUCER_ID, TXN_NO_BUMP, Fatal),
        (ApiKey::END_TXN, E::TRANSACTION_ABORTABLE, TXN_BUMP, AB),
        // TxnOffsetCommit (group coordinator)
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::REQUEST_TIMED_OUT,
            TXN_BUMP,
            Rediscover,
        ),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::UNKNOWN_TOPIC_OR_PARTITION,
            TXN_BUMP,
            Retry,
        ),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::UNSUPPORTED_FOR_MESSAGE_FORMAT,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::ILLEGAL_GENERATION,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::UNKNOWN_MEMBER_ID,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::FENCED_INSTANCE_ID,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::GROUP_AUTHORIZATION_FAILED,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::TXN_OFFSET_COMMIT,
            E::PRODUCER_FENCED,
            TXN_BUMP,
            Fatal,
        ),
        // FindCoordinator
        (
            ApiKey::FIND_COORDINATOR,
            E::COORDINATOR_NOT_AVAILABLE,
            TXN_BUMP,
            Rediscover,
        ),
        (
            ApiKey::FIND_COORDINATOR,
            E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::FIND_COORDINATOR,
            E::GROUP_AUTHORIZATION_FAILED,
            TXN_BUMP,
            AB,
        ),
        (
            ApiKey::FIND_COORDINATOR,
            E::TRANSACTION_ABORTABLE,
            TXN_BUMP,
            AB,
        ),
        // Produce: a batch that failed for good
        (ApiKey::PRODUCE, E::NONE, TXN_BUMP, Success),
        (
            ApiKey::PRODUCE,
            E::DUPLICATE_SEQUENCE_NUMBER,
            TXN_BUMP,
            Success,
        ),
        (
            ApiKey::PRODUCE,
            E::CLUSTER_AUTHORIZATION_FAILED,
            TXN_BUMP,
            Fatal,
        ),
        (
            ApiKey::PRODUCE,
            E::CLUSTER_AUTHORIZATION_FAILED,
            IDEMPOTENT,
            Fatal,
        ),
        (
            ApiKey::PRODUCE,
            E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            TXN_BUMP,
            Fatal,
        ),
        (ApiKey::PRODUCE, E::PRODUCER_FENCED, TXN_BUMP, Fatal),
        (ApiKey::PRODUCE, E::UNSUPPORTED_VERSION, TXN_BUMP, Fatal),
        (
            ApiKey::PRODUCE,
            E::INVALID_PRODUCER_EPOCH,
            TXN_BUMP,
            AB_BUMP,
        ),
        (ApiKey::PRODUCE, E::INVALID_PRODUCER_EPOCH, TXN_NO_BUMP, AB),
        (ApiKey::PRODUCE, E::INVALID_PRODUCER_EPOCH, TXN_V2, AB),
        (
            ApiKey::PRODUCE,
            E::TOPIC_AUTHORIZATION_FAILED,
            TXN_BUMP,
            AB_BUMP,
        ),
        (
            ApiKey::PRODUCE,
            E::OUT_OF_ORDER_SEQUENCE_NUMBER,
            TXN_BUMP,
            AB_BUMP,
        ),
        (ApiKey::PRODUCE, E::INVALID_TXN_STATE, TXN_BUMP, AB_BUMP),
        (ApiKey::PRODUCE, E::TRANSACTION_ABORTABLE, TXN_BUMP, AB_BUMP),
        (ApiKey::PRODUCE, E::UNKNOWN_PRODUCER_ID, TXN_BUMP, AB_BUMP),
        (ApiKey::PRODUCE, E::UNKNOWN_PRODUCER_ID, TXN_NO_BUMP, Fatal),
        (ApiKey::PRODUCE, E::UNKNOWN_PRODUCER_ID, TXN_V2, AB),
        (
            ApiKey::PRODUCE,
            E::OUT_OF_ORDER_SEQUENCE_NUMBER,
            IDEMPOTENT,
            Batch,
        ),
        (ApiKey::PRODUCE, E::UNKNOWN_PRODUCER_ID, IDEMPOTENT, Batch),
        (ApiKey::PRODUCE, E::MESSAGE_TOO_LARGE, IDEMPOTENT, Batch),
        // An API the manager does not drive
        (ApiKey::METADATA, E::UNKNOWN_SERVER_ERROR, TXN_BUMP, Fatal),
    ];
    for &(api, code, ctx, expected) in rows {
        assert_eq!(classify(api, code, ctx), expected, "{api} {code:?} {ctx:?}");
    }
}

#[test]
fn fencing_and_txn_abortable_are_uniform_across_coordinator_apis() {
    for api in COORDINATOR_APIS {
        for ctx in [TXN_BUMP, TXN_NO_BUMP, TXN_V2] {
            assert_eq!(classify(api, E::PRODUCER_FENCED, ctx), Fatal, "{api}");
            assert_eq!(
                classify(api, E::INVALID_PRODUCER_EPOCH, ctx),
                Fatal,
                "{api}"
            );
            assert_eq!(classify(api, E::TRANSACTION_ABORTABLE, ctx), AB, "{api}");
            assert_eq!(classify(api, E::NOT_COORDINATOR, ctx), Rediscover, "{api}");
            assert_eq!(
                classify(api, E::COORDINATOR_NOT_AVAILABLE, ctx),
                Rediscover,
                "{api}"
            );
            assert_eq!(classify(api, E::NONE, ctx), Success, "{api}");
        }
    }
}

/// Every known code on every API: never `Batch` for coordinator APIs or transactional Produce,
/// and retriable codes on coordinator APIs never end the producer.
#[test]
fn every_known_code_has_a_sensible_class() {
    for code in E::all() {
        for api in COORDINATOR_APIS {
            let class = classify(api, code, TXN_BUMP);
            assert_ne!(class, Batch, "{api} {code:?}");
            if code.is_retriable() {
                assert!(
                    matches!(class, Retry | Rediscover),
                    "{api} {code:?}: {class:?}"
                );
            }
        }
        assert_ne!(classify(ApiKey::PRODUCE, code, TXN_BUMP), Batch, "{code:?}");
        assert_ne!(classify(ApiKey::PRODUCE, code, TXN_BUMP), Retry, "{code:?}");
    }
}
