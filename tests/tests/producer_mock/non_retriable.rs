//! Non-retriable Produce errors (5): only the records of the refused request fail, with the
//! broker's code, and the records behind them are delivered.

use std::ops::Range;
use std::time::Instant;

use ferrokafka::ErrorKind;
use ferrokafka_tests::mock::inject_produce_errors;
use ferrokafka_tests::producing::metric;
use ferrokafka_wire::ErrorCode;
use rdkafka::types::RDKafkaRespErr;

use crate::log::Order;
use crate::log::assert_log_matches;
use crate::{
    Mode, PARTITIONS, TOPIC, WAIT, as_f64, collect, deliver, new_mock, send_all, with_producer,
};

// ------------------------------------------------------------------------------------------
// 5. Non-retriable Produce errors.

fn non_retriable(error: RDKafkaRespErr, code: ErrorCode, mode: Mode) {
    const FAULTY: Range<usize> = 1..11;
    const RECORDS: usize = 200;
    let started = Instant::now();
    let mock = new_mock(3);
    let bootstrap = mock.bootstrap_servers();
    let (outcomes, errors) = with_producer(&bootstrap, mode, &[], async |producer| {
        let mut outcomes = vec![(0, deliver(producer, 0, "warm-up").await)];
        // The next Produce request fails; it carries (at least the first of) these records.
        inject_produce_errors(&mock, &[error]);
        let pending = send_all(producer, FAULTY).await;
        outcomes.extend(collect(pending, WAIT).await);
        let pending = send_all(producer, FAULTY.end..RECORDS).await;
        producer.flush(WAIT).await.expect("flush");
        outcomes.extend(collect(pending, WAIT).await);
        let errors = metric(producer, "record-error-total");
        (outcomes, errors)
    });
    let mut failed = Vec::new();
    let mut delivered = Vec::new();
    for (i, result) in outcomes {
        match result {
            Ok(md) => {
                if FAULTY.contains(&i) {
                    eprintln!("record {i} delivered to partition {}", md.partition());
                }
                delivered.push((i, md));
            }
            Err(e) if e.kind() == ErrorKind::Broker => {
                let (Some(got), Some(topic), Some(partition)) =
                    (e.kafka_code(), e.topic(), e.partition())
                else {
                    panic!("record {i}: a broker error names its code, topic and partition: {e:?}")
                };
                assert_eq!(got, code, "record {i}: {e}");
                assert_eq!(topic, TOPIC);
                assert!((0..PARTITIONS).contains(&partition));
                let name = code.name().expect("a known code");
                assert!(e.to_string().contains(name), "{e} names {name}");
                failed.push(i);
                eprintln!("record {i} failed on partition {partition}");
            }
            Err(e) => panic!("record {i}: expected Ok or a Broker error, got {e:?}"),
        }
    }
    eprintln!(
        "{code:?} {mode:?}: failed records {failed:?}, record-error-total {errors}, {:?}",
        started.elapsed()
    );
    // Which records the failed request carried depends on which leader's connection was ready
    // first (the mock's leaders are random); it can only be some of the records sent right
    // after the injection.
    assert!(
        !failed.is_empty() && failed.iter().all(|i| FAULTY.contains(i)),
        "only records of the failed request failed, and some did: {failed:?}"
    );
    assert_eq!(errors, as_f64(failed.len()), "record-error-total");
    assert_eq!(delivered.len() + failed.len(), RECORDS);
    assert!(
        delivered.iter().any(|(i, _)| *i == RECORDS - 1),
        "later records delivered"
    );
    assert_log_matches(&bootstrap, &delivered, Order::Send);
}

#[test]
fn invalid_record_fails_those_records_only_strict() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_RECORD,
        ErrorCode::INVALID_RECORD,
        Mode::Strict,
    );
}

#[test]
fn invalid_record_fails_those_records_only_idempotent() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_RECORD,
        ErrorCode::INVALID_RECORD,
        Mode::Idempotent,
    );
}

#[test]
fn topic_authorization_failed_fails_those_records_only_strict() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
        Mode::Strict,
    );
}

#[test]
fn topic_authorization_failed_fails_those_records_only_idempotent() {
    non_retriable(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
        Mode::Idempotent,
    );
}
