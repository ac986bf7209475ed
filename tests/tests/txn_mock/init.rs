//! InitProducerId and FindCoordinator errors: retriable and coordinator-moving codes are
//! retried, an authorization failure is abortable (init may be called again), `PRODUCER_FENCED`
//! is fatal.

use std::time::Instant;

use ferrokafka::ErrorKind;
use ferrokafka_tests::mock::clear_errors;
use ferrokafka_tests::txn::assert_begin_fatal;

use super::{Api, E, assert_fatal, bounded, cluster, committed_txn, init, record, txn_kind};

/// `errors` on `api` before the producer's first `init_transactions`, which must succeed
/// (timed); then a transaction of `records` records commits.
fn init_recovers(brokers: i32, api: Api, errors: &[E], records: usize) {
    let c = cluster(brokers);
    c.inject(api, errors);
    let s = c.session(&[]);
    let delivered = s.run(async {
        let started = Instant::now();
        init(&s.p)
            .await
            .unwrap_or_else(|e| panic!("init_transactions after {errors:?}: {e:?}"));
        eprintln!("init_transactions took {:?}", started.elapsed());
        committed_txn(&s.p, 0..records).await
    });
    s.close();
    c.assert_committed(&delivered);
}

#[test]
fn init_producer_id_retriable_errors_are_retried() {
    init_recovers(
        3,
        Api::InitProducerId,
        &[
            E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
            E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
        ],
        30,
    );
}

#[test]
fn find_coordinator_not_available_is_retried() {
    init_recovers(
        3,
        Api::FindCoordinator,
        &[
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        ],
        30,
    );
}

#[test]
fn init_producer_id_authorization_failure_is_abortable_and_init_can_be_called_again() {
    let c = cluster(1);
    c.inject(
        Api::InitProducerId,
        &[E::RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
    );
    let s = c.session(&[]);
    let delivered = s.run(async {
        // Java's InitProducerIdHandler puts a transactional producer in ABORTABLE_ERROR on an
        // authorization failure (so that init can be retried once the ACLs are fixed).
        assert_eq!(
            txn_kind("init_transactions", init(&s.p).await),
            ErrorKind::TransactionAbortable
        );
        assert!(
            s.p.begin_transaction().is_err(),
            "no transaction without an id"
        );
        init(&s.p).await.expect("init_transactions again");
        committed_txn(&s.p, 0..10).await
    });
    s.close();
    c.assert_committed(&delivered);
}

#[test]
fn init_producer_id_fenced_is_fatal() {
    let c = cluster(1);
    c.inject(Api::InitProducerId, &[E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED]);
    let s = c.session(&[]);
    s.run(async {
        assert_fatal("init_transactions", init(&s.p).await);
        // Fatal is sticky: nothing works any more.
        assert_fatal("init_transactions again", init(&s.p).await);
        assert_begin_fatal(&s.p, "begin_transaction after a fatal init");
        assert!(bounded("send", s.p.send(record(0, None))).await.is_err());
    });
    s.close();
    clear_errors(&c.mock, Api::InitProducerId);
    c.assert_log_empty();
}
