//! Faults over TCP, seen by real clients: an answer lost after the write (the connection
//! dropped after serving) makes an idempotent producer retry, and the fake answers the retry
//! with the original offsets, so every record is in the log exactly once; a broker taken down
//! moves its partitions' leadership and the client follows.

use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_fake::{ClusterConfig, FakeServer, Fault};
use ferrokafka_tests::consume::{Isolation, read_back};
use ferrokafka_wire::ApiKey;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A ferrokafka producer of `fake` with the default settings.
fn producer_of(fake: &FakeServer) -> Producer {
    let config = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .build()
        .expect("config");
    Producer::new(config).expect("producer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_retries_after_lost_answers_and_writes_each_record_once() {
    let fake = FakeServer::start(ClusterConfig::builder().brokers(1).topic("t", 1).build())
        .await
        .expect("fake");
    // The first three Produce requests are appended, then their connection drops unanswered.
    fake.with_cluster(|c| c.inject(Fault::drop_after_serving(ApiKey::PRODUCE).times(3)));
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", fake.bootstrap())
        .set("enable.idempotence", "true")
        .set("linger.ms", "0")
        .set("retry.backoff.ms", "10")
        .create()
        .expect("producer");
    let n = 50;
    let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let mut offsets = Vec::new();
    for v in &values {
        let d = producer
            .send(FutureRecord::<(), _>::to("t").payload(v), TIMEOUT)
            .await
            .expect("delivered despite the lost answers");
        offsets.push(d.offset);
    }
    assert_eq!(
        fake.with_cluster(|c| c.pending_faults()),
        0,
        "the faults fired"
    );
    let bootstrap = fake.bootstrap();
    let records = tokio::task::spawn_blocking(move || {
        read_back(&bootstrap, "t", n, TIMEOUT, Isolation::ReadUncommitted).expect("read back")
    })
    .await
    .unwrap();
    let read: Vec<Vec<u8>> = records.iter().map(|r| r.value.clone().unwrap()).collect();
    let sent: Vec<Vec<u8>> = values.iter().map(|v| v.clone().into_bytes()).collect();
    assert_eq!(read, sent, "exactly once, in order");
    assert_eq!(offsets, (0..n as i64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokafka_follows_a_leader_when_its_broker_goes_down() {
    let fake = FakeServer::start(ClusterConfig::builder().brokers(3).topic("t", 3).build())
        .await
        .expect("fake");
    let producer = producer_of(&fake);
    let send = |i: u32| {
        producer.send(
            ProducerRecord::new("t")
                .with_key(format!("k{}", i % 7))
                .with_value(i.to_string()),
        )
    };
    for i in 0..30 {
        send(i).await.expect("send").await.expect("delivered");
    }
    let (old_leader, _) = fake.with_cluster(|c| c.leader("t", 0)).unwrap();
    fake.with_cluster(|c| c.broker_down(old_leader));
    let (new_leader, epoch) = fake.with_cluster(|c| c.leader("t", 0)).unwrap();
    assert_ne!(new_leader, old_leader);
    assert_eq!(epoch, 1);
    for i in 30..60 {
        send(i)
            .await
            .expect("send")
            .await
            .expect("delivered after the move");
    }
    producer.close(TIMEOUT).await;
    fake.with_cluster(|c| c.broker_up(old_leader));
    let stored: usize = fake.with_cluster(|c| (0..3).map(|p| c.records("t", p).len()).sum());
    assert_eq!(stored, 60, "each record once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokafka_negotiates_down_to_the_versions_the_fake_advertises() {
    let fake = FakeServer::start(
        ClusterConfig::builder()
            .topic("t", 1)
            .api_versions(ApiKey::PRODUCE, 3, 8)
            .api_versions(ApiKey::METADATA, 1, 7)
            .build(),
    )
    .await
    .expect("fake");
    let producer = producer_of(&fake);
    producer
        .send(ProducerRecord::new("t").with_value("v"))
        .await
        .expect("send")
        .await
        .expect("delivered");
    producer.close(TIMEOUT).await;
    let seen = fake.with_cluster(|c| c.versions_seen());
    let used = |api| -> Vec<i16> {
        seen.iter()
            .filter(|(k, _)| *k == api)
            .map(|(_, v)| *v)
            .collect()
    };
    assert_eq!(used(ApiKey::PRODUCE), vec![8], "{seen:?}");
    assert_eq!(used(ApiKey::METADATA), vec![7], "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_produce_answer_resolves_the_delivery_only_when_released() {
    let fake = FakeServer::start(ClusterConfig::builder().topic("t", 1).build())
        .await
        .expect("fake");
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE)));
    let producer = producer_of(&fake);
    let mut delivery = Box::pin(
        producer
            .send(ProducerRecord::new("t").with_value("held"))
            .await
            .expect("send"),
    );
    // Wait (bounded) until the fake holds the answer: the record is in the log already.
    let mut held = false;
    for _ in 0..1000 {
        if fake.with_cluster(|c| c.held()) == 1 {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(held, "the Produce answer was never held");
    assert_eq!(fake.with_cluster(|c| c.high_watermark("t", 0)), Some(1));
    // The answer cannot have left: the delivery is still pending.
    assert!(
        futures_poll_once(delivery.as_mut()).await.is_none(),
        "resolved before the answer was released"
    );
    assert_eq!(fake.with_cluster(|c| c.release_held()), 1);
    let md = tokio::time::timeout(TIMEOUT, delivery)
        .await
        .expect("delivered after the release")
        .expect("delivered");
    assert_eq!(md.offset(), Some(0));
    producer.close(TIMEOUT).await;
}

/// Polls a future once; `Some` if it was ready.
async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
    let mut f = f;
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}
