//! ferrokafka's own `Producer` against the fake over TCP: idempotent and transactional
//! (transactions v1 and v2), read back exactly by librdkafka's consumer, aborted records
//! invisible to read_committed, transactional offsets visible to OffsetFetch after the commit.

use std::time::Duration;

use ferrokafka::{GroupMetadata, OffsetToCommit, Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer, TxnStatus};
use ferrokafka_tests::consume::{Isolation, read_back};

const TIMEOUT: Duration = Duration::from_secs(30);

async fn read(
    bootstrap: String,
    topic: &'static str,
    n: usize,
    isolation: Isolation,
) -> Vec<(i32, i64, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        read_back(&bootstrap, topic, n, TIMEOUT, isolation)
            .expect("read back")
            .into_iter()
            .map(|r| (r.partition, r.offset, r.value.unwrap_or_default()))
            .collect()
    })
    .await
    .expect("read task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokafka_produces_idempotently_and_reads_back_exactly() {
    let fake = FakeServer::start(
        ClusterConfig::builder()
            .brokers(3)
            .topic("orders", 4)
            .build(),
    )
    .await
    .expect("fake");
    let config = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .set("linger.ms", "2")
        .build()
        .expect("config");
    let producer = Producer::new(config).expect("producer");
    let n = 400;
    let mut deliveries = Vec::new();
    for i in 0..n {
        deliveries.push(
            producer
                .send(
                    ProducerRecord::new("orders")
                        .with_key(format!("k{}", i % 13))
                        .with_value(format!("{i}")),
                )
                .await
                .expect("send"),
        );
    }
    let mut acked = Vec::new();
    for d in deliveries {
        let md = d.await.expect("delivered");
        acked.push((md.partition(), md.offset().expect("offset")));
    }
    producer.close(TIMEOUT).await;
    acked.sort_unstable();

    let records = read(fake.bootstrap(), "orders", n, Isolation::ReadUncommitted).await;
    assert_eq!(records.len(), n, "exactly once");
    let read_positions: Vec<(i32, i64)> = records.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        read_positions, acked,
        "the acknowledged offsets are the ones read"
    );
    let mut values: Vec<u32> = records
        .iter()
        .map(|r| std::str::from_utf8(&r.2).unwrap().parse().unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, (0..n as u32).collect::<Vec<_>>());
}

async fn transactions(v2: bool) {
    let fake = FakeServer::start(
        ClusterConfig::builder()
            .brokers(3)
            .topic("payments", 3)
            .transactions_v2(v2)
            .build(),
    )
    .await
    .expect("fake");
    let txn_id = if v2 { "pay-v2" } else { "pay-v1" };
    let config = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .set("transactional.id", txn_id)
        .build()
        .expect("config");
    let producer = Producer::new(config).expect("producer");
    producer.init_transactions().await.expect("init");
    for (round, commit) in [(0, true), (1, false), (2, true)] {
        producer.begin_transaction().expect("begin");
        let mut deliveries = Vec::new();
        for i in 0..15 {
            let value = format!("{}-{round}-{i}", if commit { "c" } else { "a" });
            deliveries.push(
                producer
                    .send(
                        ProducerRecord::new("payments")
                            .with_key(format!("k{i}"))
                            .with_value(value),
                    )
                    .await
                    .expect("send"),
            );
        }
        producer
            .send_offsets_to_transaction(
                vec![OffsetToCommit {
                    topic: "requests".into(),
                    partition: 0,
                    offset: 100 + round,
                    leader_epoch: None,
                    metadata: None,
                }],
                GroupMetadata::new("payments-service"),
            )
            .await
            .expect("send offsets");
        if commit {
            producer.commit_transaction().await.expect("commit");
            for d in deliveries {
                d.await.expect("committed record delivered");
            }
        } else {
            producer.flush(TIMEOUT).await.expect("flush");
            producer.abort_transaction().await.expect("abort");
        }
    }
    producer.close(TIMEOUT).await;

    let committed = read(fake.bootstrap(), "payments", 30, Isolation::ReadCommitted).await;
    assert_eq!(committed.len(), 30, "two committed transactions of 15");
    assert!(
        committed.iter().all(|r| r.2.starts_with(b"c-")),
        "aborted records are invisible to read_committed"
    );
    let all = read(fake.bootstrap(), "payments", 45, Isolation::ReadUncommitted).await;
    assert_eq!(all.len(), 45);

    let (state, offset) = fake.with_cluster(|c| {
        (
            c.transaction(txn_id).expect("state"),
            c.committed_offset("payments-service", "requests", 0),
        )
    });
    assert_eq!((state.commits, state.aborts), (2, 1));
    assert_eq!(state.status, TxnStatus::CompleteCommit);
    // The offsets of the aborted round (101) never became visible; the last commit's did.
    assert_eq!(offset, Some(102));
    if v2 {
        // Transactions v2: every EndTxn bumped the epoch (init gave epoch 0).
        assert_eq!(state.producer_epoch, 3, "{state:?}");
    } else {
        assert_eq!(state.producer_epoch, 0, "{state:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokafka_transactions_v1_commit_abort_read_committed() {
    transactions(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokafka_transactions_v2_commit_abort_read_committed() {
    transactions(true).await;
}
