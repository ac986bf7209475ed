//! Committed and aborted transactions as consumers see them: spanning partitions and topics,
//! interleaved aborts and commits, several in a row, two producers interleaved, every codec.

use std::collections::BTreeMap;

use ferrokafka::Producer;
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::producing::await_all;
use ferrokafka_tests::txn::{
    View, assert_offsets_from_zero, end, send_noted, send_spanning,
    transactions_in_a_row as in_a_row, utf8, view,
};

use super::{Case, WAIT, assert_visible, assert_visible_both, read_both, read_java};

/// One transaction over three partitions of one topic and two of another: invisible to
/// `read_committed` while open, then every record exactly once, in order, at the offsets the
/// producer reported, for both consumers.
pub(super) async fn commit_spans_partitions_and_topics(case: Case) {
    const PER_PARTITION: usize = 8;
    let topics = [(case.topic("orders", 3), 3), (case.topic("audit", 2), 2)];
    let p = case.ready(&case.name("txn"), &[("linger.ms", "5")]).await;
    p.begin_transaction().expect("begin");
    let (expected, futures) = send_spanning(&p, &topics, PER_PARTITION, |t, part, i| {
        (format!("{t}-{part}-k{i}"), format!("v{i}"))
    })
    .await;
    let metadata = await_all(futures, WAIT).await;
    // Acknowledged but open: read_committed sees nothing, read_uncommitted everything.
    for (t, _) in &topics {
        assert_visible_both(&case, t, &View::new(), &expected[t]);
    }
    end(&p, true, WAIT).await;

    assert_offsets_from_zero(&metadata);
    for (t, _) in &topics {
        assert_visible(&case, t, Isolation::ReadCommitted, &expected[t]);
        let got = read_both(&case, t, 0, Isolation::ReadCommitted);
        for r in &got {
            assert!(r.offset < PER_PARTITION as i64, "{t}: {r:?}");
        }
    }
    p.close(WAIT).await;
}

/// `per_txn` records of transaction `tag` to each of `partitions` partitions of `topic`
/// (`<tag>-<partition>-<i>`, the value `value(i)`), noted in `all` and, if it is to commit, in
/// `committed`; acknowledged, then the transaction ends (committed or aborted).
async fn one_transaction(
    p: &Producer,
    (topic, partitions): (&str, i32),
    (tag, per_txn, commit): (&str, usize, bool),
    value: impl Fn(usize) -> String,
    (committed, all): (&mut View, &mut View),
) {
    p.begin_transaction().expect("begin");
    let mut futures = Vec::new();
    for i in 0..per_txn {
        for part in 0..partitions {
            let (k, v) = (format!("{tag}-{part}-{i}"), value(i));
            let views: &mut [&mut View] = if commit {
                &mut [&mut *all, &mut *committed]
            } else {
                &mut [&mut *all]
            };
            futures.push(send_noted(p, (topic, part), (&k, &v), views).await);
        }
    }
    // Acknowledged before the transaction ends: the records are in the log either way.
    await_all(futures, WAIT).await;
    end(p, commit, WAIT).await;
}

/// Aborted transactions interleaved with committed ones in the same partitions: read_committed
/// consumers see only the committed records, in order; read_uncommitted ones see everything.
pub(super) async fn aborted_records_are_invisible(case: Case) {
    const PARTITIONS: i32 = 2;
    const PER_TXN: usize = 5;
    let topic = case.topic("abort", PARTITIONS as u32);
    let p = case.ready(&case.name("txn"), &[("linger.ms", "5")]).await;
    let mut committed_view = View::new();
    let mut all_view = View::new();
    // Abort, commit, abort, abort, commit: every outcome follows another of both kinds.
    let plan = [
        ("a0", false),
        ("c1", true),
        ("a2", false),
        ("a3", false),
        ("c4", true),
    ];
    for (tag, commit) in plan {
        one_transaction(
            &p,
            (&topic, PARTITIONS),
            (tag, PER_TXN, commit),
            |_| tag.to_string(),
            (&mut committed_view, &mut all_view),
        )
        .await;
    }
    assert_visible_both(&case, &topic, &committed_view, &all_view);
    p.close(WAIT).await;
}

/// Several transactions in a row (keyed records, several batches each, one commit called twice
/// at once): every record once, in per-partition send order, at the offsets the producer
/// reported.
pub(super) async fn transactions_in_a_row(case: Case) {
    const TXNS: usize = 4;
    const PER_TXN: usize = 40;
    let topic = case.topic("row", 3);
    let extra = [("linger.ms", "5"), ("batch.size", "1024")];
    let p = case.ready(&case.name("txn"), &extra).await;
    let mut sent = View::new();
    let mut offsets: BTreeMap<String, (i32, i64)> = BTreeMap::new();
    for txn in in_a_row(&p, &topic, (TXNS, PER_TXN, 30), WAIT).await {
        for (part, records) in txn {
            for (key, value, md) in records {
                offsets.insert(key.clone(), (part, md.offset().expect("offset")));
                sent.entry(part).or_default().push((key, value));
            }
        }
    }
    assert_visible(&case, &topic, Isolation::ReadCommitted, &sent);
    let got = read_both(&case, &topic, TXNS * PER_TXN, Isolation::ReadCommitted);
    for r in &got {
        let key = utf8(r.key.as_deref());
        assert_eq!(offsets.get(&key), Some(&(r.partition, r.offset)), "{key}");
    }
    p.close(WAIT).await;
}

/// Two transactional producers interleave their records in the same partitions; one aborts,
/// the other commits: read_committed consumers skip exactly the aborted producer's records.
pub(super) async fn interleaved_producers_one_aborts(case: Case) {
    const ROUNDS: usize = 6;
    let topic = case.topic("interleaved", 2);
    let a = case.ready(&case.name("txn-a"), &[("linger.ms", "0")]).await;
    let b = case.ready(&case.name("txn-b"), &[("linger.ms", "0")]).await;
    a.begin_transaction().expect("begin a");
    b.begin_transaction().expect("begin b");
    let mut kept = View::new();
    let mut all = View::new();
    for i in 0..ROUNDS {
        for part in 0..2 {
            // Each record acknowledged before the next: a strict interleaving in the log.
            let (ka, kb) = (format!("a-{part}-{i}"), format!("b-{part}-{i}"));
            let d = send_noted(&a, (&topic, part), (&ka, "a"), &mut [&mut all]).await;
            await_all(vec![d], WAIT).await;
            let d = send_noted(&b, (&topic, part), (&kb, "b"), &mut [&mut all, &mut kept]).await;
            await_all(vec![d], WAIT).await;
        }
    }
    end(&a, false, WAIT).await;
    end(&b, true, WAIT).await;
    a.close(WAIT).await;
    b.close(WAIT).await;
    assert_visible_both(&case, &topic, &kept, &all);
}

/// Every compression codec in a transaction: one committed and one aborted transaction each,
/// several records per batch; the consumers decompress the committed ones and skip the others.
/// zstd is read by the Java consumer only: the harness's librdkafka is built without zstd.
pub(super) async fn compressed_transactions(case: Case) {
    const PER_TXN: usize = 12;
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let topic = case.topic(&format!("compressed-{codec}"), 1);
        let mut want = View::new();
        let mut all = View::new();
        let extra = [("linger.ms", "50"), ("compression.type", codec)];
        let p = case
            .ready(&case.name(&format!("txn-{codec}")), &extra)
            .await;
        for commit in [false, true] {
            one_transaction(
                &p,
                (&topic, 1),
                (&format!("{codec}-{commit}"), PER_TXN, commit),
                |i| format!("{codec} {}", "payload ".repeat(i + 1)),
                (&mut want, &mut all),
            )
            .await;
        }
        p.close(WAIT).await;
        if codec == "zstd" {
            for (isolation, want) in [
                (Isolation::ReadCommitted, &want),
                (Isolation::ReadUncommitted, &all),
            ] {
                let got = read_java(&case, &topic, PER_TXN, isolation);
                assert_eq!(&view(&got), want, "{topic} {isolation:?}");
            }
        } else {
            assert_visible_both(&case, &topic, &want, &all);
        }
    }
}
