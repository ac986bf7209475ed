//! `delivery.timeout.ms` (4): every broker down until the records fail (then recovery, then
//! `close` with records stuck), a retriable error that never stops, and a broker too slow to
//! answer.

use std::time::{Duration, Instant};

use crate::{
    Mode, PARTITIONS, TOPIC, WAIT, all_delivered, as_f64, collect, config, deliver, new_mock,
    record, send_all,
};
use ferrokafka::{ErrorKind, ProduceError, Producer, RecordMetadata};
use ferrokafka_tests::consume::{Isolation, read_back};
use ferrokafka_tests::data::index_of_prefix as index_of;
use ferrokafka_tests::mock::{
    Mock, broker_ids, clear_errors, inject_produce_errors, set_round_trip_time,
};
use ferrokafka_tests::producing::{metric, runtime};
use ferrokafka_wire::ErrorCode;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

// ------------------------------------------------------------------------------------------
// 4. delivery.timeout.ms with every broker down.

fn expect_delivery_timeout(i: usize, result: &Result<RecordMetadata, ProduceError>) {
    match result {
        Err(e) if e.kind() == ErrorKind::DeliveryTimeout => {
            assert_eq!(e.topic(), Some(TOPIC), "record {i}");
            assert!(
                e.partition().is_some_and(|p| (0..PARTITIONS).contains(&p)),
                "record {i}"
            );
        }
        other => panic!("record {i}: expected DeliveryTimeout, got {other:?}"),
    }
}

/// Takes every broker of a `brokers`-broker mock down (and, with `up`, back up).
fn set_all_brokers(mock: &Mock, up: bool) {
    for id in broker_ids(mock) {
        if up {
            mock.broker_up(id).expect("broker up");
        } else {
            mock.broker_down(id).expect("broker down");
        }
    }
}

fn delivery_timeout_with_broker_down(mode: Mode, brokers: i32) {
    const DOWN: usize = 30;
    let started = Instant::now();
    let mock = new_mock(brokers);
    let bootstrap = mock.bootstrap_servers();
    let rt = runtime();
    let overrides = [
        ("linger.ms", "0"),
        ("request.timeout.ms", "1000"),
        ("delivery.timeout.ms", "3000"),
        ("max.block.ms", "5000"),
    ];
    rt.block_on(async {
        let producer = Producer::new(config(&bootstrap, mode, &overrides)).expect("producer");
        // Warm up: metadata known, connection (and producer id) in place.
        deliver(&producer, 0, "warm-up")
            .await
            .expect("warm-up delivered");

        // Phase A: every broker is down; every record times out.
        set_all_brokers(&mock, false);
        let down_since = Instant::now();
        let pending = send_all(&producer, 1..DOWN + 1).await;
        let sent_in = down_since.elapsed();
        let outcomes = collect(pending, Duration::from_secs(15)).await;
        let failed_in = down_since.elapsed();
        eprintln!("{mode:?} {brokers} broker(s): {DOWN} sends queued in {sent_in:?}, all resolved after {failed_in:?}");
        for (i, result) in &outcomes {
            expect_delivery_timeout(*i, result);
        }
        // A lower bound only (load can only lengthen it); that delivery.timeout.ms ended
        // them is the error kind above, and `collect` bounds the wait.
        assert!(
            failed_in >= Duration::from_millis(2900),
            "no record failed before delivery.timeout.ms (all resolved after {failed_in:?})"
        );
        assert!(metric(&producer, "record-error-total") >= as_f64(DOWN));

        // Phase B: the brokers are back; the same producer delivers again.
        set_all_brokers(&mock, true);
        let back = Instant::now();
        let pending = send_all(&producer, DOWN + 1..DOWN + 11).await;
        let outcomes = collect(pending, WAIT).await;
        eprintln!("{mode:?} {brokers} broker(s): recovered in {:?}", back.elapsed());
        all_delivered(outcomes);

        // Phase C: down again with records queued; close(2 s) returns promptly and every
        // future resolves.
        set_all_brokers(&mock, false);
        let pending = send_all(&producer, DOWN + 11..DOWN + 21).await;
        let closing = Instant::now();
        tokio::time::timeout(
            Duration::from_secs(10),
            producer.close(Duration::from_secs(2)),
        )
        .await
        .expect("close returned");
        let closed_in = closing.elapsed();
        let outcomes = collect(pending, Duration::from_secs(2)).await;
        eprintln!("{mode:?} {brokers} broker(s): close(2 s) returned after {closed_in:?}");
        // close(2 s) returned (the 10 s guard above) and left nothing pending (below).
        // Never sent (Aborted), timed out, or — a batch written to a connection the mock had
        // already closed before the producer noticed — outcome unknown (ClosedInFlight): on a
        // loaded machine the write can win that race. Never delivered, never left pending.
        for (i, result) in &outcomes {
            assert!(
                // Aborted and ClosedInFlight are the Closed kind of a delivery.
                matches!(
                    result.as_ref().map_err(ProduceError::kind),
                    Err(ErrorKind::Closed | ErrorKind::DeliveryTimeout)
                ),
                "record {i} after close: {result:?}"
            );
        }
        // A closed producer refuses new records instead of hanging.
        let refused = tokio::time::timeout(Duration::from_secs(5), producer.send(record(999)))
            .await
            .expect("send after close returned");
        assert!(refused.is_err(), "send after close: {refused:?}");
        set_all_brokers(&mock, true);
    });
    drop(rt);
    // Only the warm-up and phase B records are in the log.
    let read = read_back(&bootstrap, TOPIC, 11, WAIT, Isolation::ReadUncommitted).expect("read");
    let mut indices: Vec<usize> = read
        .iter()
        .filter_map(|r| index_of(r.value.as_deref()))
        .collect();
    indices.sort_unstable();
    let want: Vec<usize> = std::iter::once(0).chain(DOWN + 1..DOWN + 11).collect();
    assert_eq!(indices, want, "the log holds exactly the delivered records");
    eprintln!("{mode:?}: done in {:?}", started.elapsed());
}

#[test]
fn delivery_timeout_with_the_broker_down_strict() {
    delivery_timeout_with_broker_down(Mode::Strict, 1);
}

#[test]
fn delivery_timeout_with_the_broker_down_idempotent() {
    delivery_timeout_with_broker_down(Mode::Idempotent, 1);
}

#[test]
fn delivery_timeout_with_all_three_brokers_down_strict() {
    delivery_timeout_with_broker_down(Mode::Strict, 3);
}

#[test]
fn delivery_timeout_with_all_three_brokers_down_idempotent() {
    delivery_timeout_with_broker_down(Mode::Idempotent, 3);
}

/// A `Strict` producer with `overrides` on a one-broker mock delivers a warm-up record; then
/// `fault` is applied to the mock and one more record sent. Returns its outcome, how long it
/// took to resolve (at most 15 s) and `record-retry-total`; `heal` undoes the fault before the
/// producer is closed with `close`.
fn lone_record_after(
    overrides: &[(&str, &str)],
    fault: impl FnOnce(&Mock),
    heal: impl FnOnce(&Mock),
    close: Duration,
) -> (Result<RecordMetadata, ProduceError>, Duration, f64) {
    let mock = new_mock(1);
    let bootstrap = mock.bootstrap_servers();
    runtime().block_on(async {
        let producer =
            Producer::new(config(&bootstrap, Mode::Strict, overrides)).expect("producer");
        collect(send_all(&producer, 0..1).await, WAIT).await;
        fault(&mock);
        let started = Instant::now();
        let mut outcomes = collect(send_all(&producer, 1..2).await, Duration::from_secs(15)).await;
        let elapsed = started.elapsed();
        let retries = metric(&producer, "record-retry-total");
        heal(&mock);
        producer.close(close).await;
        (outcomes.pop().expect("one").1, elapsed, retries)
    })
}

/// A retriable error that never stops: the records are retried until `delivery.timeout.ms` and
/// then fail with `DeliveryTimeout`, naming the last error and how often the batch was sent.
fn retriable_until_delivery_timeout() -> (Vec<ProduceError>, Duration, f64) {
    let (outcome, elapsed, retries) = lone_record_after(
        &[
            ("linger.ms", "0"),
            ("request.timeout.ms", "1000"),
            ("delivery.timeout.ms", "2000"),
            ("retry.backoff.ms", "50"),
            ("retry.backoff.max.ms", "50"),
        ],
        |mock| {
            inject_produce_errors(
                mock,
                &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 1000],
            );
        },
        |mock| clear_errors(mock, RDKafkaApiKey::Produce),
        Duration::from_secs(2),
    );
    let error = outcome.expect_err("record 1 cannot be delivered");
    (vec![error], elapsed, retries)
}

#[test]
fn retriable_errors_until_delivery_timeout() {
    let (errors, elapsed, retries) = retriable_until_delivery_timeout();
    eprintln!("{errors:?} after {elapsed:?}, record-retry-total {retries}");
    // Retried until delivery.timeout.ms ended it (the kind below, the retry count), never
    // before it (a lower bound only: load can only lengthen it).
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(retries >= 5.0, "retried until the timeout: {retries}");
    for e in &errors {
        match e {
            e if e.kind() == ErrorKind::DeliveryTimeout => {
                // The last error of a delivery timeout.
                assert_eq!(e.kafka_code(), Some(ErrorCode::NOT_ENOUGH_REPLICAS), "{e}");
            }
            other => panic!("expected DeliveryTimeout, got {other:?}"),
        }
    }
}

/// `DeliveryTimeout::attempts` is documented as "sends of the batch".
///
/// Regression test: the engine used to fill in a constant 0 when it expired a batch: a batch
/// sent 39 times (38 retries) failed with "delivery.timeout.ms expired for t-N after 0
/// attempt(s), last error NOT_ENOUGH_REPLICAS(19)". Fixed in the engine (22387e2).
#[test]
fn delivery_timeout_reports_the_attempts() {
    let (errors, _, retries) = retriable_until_delivery_timeout();
    for e in &errors {
        match e.attempts() {
            Some(attempts) if e.kind() == ErrorKind::DeliveryTimeout => {
                assert!(
                    attempts >= 2,
                    "the batch was sent {} times but the error says: {e}",
                    retries + 1.0
                );
            }
            _ => panic!("expected DeliveryTimeout, got {e:?}"),
        }
    }
}

/// `delivery.timeout.ms` is "an upper bound on the time to report success or failure after a
/// call to send() returns" (Java docs); Java also expires batches that are in flight. A broker
/// that never answers in time (10 s round trip), `request.timeout.ms` 2000,
/// `delivery.timeout.ms` 3000: the record fails at about 3 s. (The mock's round-trip delay
/// applies to every API, so the batch cannot be caught in flight at its expiry here.)
fn slow_broker_delivery_timeout() -> (Result<RecordMetadata, ProduceError>, Duration) {
    let (outcome, elapsed, _) = lone_record_after(
        &[
            ("linger.ms", "0"),
            ("request.timeout.ms", "2000"),
            ("delivery.timeout.ms", "3000"),
        ],
        |mock| set_round_trip_time(mock, None, Duration::from_secs(10)).expect("rtt"),
        |mock| set_round_trip_time(mock, None, Duration::ZERO).expect("rtt"),
        Duration::ZERO,
    );
    (outcome, elapsed)
}

#[test]
fn slow_broker_fails_at_delivery_timeout() {
    let (outcome, elapsed) = slow_broker_delivery_timeout();
    eprintln!("slow broker: {outcome:?} after {elapsed:?}");
    assert!(
        matches!(
            outcome.as_ref().map_err(ProduceError::kind),
            Err(ErrorKind::DeliveryTimeout)
        ),
        "{outcome:?}"
    );
    // The request timed out at 2 s; the reconnection's ApiVersions is as slow, so the batch
    // waits queued and expires at 3 s.
    // Not at request.timeout.ms (2 s) but at delivery.timeout.ms: a lower bound only (load
    // can only lengthen it); the kind above says what ended it.
    assert!(elapsed >= Duration::from_millis(2900), "{elapsed:?}");
}
