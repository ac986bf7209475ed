//! The transaction lifecycle under load and faults: concurrent commit calls, `close` with a
//! transaction open, an abort with Produce requests in flight, empty transactions, and thirty
//! transactions through rotating faults.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ferrokafka::ErrorKind;
use ferrokafka_tests::consume::{Isolation, read_back};
use ferrokafka_tests::data::index_of;
use ferrokafka_tests::mock::{inject_produce_errors, move_leader};
use ferrokafka_tests::wait::poll_now;

use super::{
    Api, E, PARTITIONS, SMALL_BATCHES, TOPIC, WAIT, abort, all_delivered, bounded, cluster, commit,
    committed_txn, outcomes, send_range,
};

/// Two tasks commit the same transaction at once: both get its outcome.
#[test]
fn concurrent_commit_calls_share_the_outcome() {
    let c = cluster(3);
    let delivered = c.with_txn(&[], async |p| {
        c.inject(Api::EndTxn, &[E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS]);
        p.begin_transaction().expect("begin");
        let pending = send_range(p, 0..30, None).await;
        let (a, b) = tokio::join!(commit(p), commit(p));
        a.expect("first commit call");
        b.expect("second commit call");
        all_delivered(outcomes(pending).await)
    });
    c.assert_committed(&delivered);
}

/// `close` with a transaction open: every delivery future resolves within the close timeout.
#[test]
fn close_with_an_open_transaction_resolves_every_delivery() {
    let c = cluster(3);
    let s = c.ready(&[("linger.ms", "1000")]);
    let p = &s.p;
    s.run(async {
        p.begin_transaction().expect("begin");
        let mut pending = send_range(p, 0..30, None).await;
        bounded("close", p.close(Duration::from_secs(3))).await;
        // Every delivery is resolved by the time close returns: each future is ready on its
        // first poll, without waiting for anything.
        let resolved: Vec<_> = pending
            .iter_mut()
            .map(|(i, delivery)| {
                let outcome = poll_now(delivery)
                    .unwrap_or_else(|| panic!("record {i} still pending after close returned"));
                (*i, outcome)
            })
            .collect();
        eprintln!(
            "close: {} of {} delivered",
            resolved.iter().filter(|(_, r)| r.is_ok()).count(),
            resolved.len()
        );
        assert!(p.begin_transaction().is_err(), "closed");
    });
}

/// Thirty transactions in a row through a rotating set of faults, every fourth one aborted
/// after its records were written: the committed records are in the log exactly once, in send
/// order per partition, and nothing else but records of the aborted transactions.
#[test]
fn thirty_transactions_through_rotating_faults() {
    const PER_TXN: usize = 40;
    let c = cluster(3);
    c.set_coordinator(1);
    let s = c.ready(&SMALL_BATCHES);
    let p = &s.p;
    let mut delivered = Vec::new();
    let mut aborted = BTreeSet::new();
    let started = Instant::now();
    for n in 0..30usize {
        let step = i32::try_from(n).expect("small");
        match n % 6 {
            1 => c.inject(
                Api::AddPartitionsToTxn,
                &[E::RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS],
            ),
            2 => c.inject(
                Api::EndTxn,
                &[E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS],
            ),
            3 => inject_produce_errors(
                &c.mock,
                &[
                    E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                    E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                ],
            ),
            4 => move_leader(&c.mock, TOPIC, step % PARTITIONS, step % 3 + 1).expect("move"),
            5 => c.set_coordinator(step % 3 + 1),
            _ => {}
        }
        let range = n * 1000..n * 1000 + PER_TXN;
        let abort_it = n % 4 == 3;
        s.run(async {
            p.begin_transaction()
                .unwrap_or_else(|e| panic!("begin {n}: {e:?}"));
            let pending = send_range(p, range.clone(), None).await;
            if abort_it {
                bounded("flush", p.flush(WAIT)).await.expect("flush");
                abort(p)
                    .await
                    .unwrap_or_else(|e| panic!("abort {n}: {e:?}"));
                aborted.extend(range.clone());
                drop(outcomes(pending).await);
            } else {
                commit(p)
                    .await
                    .unwrap_or_else(|e| panic!("commit {n}: {e:?}"));
                delivered.extend(all_delivered(outcomes(pending).await));
            }
        });
    }
    eprintln!("30 transactions in {:?}", started.elapsed());
    s.close();
    c.assert_log(&delivered, &aborted);
}

/// `abort_transaction` while Produce requests are in flight (slow brokers): what was in flight
/// is awaited, what was not sent fails `TransactionAborted`, and the next transaction commits.
#[test]
fn abort_with_produce_requests_in_flight() {
    let c = cluster(3);
    let s = c.ready(&[("batch.size", "256")]);
    let p = &s.p;
    let mut delivered = s.run(committed_txn(p, 0..30));
    c.mock
        .broker_round_trip_time(-1, Duration::from_millis(300))
        .expect("rtt");
    let outcomes1 = s.run(async {
        p.begin_transaction().expect("begin 2");
        let pending = send_range(p, 100..400, None).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        abort(p).await.expect("abort 2");
        outcomes(pending).await
    });
    c.mock
        .broker_round_trip_time(-1, Duration::ZERO)
        .expect("rtt");
    let (mut written, mut aborted_unsent) = (0, 0);
    for (i, r) in &outcomes1 {
        match r {
            Ok(_) => written += 1,
            Err(e) if e.kind() == ErrorKind::TransactionAborted => aborted_unsent += 1,
            Err(e) => panic!("record {i}: {e:?}"),
        }
    }
    eprintln!("aborted transaction: {written} records written, {aborted_unsent} never sent");
    delivered.extend(s.run(committed_txn(p, 500..560)));
    s.close();
    let aborted: BTreeSet<usize> = super::indices(&outcomes1);
    c.assert_log(&delivered, &aborted);
    // Only the records reported written can be in the log.
    let read = read_back(&c.bootstrap, TOPIC, 0, WAIT, Isolation::ReadUncommitted).expect("read");
    let in_log = read
        .iter()
        .filter(|r| index_of(r.value.as_deref()).is_some_and(|i| aborted.contains(&i)))
        .count();
    assert_eq!(
        in_log, written,
        "aborted records in the log = those reported written"
    );
}

#[test]
fn empty_transactions_commit_and_abort() {
    let c = cluster(3);
    let delivered = c.with_txn(&[], async |p| {
        p.begin_transaction().expect("begin 1");
        commit(p).await.expect("empty commit");
        p.begin_transaction().expect("begin 2");
        abort(p).await.expect("empty abort");
        committed_txn(p, 0..20).await
    });
    c.assert_committed(&delivered);
}
