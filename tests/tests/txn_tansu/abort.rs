//! Aborts on Tansu: records still queued at the abort never reach the broker (seen through the
//! recording proxy), and an abort racing records in flight leaves exactly the delivered ones
//! before the ABORT marker.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka::ErrorKind;
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::txn::{
    delivered_at, end, keys_of, outcomes_after_abort, send_burst, send_tracked,
};
use ferrokafka_tests::wait::poll_now;

use super::raw_log::{ABORT, COMMIT, Seg, data, first_producer, marker, raw_log};
use super::recorded::{
    API_ADD_PARTITIONS_TO_TXN, API_END_TXN, API_PRODUCE, RecordedTansu, Request,
};
use super::{WAIT, read_keys, ready, tansu_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_records_fail_with_transaction_aborted() {
    const QUEUED: usize = 40;
    let (broker, bootstrap) = RecordedTansu::with_topic("unsent", 2);
    // A linger far longer than the test: nothing is sent unless flushed or committed.
    let p = ready(&bootstrap, "tx-unsent", &[("linger.ms", "60000")]).await;
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    for i in 0..QUEUED {
        let part = (i % 2) as i32;
        futures.push(send(&p, record("unsent", part, &format!("dropped-{i}"), "x")).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, f) in futures.iter_mut().enumerate() {
        assert!(
            poll_now(f).is_none(),
            "record #{i} resolved before the abort"
        );
    }
    let before_abort = broker.requests().len();
    end(&p, false, WAIT).await;
    let after_abort = broker.requests().len();
    for (i, f) in futures.iter_mut().enumerate() {
        match poll_now(f) {
            Some(Err(e)) if e.kind() == ErrorKind::TransactionAborted => {}
            other => panic!("record #{i}: expected TransactionAborted, got {other:?}"),
        }
    }

    // What the producer sent for the aborted transaction: the partitions were added when the
    // records were queued (as Java does), no Produce request, then EndTxn(abort).
    let requests = broker.requests();
    let aborted_txn: Vec<&Request> = requests[..after_abort]
        .iter()
        .filter(|r| {
            matches!(
                r.api_key,
                API_PRODUCE | API_ADD_PARTITIONS_TO_TXN | API_END_TXN
            )
        })
        .collect();
    let summary: Vec<(i16, i16)> = aborted_txn.iter().map(|r| (r.api_key, r.version)).collect();
    eprintln!("unsent: requests of the aborted transaction (api key, version): {summary:?}");
    let added: Vec<String> = aborted_txn
        .iter()
        .filter(|r| r.api_key == API_ADD_PARTITIONS_TO_TXN)
        .flat_map(|r| r.added_partitions())
        .collect();
    assert_eq!(added, ["unsent/0", "unsent/1"], "{summary:?}");
    assert!(
        requests[..before_abort]
            .iter()
            .any(|r| r.api_key == API_ADD_PARTITIONS_TO_TXN),
        "AddPartitionsToTxn went out before the abort"
    );
    assert!(
        aborted_txn.iter().all(|r| r.api_key != API_PRODUCE),
        "a queued record was sent: {summary:?}"
    );
    let end_txn = aborted_txn.last().expect("requests");
    assert_eq!(end_txn.api_key, API_END_TXN, "{summary:?}");
    assert!(!end_txn.end_txn_committed(), "EndTxn(abort)");

    // The producer goes on: a committed transaction after the aborted one.
    p.begin_transaction().expect("begin after abort");
    let mut futures = Vec::new();
    for i in 0..4 {
        let part = i % 2;
        futures.push(send(&p, record("unsent", part, &format!("kept-{i}"), "y")).await);
    }
    end(&p, true, WAIT).await;
    await_all(futures, WAIT).await;

    // Only the committed records ever reached the broker.
    let mut keys = read_keys(&bootstrap, "unsent", 4, Isolation::ReadUncommitted).await;
    keys.sort();
    assert_eq!(keys, ["kept-0", "kept-1", "kept-2", "kept-3"]);
    let logs = raw_log(&bootstrap, "unsent", 2).await;
    for (part, log) in &logs {
        let (pid, epoch) = first_producer(log);
        let kept = vec![format!("kept-{part}"), format!("kept-{}", part + 2)];
        // Tansu 0.6.0 behaviour, pinned: the EndTxn(abort) of a transaction that wrote no data
        // leaves no ABORT marker, although both partitions were added to it (a Kafka broker
        // writes a marker to every partition added to the transaction; harmless either way).
        assert_eq!(
            log,
            &vec![data(pid, epoch, kept), marker(pid, epoch, COMMIT)],
            "unsent/{part}: raw log"
        );
    }
    p.close(WAIT).await;
}

/// Abort right after a burst of sends (no linger): some records are in flight, some queued.
/// Every future resolves, delivered or `TransactionAborted`; what was delivered is exactly what
/// the log holds before the ABORT marker; the next transaction commits.
///
/// Whether the abort overtakes the ten late records (queued behind partition 2's
/// AddPartitionsToTxn) depends on scheduling: on a loaded machine the driver may send them before
/// the test thread calls `abort_transaction`. Each attempt (its own topic and transactional id)
/// checks everything above; the test waits, over at most five attempts, for one in which the
/// abort overtook them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_with_records_in_flight() {
    let (broker, bootstrap) = tansu_with("race-0", 3);
    let mut overtaken = Vec::new();
    for attempt in 0..5 {
        let topic = format!("race-{attempt}");
        if attempt > 0 {
            broker.create_topic(&topic, 3).expect("create topic");
        }
        let aborted = abort_race(&bootstrap, &topic).await;
        overtaken.push(aborted);
        if aborted >= 10 {
            return;
        }
    }
    panic!("the late records were sent before the abort in every attempt (aborted: {overtaken:?})");
}

/// One attempt of [`abort_with_records_in_flight`] on `topic`; returns how many records failed
/// unsent.
async fn abort_race(bootstrap: &str, topic: &str) -> usize {
    const BURST: usize = 3000;
    const PARTITIONS: i32 = 3;
    let extra = [("linger.ms", "0"), ("batch.size", "2048")];
    let p = ready(bootstrap, &format!("tx-{topic}"), &extra).await;
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    // Once the first record is acknowledged both partitions are in the transaction and the
    // records flow; the abort then lands in the middle of the burst.
    for i in 0..2 {
        send_tracked(
            &p,
            &mut futures,
            (topic, i % 2),
            (format!("first-{i}"), "f"),
        )
        .await;
    }
    delivered_at(&mut futures, 1, "the first delivery", WAIT).await;
    send_burst(&p, &mut futures, (topic, 2), BURST).await;
    // Partition 2 joins the transaction only now: its records wait for AddPartitionsToTxn,
    // which the abort overtakes, so some records are certainly still queued.
    for i in 0..10 {
        send_tracked(&p, &mut futures, (topic, 2), (format!("late-{i}"), "l")).await;
    }
    end(&p, false, WAIT).await;
    let (delivered, aborted) = outcomes_after_abort(futures);
    let sent: usize = delivered.values().map(Vec::len).sum();
    eprintln!("race: {sent} delivered before the abort, {aborted} failed unsent");
    assert_eq!(sent + aborted, BURST + 12);

    p.begin_transaction().expect("begin after abort");
    let after = send(&p, record(topic, 0, "after", "a")).await;
    end(&p, true, WAIT).await;
    await_all(vec![after], WAIT).await;

    let delivered: BTreeMap<i32, Vec<String>> = keys_of(&delivered);
    let logs = raw_log(bootstrap, topic, PARTITIONS).await;
    for (part, log) in &logs {
        let (pid, epoch) = log
            .iter()
            .find_map(|s| match s {
                Seg::Marker {
                    producer_id, epoch, ..
                } => Some((*producer_id, *epoch)),
                Seg::Data { .. } => None,
            })
            .unwrap_or((-1, -1));
        let mut want = Vec::new();
        if let Some(keys) = delivered.get(part) {
            want.push(data(pid, epoch, keys.clone()));
            // Tansu writes markers only where the transaction wrote data (see
            // `unsent_records_fail_with_transaction_aborted`).
            want.push(marker(pid, epoch, ABORT));
        }
        if *part == 0 {
            want.push(data(pid, epoch, vec!["after".into()]));
            want.push(marker(pid, epoch, COMMIT));
        }
        assert_eq!(log, &want, "{topic}/{part}: raw log");
    }
    p.close(WAIT).await;
    aborted
}
