use std::error::Error as _;
use std::time::Duration;

use super::*;
use ferrokafka_engine::Reason;

fn broker(code: ErrorCode) -> ProduceError {
    ProduceError::delivery(DeliveryError::Broker {
        topic: "t".into(),
        partition: 3,
        code,
        message: None,
    })
}

fn failure(kind: TxnFailureKind, message: &str, code: Option<ErrorCode>) -> TxnFailure {
    TxnFailure {
        kind,
        message: message.into(),
        code,
    }
}

fn txn(kind: TxnFailureKind, message: &str) -> ProduceError {
    txn_coded(kind, message, None)
}

fn txn_coded(kind: TxnFailureKind, message: &str, code: Option<ErrorCode>) -> ProduceError {
    ProduceError::transaction(failure(kind, message, code))
}

/// One error of every case the facade can build, with its kind and its predicates
/// (retriable, abortable, fatal).
fn table() -> Vec<(&'static str, ProduceError, ErrorKind, [bool; 3])> {
    use ErrorKind as K;
    let config = ConfigError::InvalidValue {
        key: "ssl.keystore.location",
        value: "/nope".into(),
        expected: "a readable file".into(),
    };
    vec![
        ("config", config.into(), K::Config, [false, false, false]),
        (
            "no runtime",
            ProduceError::no_runtime(),
            K::NoRuntime,
            [false, false, false],
        ),
        (
            "invalid record",
            ProduceError::send(SendError::InvalidRecord("timestamp -2".into())),
            K::InvalidRecord,
            [false, false, false],
        ),
        (
            "no such partition",
            ProduceError::send(SendError::Partition(
                ferrokafka_partition::Error::PartitionOutOfRange {
                    partition: 9,
                    count: 3,
                },
            )),
            K::InvalidRecord,
            [false, false, false],
        ),
        (
            "too large",
            ProduceError::send(SendError::RecordTooLarge {
                size: 2,
                limit: 1,
                setting: "max.request.size",
            }),
            K::RecordTooLarge,
            [false, false, false],
        ),
        (
            "serialization",
            ProduceError::serialization("value", "not json".into()),
            K::Serialization,
            [false, false, false],
        ),
        (
            "topic not available",
            ProduceError::topic_not_available("t".into(), Duration::from_secs(1), None),
            K::TopicNotAvailable,
            [true, false, false],
        ),
        (
            "topic not available (engine)",
            ProduceError::send(SendError::Metadata(MetadataError::TopicNotAvailable {
                topic: "t".into(),
                waited: Duration::from_secs(1),
                last_error: Some(ErrorCode::LEADER_NOT_AVAILABLE),
                listed_without_partitions: false,
            })),
            K::TopicNotAvailable,
            [true, false, false],
        ),
        (
            "topic authorization",
            ProduceError::send(SendError::Metadata(MetadataError::TopicFailed {
                topic: "t".into(),
                error: ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            })),
            K::TopicAuthorization,
            [false, false, false],
        ),
        (
            "topic failed",
            ProduceError::send(SendError::Metadata(MetadataError::TopicFailed {
                topic: "t".into(),
                error: ErrorCode::INVALID_TOPIC_EXCEPTION,
            })),
            K::TopicFailed,
            [false, false, false],
        ),
        (
            "buffer exhausted",
            ProduceError::buffer_exhausted(Duration::ZERO),
            K::BufferExhausted,
            [true, false, false],
        ),
        (
            "flush timeout",
            ProduceError::timeout("flush", Duration::from_secs(1)),
            K::Timeout,
            [true, false, false],
        ),
        (
            "delivery timeout",
            ProduceError::delivery(DeliveryError::DeliveryTimeout {
                topic: "t".into(),
                partition: 3,
                attempts: 2,
                last_error: Some(ErrorCode::REQUEST_TIMED_OUT),
                reason: None,
                maybe_written: true,
            }),
            K::DeliveryTimeout,
            [true, false, false],
        ),
        (
            "retriable broker error",
            broker(ErrorCode::NOT_ENOUGH_REPLICAS),
            K::Broker,
            [true, false, false],
        ),
        (
            "non-retriable broker error",
            broker(ErrorCode::INVALID_RECORD),
            K::Broker,
            [false, false, false],
        ),
        (
            "encode",
            ProduceError::delivery(DeliveryError::Encode("zstd".into())),
            K::Encode,
            [false, false, false],
        ),
        (
            "authentication",
            ProduceError::send(SendError::Authentication("bad password".into())),
            K::Authentication,
            [false, false, false],
        ),
        (
            "send after close",
            ProduceError::closed(),
            K::Closed,
            [false, false, true],
        ),
        (
            "aborted by close",
            ProduceError::delivery(DeliveryError::Aborted),
            K::Closed,
            [false, false, true],
        ),
        (
            "closed in flight",
            ProduceError::delivery(DeliveryError::ClosedInFlight),
            K::Closed,
            [false, false, true],
        ),
        (
            "idempotent fatal (send)",
            ProduceError::send(SendError::Fatal(Reason::broker(
                "Produce returned OUT_OF_ORDER_SEQUENCE_NUMBER",
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
            ))),
            K::Fatal,
            [false, false, true],
        ),
        (
            "idempotent fatal (delivery)",
            ProduceError::delivery(DeliveryError::Fatal(Reason::broker(
                "Produce returned UNKNOWN_PRODUCER_ID",
                ErrorCode::UNKNOWN_PRODUCER_ID,
            ))),
            K::Fatal,
            [false, false, true],
        ),
        (
            "fatal transactional call",
            txn_coded(
                TxnFailureKind::Fatal,
                "init_transactions failed: the producer is in a fatal state \
                 (InitProducerId returned INVALID_TRANSACTION_TIMEOUT(50)) and must be closed",
                Some(ErrorCode::INVALID_TRANSACTION_TIMEOUT),
            ),
            K::Fatal,
            [false, false, true],
        ),
        (
            "fenced transactional call",
            txn_coded(
                TxnFailureKind::Fatal,
                "commit_transaction failed: the producer is in a fatal state \
                 (EndTxn returned PRODUCER_FENCED(90)) and must be closed",
                Some(ErrorCode::PRODUCER_FENCED),
            ),
            K::ProducerFenced,
            [false, false, true],
        ),
        (
            "send after fencing",
            ProduceError::send(SendError::Transaction(failure(
                TxnFailureKind::Fatal,
                "send failed: the producer is in a fatal state (AddPartitionsToTxn returned \
                 PRODUCER_FENCED(90)) and must be closed",
                Some(ErrorCode::PRODUCER_FENCED),
            ))),
            K::ProducerFenced,
            [false, false, true],
        ),
        (
            "fenced record",
            ProduceError::delivery(DeliveryError::Fatal(Reason::broker(
                "Produce returned PRODUCER_FENCED",
                ErrorCode::PRODUCER_FENCED,
            ))),
            K::ProducerFenced,
            [false, false, true],
        ),
        (
            "abortable transactional call",
            txn(
                TxnFailureKind::Abortable,
                "commit_transaction failed: the transaction must be aborted (x)",
            ),
            K::TransactionAbortable,
            [false, true, false],
        ),
        (
            "send in an abortable transaction",
            ProduceError::send(SendError::Transaction(failure(
                TxnFailureKind::Abortable,
                "send failed: the transaction must be aborted (TOPIC_AUTHORIZATION_FAILED)",
                Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED),
            ))),
            K::TransactionAbortable,
            [false, true, false],
        ),
        (
            "record of a failed transaction",
            ProduceError::delivery(DeliveryError::TransactionAbortable(Reason::local(
                "a record failed",
            ))),
            K::TransactionAbortable,
            [false, true, false],
        ),
        (
            "record of an aborted transaction",
            ProduceError::delivery(DeliveryError::TransactionAborted),
            K::TransactionAborted,
            [false, false, false],
        ),
        (
            "call abandoned by an abort",
            txn(
                TxnFailureKind::Aborted,
                "send_offsets_to_transaction: aborted",
            ),
            K::TransactionAborted,
            [false, false, false],
        ),
        (
            "call in the wrong state",
            txn(
                TxnFailureKind::InvalidState,
                "begin_transaction is not allowed in state Uninitialized",
            ),
            K::InvalidState,
            [false, false, false],
        ),
        (
            "send outside a transaction",
            ProduceError::send(SendError::Transaction(failure(
                TxnFailureKind::InvalidState,
                "send is not allowed in state Ready",
                None,
            ))),
            K::InvalidState,
            [false, false, false],
        ),
        (
            "not transactional",
            txn(TxnFailureKind::NotTransactional, "needs transactional.id"),
            K::NotTransactional,
            [false, false, false],
        ),
    ]
}

#[test]
fn every_kind_has_its_predicates() {
    for (what, e, kind, [retriable, abortable, fatal]) in table() {
        assert_eq!(e.kind(), kind, "{what}: {e}");
        assert_eq!(e.is_retriable(), retriable, "{what}: retriable");
        assert_eq!(e.is_abortable(), abortable, "{what}: abortable");
        assert_eq!(e.is_fatal(), fatal, "{what}: fatal");
        // At most one of the three answers applies.
        assert!(
            u8::from(retriable) + u8::from(abortable) + u8::from(fatal) <= 1,
            "{what}"
        );
    }
}

#[test]
fn every_kind_is_in_the_table() {
    // A new kind must be added to the table (and to DESIGN.md): this match has no wildcard
    // because the enum is only non-exhaustive outside this crate.
    let kinds: Vec<ErrorKind> = table().into_iter().map(|(_, _, k, _)| k).collect();
    for k in [
        ErrorKind::Config,
        ErrorKind::NoRuntime,
        ErrorKind::InvalidRecord,
        ErrorKind::RecordTooLarge,
        ErrorKind::Serialization,
        ErrorKind::TopicNotAvailable,
        ErrorKind::TopicAuthorization,
        ErrorKind::TopicFailed,
        ErrorKind::BufferExhausted,
        ErrorKind::Timeout,
        ErrorKind::DeliveryTimeout,
        ErrorKind::Broker,
        ErrorKind::Encode,
        ErrorKind::Authentication,
        ErrorKind::Closed,
        ErrorKind::Fatal,
        ErrorKind::ProducerFenced,
        ErrorKind::TransactionAbortable,
        ErrorKind::TransactionAborted,
        ErrorKind::InvalidState,
        ErrorKind::NotTransactional,
    ] {
        match k {
            ErrorKind::Config
            | ErrorKind::NoRuntime
            | ErrorKind::InvalidRecord
            | ErrorKind::RecordTooLarge
            | ErrorKind::Serialization
            | ErrorKind::TopicNotAvailable
            | ErrorKind::TopicAuthorization
            | ErrorKind::TopicFailed
            | ErrorKind::BufferExhausted
            | ErrorKind::Timeout
            | ErrorKind::DeliveryTimeout
            | ErrorKind::Broker
            | ErrorKind::Encode
            | ErrorKind::Authentication
            | ErrorKind::Closed
            | ErrorKind::Fatal
            | ErrorKind::ProducerFenced
            | ErrorKind::TransactionAbortable
            | ErrorKind::TransactionAborted
            | ErrorKind::InvalidState
            | ErrorKind::NotTransactional => assert!(kinds.contains(&k), "{k:?}"),
        }
    }
}

#[test]
fn context_accessors_and_codes() {
    let e = broker(ErrorCode::NOT_ENOUGH_REPLICAS);
    assert_eq!(e.kafka_code(), Some(ErrorCode::NOT_ENOUGH_REPLICAS));
    assert_eq!((e.topic(), e.partition()), (Some("t"), Some(3)));
    assert_eq!(e.attempts(), None);
    assert!(!e.outcome_unknown());

    let timeout = ProduceError::delivery(DeliveryError::DeliveryTimeout {
        topic: "t".into(),
        partition: 1,
        attempts: 2,
        last_error: Some(ErrorCode::REQUEST_TIMED_OUT),
        reason: None,
        maybe_written: true,
    });
    assert!(timeout.outcome_unknown());
    assert_eq!(timeout.kafka_code(), Some(ErrorCode::REQUEST_TIMED_OUT));
    assert_eq!(timeout.attempts(), Some(2));
    assert_eq!((timeout.topic(), timeout.partition()), (Some("t"), Some(1)));
    assert!(ProduceError::delivery(DeliveryError::ClosedInFlight).outcome_unknown());
    assert!(!ProduceError::delivery(DeliveryError::Aborted).outcome_unknown());

    let closed = ProduceError::closed();
    assert_eq!(closed.kafka_code(), None);
    assert_eq!(closed.to_string(), "producer is closed");

    let fenced = txn_coded(
        TxnFailureKind::Fatal,
        "commit_transaction failed: the producer is in a fatal state \
         (EndTxn returned PRODUCER_FENCED(90)) and must be closed",
        Some(ErrorCode::PRODUCER_FENCED),
    );
    assert_eq!(fenced.kind(), ErrorKind::ProducerFenced);
    assert_eq!(fenced.kafka_code(), Some(ErrorCode::PRODUCER_FENCED));
    // The words do not classify: only the code makes a fatal failure a fencing.
    let worded = txn(
        TxnFailureKind::Fatal,
        "commit_transaction failed: the producer is in a fatal state (PRODUCER_FENCED)",
    );
    assert_eq!(worded.kind(), ErrorKind::Fatal);
    let abortable = ProduceError::delivery(DeliveryError::TransactionAbortable(Reason::broker(
        "Produce returned TOPIC_AUTHORIZATION_FAILED",
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    )));
    assert_eq!(
        abortable.kafka_code(),
        Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED)
    );

    let topic = ProduceError::send(SendError::Metadata(MetadataError::TopicFailed {
        topic: "secret".into(),
        error: ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    }));
    assert_eq!(
        topic.kafka_code(),
        Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED)
    );
    assert_eq!(topic.topic(), Some("secret"));

    let waited = ProduceError::topic_not_available("t".into(), Duration::from_millis(60), None);
    assert_eq!(waited.waited(), Some(Duration::from_millis(60)));
    assert_eq!(waited.topic(), Some("t"));
    assert_eq!(
        ProduceError::timeout("flush", Duration::from_secs(2)).waited(),
        Some(Duration::from_secs(2))
    );
    let bad_partition = ProduceError::send(SendError::Partition(
        ferrokafka_partition::Error::PartitionOutOfRange {
            partition: 9,
            count: 3,
        },
    ));
    assert_eq!(bad_partition.partition(), Some(9));
}

#[test]
fn display_and_source_are_the_causes() {
    let e = ProduceError::topic_not_available(
        "orders".into(),
        Duration::from_millis(1500),
        Some("last error LEADER_NOT_AVAILABLE(5)".into()),
    );
    assert_eq!(
        e.to_string(),
        "topic `orders` not present in metadata after 1500 ms (max.block.ms): last error \
         LEADER_NOT_AVAILABLE(5)"
    );
    assert_eq!(
        ProduceError::buffer_exhausted(Duration::from_millis(7)).to_string(),
        "buffer.memory exhausted for 7 ms (max.block.ms); the record was not queued"
    );
    assert_eq!(
        ProduceError::timeout("commit_transaction", Duration::from_secs(1)).to_string(),
        "commit_transaction did not finish within 1000 ms"
    );
    assert_eq!(
        ProduceError::serialization("key", "bad".into()).to_string(),
        "serialization of the key failed: bad"
    );
    let engine = DeliveryError::Broker {
        topic: "t".into(),
        partition: 0,
        code: ErrorCode::INVALID_RECORD,
        message: Some("no".into()),
    };
    assert_eq!(
        ProduceError::delivery(engine.clone()).to_string(),
        engine.to_string()
    );
    // Transparent over the cause: the source is the cause's source.
    let config = ConfigError::Bootstrap(
        ferrokafka_metadata::parse_bootstrap("host:notaport").expect_err("malformed"),
    );
    let e = ProduceError::from(config.clone());
    assert_eq!(e.to_string(), config.to_string());
    assert_eq!(
        e.source().map(ToString::to_string),
        config.source().map(ToString::to_string)
    );
}
