//! `send_offsets_to_transaction` on Tansu: the group's offsets are committed with the
//! transaction, not with an aborted one; Tansu drops commit metadata (pinned).

use ferrokafka::{GroupMetadata, OffsetToCommit, Producer};
use ferrokafka_tests::producing::{await_all, record, send};
use ferrokafka_tests::txn::{end, offset};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::{WAIT, bounded, ready, tansu_with};

/// A consumer of `group` that never commits on its own.
fn group_consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer")
}

/// The group's committed offsets for `partitions` of `topic`, read by librdkafka (OffsetFetch).
async fn group_offsets(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<(i32, Offset, Option<String>)> {
    let (b, g, t) = (bootstrap.to_owned(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer = group_consumer(&b, &g);
        let mut tpl = TopicPartitionList::new();
        for part in 0..partitions {
            tpl.add_partition(&t, part);
        }
        let committed = consumer
            .committed_offsets(tpl, WAIT)
            .expect("committed offsets");
        committed
            .elements()
            .iter()
            .map(|e| {
                let metadata = Some(e.metadata().to_owned()).filter(|m| !m.is_empty());
                (e.partition(), e.offset(), metadata)
            })
            .collect()
    })
    .await
    .expect("consumer thread")
}

/// Sends `offsets` of `group` to the open transaction of `p`, which must succeed.
async fn send_offsets(p: &Producer, offsets: Vec<OffsetToCommit>, group: &str) {
    bounded(
        "send_offsets",
        p.send_offsets_to_transaction(offsets, GroupMetadata::new(group)),
    )
    .await
    .unwrap_or_else(|e| panic!("send_offsets_to_transaction ({group}): {e:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_committed_with_the_transaction() {
    let (broker, bootstrap) = tansu_with("consumed", 2);
    broker.create_topic("produced", 1).expect("create topic");
    let p = ready(&bootstrap, "tx-offsets", &[("linger.ms", "5")]).await;

    // Aborted: the offsets must not be committed.
    p.begin_transaction().expect("begin aborted");
    send_offsets(&p, vec![offset("consumed", 0, 1000, None)], "group-aborted").await;
    end(&p, false, WAIT).await;

    // Committed: records and offsets together.
    p.begin_transaction().expect("begin");
    let out = send(&p, record("produced", 0, "result", "r")).await;
    let offsets = vec![
        offset("consumed", 0, 42, Some("m0")),
        offset("consumed", 1, 7, None),
    ];
    send_offsets(&p, offsets, "group-committed").await;
    let pending = group_offsets(&bootstrap, "group-committed", "consumed", 2).await;
    eprintln!("offsets: before the commit: {pending:?}");
    end(&p, true, WAIT).await;
    await_all(vec![out], WAIT).await;

    let committed = group_offsets(&bootstrap, "group-committed", "consumed", 2).await;
    eprintln!("offsets: after the commit: {committed:?}");
    // Tansu 0.6.0 behaviour, pinned: it stores the offsets but returns no commit metadata
    // ("m0" was sent); it drops librdkafka's own OffsetCommit metadata the same way (below).
    assert_eq!(
        committed,
        vec![(0, Offset::Offset(42), None), (1, Offset::Offset(7), None)]
    );
    // Pending transactional offsets were not visible before the commit.
    let none = vec![(0, Offset::Invalid, None), (1, Offset::Invalid, None)];
    assert_eq!(pending, none);
    // librdkafka's OffsetCommit with metadata: Tansu keeps the offset, drops the metadata.
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let consumer = group_consumer(&b, "group-librdkafka");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("consumed", 0, Offset::Offset(5))
            .expect("offset");
        tpl.elements_for_topic("consumed")[0].set_metadata("lib-md");
        consumer
            .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
            .expect("librdkafka commit");
    })
    .await
    .expect("consumer thread");
    let by_librdkafka = group_offsets(&bootstrap, "group-librdkafka", "consumed", 1).await;
    assert_eq!(by_librdkafka, vec![(0, Offset::Offset(5), None)]);

    let aborted = group_offsets(&bootstrap, "group-aborted", "consumed", 2).await;
    eprintln!("offsets: aborted group: {aborted:?}");
    assert_eq!(aborted, none);
    p.close(WAIT).await;
}
