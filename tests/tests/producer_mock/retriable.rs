//! Retriable failures that must not lose or reorder records: injected retriable Produce errors
//! and a connection closed mid-request (3), `retries` exhausted, InitProducerId errors, and
//! sequence errors on an idempotent producer, alone or behind pipelined batches.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use ferrokafka::{ErrorKind, ProduceError, Producer, RecordMetadata};
use ferrokafka_tests::mock::{inject_errors, inject_produce_errors, set_round_trip_time};
use ferrokafka_tests::producing::{metric, runtime};
use ferrokafka_wire::ErrorCode;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use crate::log::{Order, pipelined_order};
use crate::split::compressible;
use crate::{
    Mode, Outcomes, TOPIC, WAIT, assert_all_logged, collect, config, deliver, new_mock, record,
    send_all, send_paced, with_producer,
};

// ------------------------------------------------------------------------------------------
// 3. Injected retriable Produce errors.

fn retriable_errors(error: RDKafkaRespErr, mode: Mode) {
    const FIRST: usize = 100;
    const RECORDS: usize = 600;
    const INJECTED: usize = 3;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let (outcomes, retries, requests) = with_producer(&bootstrap, mode, &[], async |producer| {
        let mut pending = send_all(producer, 0..FIRST).await;
        producer.flush(WAIT).await.expect("flush before the faults");
        assert_eq!(metric(producer, "record-retry-total"), 0.0);
        inject_produce_errors(&mock, &[error; INJECTED]);
        pending.extend(
            send_paced(
                producer.clone(),
                FIRST..RECORDS,
                20,
                Duration::from_millis(2),
                Arc::new(AtomicUsize::new(0)),
            )
            .await,
        );
        producer.flush(WAIT).await.expect("flush");
        let outcomes = collect(pending, WAIT).await;
        let retries = metric(producer, "record-retry-total");
        let requests = metric(producer, "produce-request-total");
        (outcomes, retries, requests)
    });
    eprintln!(
        "{error:?} {mode:?}: record-retry-total {retries}, request-total {requests}, {:?}",
        started.elapsed()
    );
    assert_all_logged(&bootstrap, outcomes, RECORDS, pipelined_order(mode));
    assert!(
        retries > 0.0,
        "the injected errors caused retries (record-retry-total {retries})"
    );
}

#[test]
fn not_leader_for_partition_is_retried_strict() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        Mode::Strict,
    );
}

#[test]
fn not_leader_for_partition_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        Mode::IdempotentOneInFlight,
    );
}

#[test]
fn not_leader_for_partition_is_retried_idempotent_pipelined() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        Mode::Idempotent,
    );
}

#[test]
fn request_timed_out_is_retried_strict() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        Mode::Strict,
    );
}

#[test]
fn request_timed_out_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        Mode::IdempotentOneInFlight,
    );
}

#[test]
fn request_timed_out_is_retried_idempotent_pipelined() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        Mode::Idempotent,
    );
}

#[test]
fn not_enough_replicas_is_retried_strict() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        Mode::Strict,
    );
}

#[test]
fn not_enough_replicas_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        Mode::IdempotentOneInFlight,
    );
}

#[test]
fn not_enough_replicas_is_retried_idempotent_pipelined() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        Mode::Idempotent,
    );
}

/// `__TRANSPORT` makes the mock close the connection instead of answering (nothing appended):
/// a request lost with its connection.
#[test]
fn connection_closed_mid_request_is_retried_strict() {
    retriable_errors(RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT, Mode::Strict);
}

#[test]
fn connection_closed_mid_request_is_retried_idempotent() {
    retriable_errors(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT,
        Mode::IdempotentOneInFlight,
    );
}

/// `retries` counts resends (Java: `retries = N` allows N + 1 attempts). Three injected
/// `NOT_ENOUGH_REPLICAS` on a lone record: with `retries = 3` the fourth attempt delivers it;
/// with `retries = 2` it fails after the third attempt with the broker's code, and the next
/// record is delivered.
fn retries_bound(retries: &str) -> Result<RecordMetadata, ProduceError> {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let (outcome, next, counted) = with_producer(
        &bootstrap,
        Mode::Strict,
        &[("retries", retries), ("linger.ms", "0")],
        async |producer| {
            deliver(producer, 0, "warm-up")
                .await
                .expect("warm-up delivered");
            inject_produce_errors(
                &mock,
                &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 3],
            );
            let outcome = deliver(producer, 1, "the lone record").await;
            let counted = metric(producer, "record-retry-total");
            let next = deliver(producer, 2, "the record after").await;
            (outcome, next, counted)
        },
    );
    eprintln!("retries={retries}: {outcome:?}; record-retry-total {counted}");
    next.expect("the record after is delivered");
    outcome
}

#[test]
fn retries_three_outlasts_three_errors() {
    let md = retries_bound("3").expect("delivered on the fourth attempt");
    assert_eq!(md.topic(), TOPIC);
    assert!(md.offset().is_some());
}

#[test]
fn retries_two_gives_up_after_three_attempts() {
    match retries_bound("2") {
        Err(e) if e.kind() == ErrorKind::Broker => {
            assert_eq!(e.kafka_code(), Some(ErrorCode::NOT_ENOUGH_REPLICAS));
        }
        other => panic!("expected a NOT_ENOUGH_REPLICAS broker error, got {other:?}"),
    }
}

/// InitProducerId answered with a retriable error three times: the idempotent producer asks
/// again and then delivers everything.
#[test]
fn init_producer_id_retriable_errors_are_retried() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        RDKafkaApiKey::InitProducerId,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS; 3],
    );
    let outcomes = with_producer(&bootstrap, Mode::Idempotent, &[], async |producer| {
        collect(send_all(producer, 0..50).await, WAIT).await
    });
    assert_all_logged(&bootstrap, outcomes, 50, Order::Send);
}

/// InitProducerId answered with a fatal error: every record fails with a clear error instead of
/// waiting for `delivery.timeout.ms` or hanging.
#[test]
fn init_producer_id_fatal_error_fails_records_promptly() {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    inject_errors(
        &mock,
        RDKafkaApiKey::InitProducerId,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED],
    );
    let rt = runtime();
    rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, Mode::Idempotent, &[])).expect("producer");
        let started = Instant::now();
        let mut results = Vec::new();
        for i in 0..5 {
            match producer.send(record(i)).await {
                Ok(delivery) => results.push(
                    tokio::time::timeout(WAIT, delivery)
                        .await
                        .expect("resolved")
                        .map(|_| ()),
                ),
                Err(e) => results.push(Err(e)),
            }
        }
        let elapsed = started.elapsed();
        eprintln!("fatal InitProducerId: {results:?} after {elapsed:?}");
        for (i, r) in results.iter().enumerate() {
            let e = r.as_ref().expect_err("no record can be delivered");
            let text = e.to_string();
            assert!(
                matches!(e.kind(), ErrorKind::Fatal | ErrorKind::ProducerFenced),
                "record {i}: {e:?}"
            );
            assert!(
                text.contains("CLUSTER_AUTHORIZATION_FAILED"),
                "record {i}: {text}"
            );
        }
        // Failed by the fatal InitProducerId (the kinds above), not by delivery.timeout.ms
        // (120 s): the records did not wait for a producer id that cannot come.
        assert!(
            metric(&producer, "record-retry-total") == 0.0,
            "nothing was retried"
        );
        producer.close(Duration::from_secs(2)).await;
    });
}

/// An idempotent producer (not transactional) retries `UNKNOWN_PRODUCER_ID` and
/// `OUT_OF_ORDER_SEQUENCE_NUMBER` (Java `TransactionManager.canRetry`: "for the idempotent
/// producer, always retry UNKNOWN_PRODUCER_ID errors", bumping the epoch; the same for
/// OUT_OF_ORDER_SEQUENCE_NUMBER). One such error on the first request after a warm-up must not
/// fail any record.
///
/// Regression test: the engine used to retry these codes only when an earlier batch of the
/// partition was still unresolved, and otherwise failed the records with
/// `DeliveryError::Broker { code: UNKNOWN_PRODUCER_ID (59) | OUT_OF_ORDER_SEQUENCE_NUMBER (45) }`
/// (49 of the 50 records here: the whole failed request, three partitions). Fixed in the engine
/// (944f8a5, 22387e2).
fn idempotent_sequence_error_is_retried(error: RDKafkaRespErr) {
    const RECORDS: usize = 50;
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let outcomes = with_producer(
        &bootstrap,
        Mode::IdempotentOneInFlight,
        &[],
        async |producer| {
            let mut outcomes = collect(send_all(producer, 0..1).await, WAIT).await;
            inject_produce_errors(&mock, &[error]);
            outcomes.extend(collect(send_all(producer, 1..RECORDS).await, WAIT).await);
            outcomes
        },
    );
    assert_all_logged(&bootstrap, outcomes, RECORDS, Order::Send);
}

#[test]
fn idempotent_unknown_producer_id_is_retried() {
    idempotent_sequence_error_is_retried(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
}

#[test]
fn idempotent_out_of_order_sequence_is_retried() {
    idempotent_sequence_error_is_retried(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
}

/// Five batches of one partition in flight at once (idempotent, five requests in flight, every
/// answer delayed 300 ms so that all five are sent first). The first is refused with
/// `first_error`; the four behind it get `OUT_OF_ORDER_SEQUENCE_NUMBER`, exactly what Kafka
/// answers when a sequence is missing (the mock itself does not check sequences, so the test
/// plays the broker's part). Java retries those four (`canRetry`: an out-of-order batch that is
/// not the next expected sequence is retried) and everything is delivered, in order.
fn pipelined_behind_a_failed_batch(first_error: RDKafkaRespErr) -> (Outcomes, f64, f64) {
    const WARM: usize = 2;
    const RECORDS: usize = 12;
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    let (outcomes, requests, retried) = with_producer(
        &bootstrap,
        Mode::Idempotent,
        &[("batch.size", "1024"), ("linger.ms", "1000")],
        async |producer| {
            let mut outcomes = Vec::new();
            let mut send = async |range: Range<usize>| {
                let mut pending = Vec::new();
                for i in range {
                    pending.push((i, producer.send(compressible(i)).await.expect("send")));
                }
                producer.flush(WAIT).await.expect("flush");
                outcomes.extend(collect(pending, WAIT).await);
            };
            send(0..WARM).await;
            set_round_trip_time(&mock, None, Duration::from_millis(300)).expect("rtt");
            let mut errors = vec![first_error];
            errors.extend([RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER; 4]);
            inject_produce_errors(&mock, &errors);
            // Two ~420-byte records per 1024-byte batch: five batches.
            let before = metric(producer, "produce-request-total");
            send(WARM..RECORDS).await;
            let requests = metric(producer, "produce-request-total") - before;
            let retried = metric(producer, "record-retry-total");
            set_round_trip_time(&mock, None, Duration::ZERO).expect("rtt");
            (outcomes, requests, retried)
        },
    );
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("record {i}: {e}")))
        .collect();
    eprintln!(
        "{first_error:?} then 4 x OUT_OF_ORDER_SEQUENCE_NUMBER: {requests} Produce requests, \
         {retried} records retried, failed {failed:?}"
    );
    assert_all_logged(&bootstrap, outcomes.clone(), RECORDS, Order::Send);
    (outcomes, requests, retried)
}

#[test]
fn pipelined_batches_behind_a_retriable_failure_are_retried() {
    let (_, requests, retried) =
        pipelined_behind_a_failed_batch(RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    // Five refused, five sent again: all ten records retried.
    assert_eq!((requests, retried), (10.0, 10.0));
}

#[test]
fn pipelined_batches_behind_a_split_batch_are_retried() {
    let (_, requests, retried) =
        pipelined_behind_a_failed_batch(RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    // Five refused; the first split in two one-record parts, the four others sent again.
    assert_eq!((requests, retried), (11.0, 8.0));
}
