//! Committed transactions on Tansu: one spanning partitions and topics (the last stable offset
//! while it is open, the raw log after), an abort then a commit (their markers, and Tansu's
//! read_committed limitation, pinned), and transactions in a row.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use ferrokafka::Producer;
use ferrokafka_tests::consume::{Isolation, by_partition};
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::txn::{
    assert_offsets_from_zero, end, keys_of, send_spanning, transactions_in_a_row, utf8, view,
};

use super::raw_log::{ABORT, COMMIT, committed_view, data, first_producer, marker, raw_log};
use super::{WAIT, read, ready, tansu_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_spans_partitions_and_topics() {
    const PER_PARTITION: usize = 40;
    let (broker, bootstrap) = tansu_with("orders", 3);
    broker.create_topic("audit", 2).expect("create topic");
    let topics = [("orders".to_owned(), 3), ("audit".to_owned(), 2)];
    let p = ready(&bootstrap, "tx-span", &[("linger.ms", "5")]).await;
    p.begin_transaction().expect("begin");
    // Interleaved over the five partitions, so every request carries several of them.
    let (expected, futures) = send_spanning(&p, &topics, PER_PARTITION, |t, part, i| {
        (format!("{t}-{part}-k{i}"), format!("{t}-{part}-v{i}"))
    })
    .await;
    // Acknowledged while the transaction is open: the records are in the log, but the last
    // stable offset stays at the transaction's first record.
    let metadata = await_all(futures, WAIT).await;
    for (t, n) in &topics {
        for part in 0..*n {
            let (hw, lso, _) = committed_view(&bootstrap, t, part).await;
            assert_eq!(
                (hw, lso),
                (PER_PARTITION as i64, 0),
                "{t}/{part} before the commit: (high watermark, last stable offset)"
            );
        }
    }
    let started = Instant::now();
    end(&p, true, WAIT).await;
    eprintln!("span: commit took {:?}", started.elapsed());

    // The offsets the producer reported are consecutive from 0 per partition.
    assert_offsets_from_zero(&metadata);

    for (t, n) in &topics {
        let total = PER_PARTITION * *n as usize;
        for isolation in [Isolation::ReadUncommitted, Isolation::ReadCommitted] {
            let got = read(&bootstrap, t, total, isolation).await;
            assert_eq!(got.len(), total, "{t} {isolation:?}: record count");
            for (part, rs) in by_partition(&got) {
                let offsets: Vec<i64> = rs.iter().map(|r| r.offset).collect();
                let want: Vec<i64> = (0..PER_PARTITION as i64).collect();
                assert_eq!(offsets, want, "{t}/{part} {isolation:?}: offsets");
            }
            assert_eq!(view(&got), expected[t], "{t} {isolation:?}: records");
        }
        // The committed view now reaches the end of the log (the marker included).
        for part in 0..*n {
            let (hw, lso, aborted) = committed_view(&bootstrap, t, part).await;
            assert_eq!(
                (hw, lso),
                (PER_PARTITION as i64 + 1, PER_PARTITION as i64 + 1)
            );
            assert_eq!(aborted, Some(Vec::new()));
        }
    }

    // The raw log of every partition: this producer's transactional data, then its COMMIT.
    let mut producers = BTreeSet::new();
    for (t, n) in &topics {
        let logs = raw_log(&bootstrap, t, *n).await;
        let keys = keys_of(&expected[t]);
        for (part, log) in &logs {
            let (pid, epoch) = first_producer(log);
            assert!(pid >= 0 && epoch >= 0, "{t}/{part}: stamped {pid}/{epoch}");
            producers.insert((pid, epoch));
            assert_eq!(
                log,
                &vec![
                    data(pid, epoch, keys[part].clone()),
                    marker(pid, epoch, COMMIT)
                ],
                "{t}/{part}: raw log"
            );
        }
    }
    assert_eq!(
        producers.len(),
        1,
        "one producer id and epoch: {producers:?}"
    );
    p.close(WAIT).await;
}

/// `n` keys `<tag>-<part>-<i>`.
fn keys(tag: &str, part: i32, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag}-{part}-{i}")).collect()
}

/// Begins a transaction and sends `keys(tag, part, n)` to each of `partitions` partitions of
/// `topic` (value `value`); returns the delivery futures.
async fn sent_to_each(
    p: &Producer,
    (topic, partitions): (&str, i32),
    (tag, n, value): (&str, usize, &str),
) -> Vec<ferrokafka::DeliveryFuture> {
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    for part in 0..partitions {
        for k in keys(tag, part, n) {
            futures.push(send(p, record(topic, part, &k, value)).await);
        }
    }
    futures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_marker_then_commit_marker() {
    const ABORTED: usize = 15;
    const COMMITTED: usize = 10;
    const PARTITIONS: i32 = 2;
    let (_broker, bootstrap) = tansu_with("abort", 2);
    let p = ready(&bootstrap, "tx-abort", &[("linger.ms", "5")]).await;

    // Transaction A: sent and acknowledged, then aborted.
    let futures = sent_to_each(&p, ("abort", PARTITIONS), ("aborted", ABORTED, "a")).await;
    let acked = await_all(futures, WAIT).await;
    assert!(acked.iter().all(|md| md.offset().is_some()));
    end(&p, false, WAIT).await;

    // Transaction B: committed.
    let futures = sent_to_each(&p, ("abort", PARTITIONS), ("committed", COMMITTED, "c")).await;
    end(&p, true, WAIT).await;
    let committed = await_all(futures, WAIT).await;
    // After the aborted records and the ABORT marker.
    for md in &committed {
        let offset = md.offset().expect("offset");
        assert!(offset > ABORTED as i64, "{md:?}");
    }

    let logs = raw_log(&bootstrap, "abort", PARTITIONS).await;
    for (part, log) in &logs {
        let (pid, epoch) = first_producer(log);
        assert_eq!(
            log,
            &vec![
                data(pid, epoch, keys("aborted", *part, ABORTED)),
                marker(pid, epoch, ABORT),
                data(pid, epoch, keys("committed", *part, COMMITTED)),
                marker(pid, epoch, COMMIT),
            ],
            "abort/{part}: raw log"
        );
    }

    // read_uncommitted sees both transactions' records (this is Kafka behaviour too).
    let total = (ABORTED + COMMITTED) * PARTITIONS as usize;
    let all = read(&bootstrap, "abort", total, Isolation::ReadUncommitted).await;
    assert_eq!(all.len(), total);

    // --- PEER LIMITATION (Tansu 0.6.0), pinned on purpose ----------------------------------
    // A Kafka broker lists the aborted transaction (producer id, first offset 0) in a
    // read_committed Fetch, and a read_committed consumer skips its records. Tansu 0.6.0 writes
    // the ABORT marker (asserted above) but lists no aborted transaction, so librdkafka's
    // read_committed consumer returns the aborted records too. When Tansu fixes this these
    // assertions fail: then assert that read_committed returns only the committed records.
    let end_offset = (ABORTED + COMMITTED + 2) as i64;
    for part in 0..PARTITIONS {
        let (hw, lso, aborted) = committed_view(&bootstrap, "abort", part).await;
        assert_eq!((hw, lso), (end_offset, end_offset), "abort/{part}");
        assert_eq!(
            aborted,
            Some(Vec::new()),
            "abort/{part}: Tansu now lists aborted transactions; update this test"
        );
    }
    let seen = read(&bootstrap, "abort", 0, Isolation::ReadCommitted).await;
    assert_eq!(
        view(&seen),
        view(&all),
        "Tansu now hides aborted records from read_committed; update this test"
    );
    p.close(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_in_a_row_all_commit_in_order() {
    const TXNS: usize = 5;
    const PER_TXN: usize = 200;
    const PARTITIONS: i32 = 3;
    let (_broker, bootstrap) = tansu_with("row", 3);
    let extra = [("linger.ms", "5"), ("batch.size", "4096")];
    let p = ready(&bootstrap, "tx-row", &extra).await;
    let started = Instant::now();
    let txns = transactions_in_a_row(&p, "row", (TXNS, PER_TXN, 50), WAIT).await;
    eprintln!("row: {TXNS} transactions took {:?}", started.elapsed());
    // Per partition, the keys in send order, and per transaction.
    let mut sent: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let mut per_txn: Vec<BTreeMap<i32, Vec<String>>> = Vec::new();
    let mut metadata = Vec::new();
    for txn in txns {
        let mut this_txn: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for (part, records) in txn {
            for (key, _, md) in records {
                sent.entry(part).or_default().push(key.clone());
                this_txn.entry(part).or_default().push(key.clone());
                metadata.push((key, md));
            }
        }
        per_txn.push(this_txn);
    }

    let total = TXNS * PER_TXN;
    let got = read(&bootstrap, "row", total, Isolation::ReadCommitted).await;
    assert_eq!(got.len(), total, "record count");
    let distinct: BTreeSet<&[u8]> = got.iter().filter_map(|r| r.key.as_deref()).collect();
    assert_eq!(distinct.len(), total, "no duplicates");
    assert_eq!(keys_of(&view(&got)), sent, "per-partition order");
    // The offsets the producer reported are the offsets read.
    let read_at: BTreeMap<String, (i32, i64)> = got
        .iter()
        .map(|r| (utf8(r.key.as_deref()), (r.partition, r.offset)))
        .collect();
    for (key, md) in &metadata {
        assert_eq!(
            Some(read_at[key]),
            md.offset().map(|o| (md.partition(), o)),
            "{key}"
        );
    }

    // Raw: per partition, each transaction's data followed by a COMMIT marker; one producer id
    // and epoch; base sequences continue across transactions (checked by `segments`).
    let logs = raw_log(&bootstrap, "row", PARTITIONS).await;
    for (part, log) in &logs {
        let (pid, epoch) = first_producer(log);
        let mut want = Vec::new();
        for txn in &per_txn {
            if let Some(keys) = txn.get(part) {
                want.push(data(pid, epoch, keys.clone()));
                want.push(marker(pid, epoch, COMMIT));
            }
        }
        assert_eq!(log, &want, "row/{part}: raw log");
    }
    p.close(WAIT).await;
}
