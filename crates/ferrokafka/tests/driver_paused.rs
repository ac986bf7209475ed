//! The tokio driver on simulated time: the producer talks to the fake cluster over in-memory
//! connections (`FakeServer::in_memory`, set as the producer's transport), every test runs on
//! tokio's paused clock, and time passes only when every task waits — so `linger.ms`,
//! `max.block.ms`, `request.timeout.ms`, `delivery.timeout.ms` and close timeouts elapse
//! instantly and exactly, and each run is the same.
//!
//! What is covered: delivery futures and callbacks (the batch slots, a split batch's slots),
//! a sender blocked on `buffer.memory` woken by freed memory, `max.block.ms`, `flush`, `close`
//! with a timeout (outcome unknown vs never sent), dropping the producer, delivery and request
//! timeouts, reconnects.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{
    ErrorKind, ProduceError, Producer, ProducerConfig, ProducerConfigBuilder, ProducerRecord,
    RecordMetadata,
};
use ferrokafka_fake::{Cluster, ClusterConfig, FakeServer, Fault, TopicConfig};
use ferrokafka_wire::{ApiKey, ErrorCode};
use futures::FutureExt;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

/// A producer of the in-memory `fake`, configured by `configure`.
fn producer(
    fake: &FakeServer,
    configure: impl FnOnce(ProducerConfigBuilder) -> ProducerConfigBuilder,
) -> Producer {
    let builder = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .transport(fake.transport());
    Producer::new(configure(builder).build().expect("config")).expect("producer")
}

/// One broker with topic `t` of `partitions` partitions.
fn one_broker(partitions: i32) -> FakeServer {
    FakeServer::in_memory(
        ClusterConfig::builder()
            .brokers(1)
            .topic("t", partitions)
            .build(),
    )
}

fn record(value: impl Into<String>) -> ProducerRecord {
    ProducerRecord::new("t").with_value(value.into())
}

/// Steps simulated time a millisecond at a time until `done` holds (at most ten simulated
/// seconds); returns how long it took.
async fn until(fake: &FakeServer, what: &str, done: impl Fn(&mut Cluster) -> bool) -> Duration {
    let start = Instant::now();
    while !fake.with_cluster(&done) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never happened: {what}"
        );
        tokio::time::sleep(MS).await;
    }
    start.elapsed()
}

/// The values stored in `t`-`partition`, in offset order, with their offsets.
fn stored(fake: &FakeServer, partition: i32) -> Vec<(i64, String)> {
    fake.with_cluster(|c| c.records("t", partition))
        .into_iter()
        .map(|r| {
            let value = String::from_utf8(r.value.expect("a value").to_vec()).expect("utf-8");
            (r.offset, value)
        })
        .collect()
}

/// Sends one record and waits for its delivery.
async fn deliver(producer: &Producer, value: &str) -> RecordMetadata {
    producer
        .send(record(value))
        .await
        .expect("queued")
        .await
        .expect("delivered")
}

/// Sends one record and waits for its delivery (metadata and producer id are known after).
async fn warm_up(producer: &Producer) -> RecordMetadata {
    deliver(producer, "warm-up").await
}

/// A warmed-up producer of `fake` that sends at once (no linger) and gives up on a request
/// and on a delivery after `timeout`.
async fn timing_out_after(fake: &FakeServer, timeout: Duration) -> Producer {
    let producer = producer(fake, |b| {
        b.linger(Duration::ZERO)
            .request_timeout(timeout)
            .delivery_timeout(timeout)
    });
    warm_up(&producer).await;
    producer
}

fn assert_delivery_timeout(err: &ProduceError) {
    assert_eq!(
        err.kind(),
        ErrorKind::DeliveryTimeout,
        "expected a delivery timeout, got {err:?}"
    );
}

/// The driver has closed all its connections.
fn no_connections(cluster: &mut Cluster) -> bool {
    cluster.connections().is_empty()
}

#[tokio::test(start_paused = true)]
async fn sends_resolve_with_partition_and_offset_and_land_in_order() {
    let fake = one_broker(3);
    let linger = Duration::from_millis(20);
    let producer = producer(&fake, |b| b.linger(linger));
    let start = Instant::now();
    let mut deliveries = Vec::new();
    for i in 0..30 {
        let rec = record(format!("v{i}")).with_partition(i % 3);
        deliveries.push(producer.send(rec).await.expect("queued"));
    }
    // In memory, the metadata round trip takes no simulated time: every send returned at once.
    assert_eq!(start.elapsed(), Duration::ZERO);
    for (i, delivery) in (0..30).zip(deliveries) {
        let md = delivery.await.expect("delivered");
        assert_eq!(md.topic(), "t");
        assert_eq!(md.partition(), i % 3);
        assert_eq!(md.offset(), Some(i64::from(i / 3)), "record {i}");
    }
    // The batches left when linger.ms ran out, on the simulated clock, and were answered at
    // once. The driver's half-millisecond linger slack (as Java's millisecond clock, a batch
    // may leave in the millisecond before) makes them ready at 19.5 ms; tokio's timer, on
    // whole milliseconds, wakes the driver at 20.
    let sent_after = Duration::from_millis(20); // linger.ms 20
    assert_eq!(start.elapsed(), sent_after);
    for p in 0..3 {
        let expected: Vec<(i64, String)> = (0..10)
            .map(|n| (n, format!("v{}", n * 3 + i64::from(p))))
            .collect();
        assert_eq!(stored(&fake, p), expected, "partition {p}");
    }

    // A delayed answer (the fake keeps it for 300 simulated ms) resolves 300 ms after the
    // batch left.
    fake.with_cluster(|c| c.inject(Fault::delay(ApiKey::PRODUCE, Duration::from_millis(300))));
    let start = Instant::now();
    let md = producer
        .send(record("late").with_partition(1))
        .await
        .expect("queued")
        .await
        .expect("delivered");
    assert_eq!(md.offset(), Some(10));
    assert_eq!(start.elapsed(), sent_after + Duration::from_millis(300));
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn a_sender_blocked_on_buffer_memory_is_woken_when_memory_frees() {
    let fake = one_broker(1);
    // A batch of one 600-byte record takes more than half of buffer.memory: a second batch
    // waits for the first to finish.
    let (a, b) = ("a".repeat(600), "b".repeat(600));
    let producer = producer(&fake, |b| {
        b.buffer_memory(1024)
            .batch_size(1024)
            .linger(Duration::ZERO)
            .max_block(Duration::from_secs(10))
    });
    warm_up(&producer).await;
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE)));
    let first = producer.send(record(a.as_str())).await.expect("queued");
    until(&fake, "the first batch's answer is held", |c| c.held() == 1).await;

    let second = producer.send(record(b.as_str()));
    tokio::pin!(second);
    // Blocked for a simulated second (max.block.ms is ten): no memory until the answer comes.
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut second)
            .await
            .is_err(),
        "the second send waits for memory"
    );
    let released = Instant::now();
    assert_eq!(fake.with_cluster(|c| c.release_held()), 1);
    let second = second.await.expect("queued once memory freed");
    // Woken by the freed memory itself, not by a timer: no simulated time passed.
    assert_eq!(released.elapsed(), Duration::ZERO);
    assert_eq!(first.await.expect("delivered").offset(), Some(1));
    assert_eq!(second.await.expect("delivered").offset(), Some(2));
    let values: Vec<String> = stored(&fake, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["warm-up", a.as_str(), b.as_str()]);
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn buffer_memory_exhausted_fails_the_send_after_exactly_max_block() {
    let fake = one_broker(1);
    let max_block = Duration::from_secs(2);
    // Two batches of one 600-byte record each do not fit in buffer.memory.
    let (a, b) = ("a".repeat(600), "b".repeat(600));
    let producer = producer(&fake, |b| {
        b.buffer_memory(1024)
            .batch_size(1024)
            .linger(Duration::ZERO)
            .max_block(max_block)
    });
    warm_up(&producer).await;
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE)));
    let first = producer.send(record(a.as_str())).await.expect("queued");
    until(&fake, "the first batch's answer is held", |c| c.held() == 1).await;

    let start = Instant::now();
    let err = producer
        .send(record(b.as_str()))
        .await
        .expect_err("no memory");
    assert_eq!(start.elapsed(), max_block);
    assert_eq!(
        (err.kind(), err.waited()),
        (ErrorKind::BufferExhausted, Some(max_block)),
        "{err:?}"
    );
    assert!(err.is_retriable());
    // The refused record was never queued; the held one is delivered once released.
    fake.with_cluster(|c| c.release_held());
    assert_eq!(first.await.expect("delivered").offset(), Some(1));
    let values: Vec<String> = stored(&fake, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["warm-up", a.as_str()]);
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn max_block_bounds_the_wait_for_an_unknown_topic() {
    let fake = FakeServer::in_memory(
        ClusterConfig::builder()
            .topic("t", 1)
            .auto_create_topics(None)
            .build(),
    );
    let max_block = Duration::from_secs(3);
    let producer = producer(&fake, |b| b.max_block(max_block));
    let start = Instant::now();
    let err = producer
        .send(ProducerRecord::new("missing").with_value("x"))
        .await
        .expect_err("the topic never appears");
    assert_eq!(start.elapsed(), max_block);
    assert_eq!(
        (err.kind(), err.topic(), err.waited()),
        (
            ErrorKind::TopicNotAvailable,
            Some("missing"),
            Some(max_block)
        ),
        "expected TopicNotAvailable, got {err:?}"
    );
    assert!(err.is_retriable());
    // The producer asked again while it waited (metadata retry backoff), then gave up.
    assert!(fake.with_cluster(|c| c.requests_served(ApiKey::METADATA)) > 2);
    // It still serves topics that exist.
    assert_eq!(warm_up(&producer).await.offset(), Some(0));
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn flush_sends_at_once_and_waits_for_every_in_flight_batch() {
    let fake = one_broker(4);
    // linger.ms of a minute: only the flush sends the records.
    let producer = producer(&fake, |b| b.linger(Duration::from_secs(60)));
    let mut deliveries = Vec::new();
    for i in 0..20 {
        let rec = record(format!("v{i}")).with_partition(i % 4);
        deliveries.push(producer.send(rec).await.expect("queued"));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.with_cluster(|c| c.requests_served(ApiKey::PRODUCE)), 0);
    let delay = Duration::from_millis(250);
    fake.with_cluster(|c| c.inject(Fault::delay(ApiKey::PRODUCE, delay).times(10)));

    let start = Instant::now();
    producer
        .flush(Duration::from_secs(30))
        .await
        .expect("flushed");
    // Sent at once, returned when the delayed answers came.
    assert_eq!(start.elapsed(), delay);
    for (i, delivery) in (0..20).zip(deliveries) {
        let md = delivery
            .now_or_never()
            .expect("resolved when flush returned")
            .expect("delivered");
        assert_eq!(
            (md.partition(), md.offset()),
            (i % 4, Some(i64::from(i / 4)))
        );
    }
    for p in 0..4 {
        assert_eq!(stored(&fake, p).len(), 5, "partition {p}");
    }
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn flush_times_out_on_simulated_time_and_leaves_the_records_queued() {
    let fake = one_broker(1);
    let producer = producer(&fake, |b| b.linger(Duration::from_secs(60)));
    warm_up(&producer).await;
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE)));
    let delivery = producer.send(record("a")).await.expect("queued");
    let timeout = Duration::from_secs(1);
    let start = Instant::now();
    let err = producer.flush(timeout).await.expect_err("held answer");
    assert_eq!(start.elapsed(), timeout);
    assert_eq!(
        (err.kind(), err.waited(), err.to_string()),
        (
            ErrorKind::Timeout,
            Some(timeout),
            format!("flush did not finish within {} ms", timeout.as_millis())
        )
    );
    tokio::pin!(delivery);
    assert!((&mut delivery).now_or_never().is_none(), "still in flight");
    fake.with_cluster(|c| c.release_held());
    assert_eq!(delivery.await.expect("delivered").offset(), Some(1));
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn close_with_timeout_fails_in_flight_as_unknown_and_queued_as_never_sent() {
    let fake = one_broker(1);
    // One request in flight per partition: the second batch cannot leave while the first is
    // unanswered.
    let producer = producer(&fake, |b| {
        b.linger(Duration::ZERO)
            .max_in_flight_requests_per_connection(1)
    });
    warm_up(&producer).await;
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE)));
    let in_flight = producer.send(record("a")).await.expect("queued");
    until(&fake, "the first batch's answer is held", |c| c.held() == 1).await;
    let queued = producer.send(record("b")).await.expect("queued");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        fake.with_cluster(|c| c.requests_served(ApiKey::PRODUCE)),
        2,
        "the second batch waits behind the first"
    );

    let timeout = Duration::from_secs(2);
    let start = Instant::now();
    producer.close(timeout).await;
    assert_eq!(start.elapsed(), timeout);
    let err = in_flight
        .now_or_never()
        .expect("resolved by close")
        .expect_err("not answered");
    assert_eq!(err.kind(), ErrorKind::Closed, "{err:?}");
    assert!(
        err.to_string()
            .starts_with("producer closed while the record's request was in flight"),
        "{err}"
    );
    assert!(err.outcome_unknown(), "its request was sent: maybe written");
    let err = queued
        .now_or_never()
        .expect("resolved by close")
        .expect_err("never sent");
    assert_eq!(err.kind(), ErrorKind::Closed, "{err:?}");
    assert_eq!(
        err.to_string(),
        "producer closed before the record was delivered"
    );
    assert!(!err.outcome_unknown(), "never sent: certainly not written");
    // The fake did write the held one.
    let values: Vec<String> = stored(&fake, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["warm-up", "a"]);
    // Closed for good.
    let err = producer.send(record("c")).await.expect_err("closed");
    assert_eq!(
        (err.kind(), err.to_string().as_str()),
        (ErrorKind::Closed, "producer is closed")
    );
}

#[tokio::test(start_paused = true)]
async fn close_with_the_broker_down_fails_queued_records_as_never_sent() {
    let fake = one_broker(1);
    let producer = producer(&fake, |b| b.linger(Duration::ZERO));
    warm_up(&producer).await;
    fake.with_cluster(|c| c.broker_down(1));
    // Let the producer see its connection close first: a record written to it before that
    // would count as in flight (maybe written), which is a different case.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let delivery = producer.send(record("a")).await.expect("queued");
    let timeout = Duration::from_secs(1);
    let start = Instant::now();
    producer.close(timeout).await;
    assert_eq!(start.elapsed(), timeout);
    let err = delivery
        .now_or_never()
        .expect("resolved by close")
        .expect_err("no broker");
    assert_eq!(err.kind(), ErrorKind::Closed, "{err:?}");
    assert_eq!(
        err.to_string(),
        "producer closed before the record was delivered"
    );
    assert!(!err.outcome_unknown());
    assert_eq!(stored(&fake, 0).len(), 1, "only the warm-up record");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_producer_still_delivers_every_future() {
    let fake = one_broker(2);
    let linger = Duration::from_millis(100);
    let producer = producer(&fake, |b| b.linger(linger));
    // The warm-up record goes to either partition (the partitioner's choice).
    let warm_up_partition = warm_up(&producer).await.partition();
    let delay = Duration::from_millis(500);
    fake.with_cluster(|c| c.inject(Fault::delay(ApiKey::PRODUCE, delay).times(10)));
    let mut deliveries = Vec::new();
    for i in 0..10 {
        let rec = record(format!("v{i}")).with_partition(i % 2);
        deliveries.push(producer.send(rec).await.expect("queued"));
    }
    let start = Instant::now();
    drop(producer);
    let mut offsets = Vec::new();
    for delivery in deliveries {
        let md = delivery.await.expect("delivered after the drop");
        offsets.push((md.partition(), md.offset().expect("an offset")));
    }
    // Dropping sends at once (no linger) and waits for the answers.
    assert_eq!(start.elapsed(), delay);
    let expected: Vec<(i32, i64)> = (0..10)
        .map(|i| {
            let p = i % 2;
            let first = i64::from(p == warm_up_partition);
            (p, first + i64::from(i / 2))
        })
        .collect();
    assert_eq!(offsets, expected);
    assert_eq!(stored(&fake, 0).len() + stored(&fake, 1).len(), 11);
    // With everything delivered the driver ends and closes its connections.
    until(&fake, "the driver closes its connections", no_connections).await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_producer_with_answers_held_fails_futures_at_delivery_timeout() {
    let fake = one_broker(1);
    let delivery_timeout = Duration::from_secs(5);
    let producer = timing_out_after(&fake, delivery_timeout).await;
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE).times(100)));
    let start = Instant::now();
    let delivery = producer.send(record("a")).await.expect("queued");
    drop(producer);
    let err = delivery.await.expect_err("never answered");
    assert_eq!(start.elapsed(), delivery_timeout);
    assert_delivery_timeout(&err);
    // maybe_written
    assert!(err.outcome_unknown());
    until(&fake, "the driver closes its connections", no_connections).await;
}

#[tokio::test(start_paused = true)]
async fn delivery_timeout_expires_an_in_flight_batch() {
    let fake = one_broker(1);
    let delivery_timeout = Duration::from_secs(5);
    let producer = timing_out_after(&fake, delivery_timeout).await;
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE)));
    let start = Instant::now();
    let delivery = producer.send(record("a")).await.expect("queued");
    let err = delivery.await.expect_err("never answered");
    assert_eq!(start.elapsed(), delivery_timeout);
    assert_delivery_timeout(&err);
    assert_eq!((err.topic(), err.partition()), (Some("t"), Some(0)));
    assert_eq!(err.attempts(), Some(1));
    assert!(
        err.outcome_unknown(),
        "its request was sent and not answered"
    );
    assert!(err.is_retriable() && err.outcome_unknown());
    // The producer goes on: a later record is delivered.
    let md = deliver(&producer, "b").await;
    assert_eq!(md.partition(), 0);
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_request_is_retried_after_request_timeout_and_written_once() {
    let fake = one_broker(1);
    let request_timeout = Duration::from_secs(3);
    let producer = producer(&fake, |b| {
        b.linger(Duration::ZERO)
            .request_timeout(request_timeout)
            .retry_backoff(Duration::from_millis(100))
    });
    warm_up(&producer).await;
    // The fake writes the batch but keeps the answer; the retry on a new connection is a
    // duplicate, answered with the original offset.
    fake.with_cluster(|c| c.inject(Fault::hold(ApiKey::PRODUCE)));
    let start = Instant::now();
    let md = producer
        .send(record("a"))
        .await
        .expect("queued")
        .await
        .expect("delivered by the retry");
    let took = start.elapsed();
    assert!(
        took >= request_timeout && took < request_timeout + Duration::from_secs(1),
        "delivered after {took:?}"
    );
    assert_eq!(md.offset(), Some(1));
    let values: Vec<String> = stored(&fake, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["warm-up", "a"], "written exactly once");
    assert_eq!(fake.with_cluster(|c| c.requests_served(ApiKey::PRODUCE)), 3);
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn callbacks_run_with_each_records_outcome() {
    let fake = one_broker(1);
    let producer = producer(&fake, |b| b.linger(Duration::from_millis(10)));
    type Outcomes = Arc<Mutex<Vec<(usize, Result<RecordMetadata, ProduceError>)>>>;
    let outcomes: Outcomes = Arc::default();
    for i in 0..5 {
        let outcomes = outcomes.clone();
        producer
            .send_with_callback(record(format!("v{i}")), move |result| {
                outcomes.lock().unwrap().push((i, result));
            })
            .await
            .expect("queued");
    }
    assert!(outcomes.lock().unwrap().is_empty(), "nothing delivered yet");
    producer
        .flush(Duration::from_secs(5))
        .await
        .expect("flushed");
    let seen: Vec<(usize, Option<i64>)> = outcomes
        .lock()
        .unwrap()
        .iter()
        .map(|(i, r)| (*i, r.as_ref().expect("delivered").offset()))
        .collect();
    assert_eq!(
        seen,
        (0..5).map(|i| (i, Some(i as i64))).collect::<Vec<_>>()
    );

    // A failing record's callback gets the broker's error.
    fake.with_cluster(|c| c.inject(Fault::fail(ApiKey::PRODUCE, &[ErrorCode::INVALID_RECORD])));
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer
        .send_with_callback(record("bad"), move |result| {
            let _ = tx.send(result);
        })
        .await
        .expect("queued");
    let err = rx.await.expect("the callback ran").expect_err("refused");
    assert_eq!(err.kafka_code(), Some(ErrorCode::INVALID_RECORD));
    assert!(!err.outcome_unknown());
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn a_split_batch_resolves_every_future_of_its_records() {
    // The topic takes batches of at most 2000 bytes; the producer batches up to 16 KiB.
    let topic = TopicConfig {
        max_message_bytes: 2000,
        ..TopicConfig::default()
    };
    let fake = FakeServer::in_memory(
        ClusterConfig::builder()
            .brokers(1)
            .topic_with("t", 1, topic)
            .build(),
    );
    let producer = producer(&fake, |b| b.linger(Duration::from_millis(50)));
    let mut deliveries = Vec::new();
    for i in 0..12 {
        let value = format!("{i:03}{}", "x".repeat(497));
        deliveries.push(producer.send(record(value)).await.expect("queued"));
    }
    for (i, delivery) in (0..12).zip(deliveries) {
        let md = delivery.await.expect("delivered in parts");
        assert_eq!(md.offset(), Some(i), "record {i}");
    }
    let stored = stored(&fake, 0);
    assert_eq!(stored.len(), 12);
    for (i, (offset, value)) in (0..12).zip(stored) {
        assert_eq!(offset, i);
        assert!(value.starts_with(&format!("{i:03}")), "record {i} in order");
    }
    assert!(
        fake.with_cluster(|c| c.requests_served(ApiKey::PRODUCE)) > 3,
        "the batch was refused, then sent in parts"
    );
    producer.close(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn the_producer_reconnects_after_the_fake_drops_its_connections() {
    let fake = one_broker(1);
    let connects = Arc::new(AtomicUsize::new(0));
    let counted = connects.clone();
    let in_memory = fake.transport();
    let producer = producer(&fake, |b| {
        b.linger(Duration::ZERO)
            .transport(move |host: String, port: u16| {
                counted.fetch_add(1, Ordering::SeqCst);
                in_memory(host, port)
            })
    });
    warm_up(&producer).await;
    let before = connects.load(Ordering::SeqCst);
    assert!(before >= 1);

    // The fake closes every connection: the next record goes over a new one.
    assert!(fake.with_cluster(|c| c.drop_connections(1)) >= 1);
    let md = producer
        .send(record("a"))
        .await
        .expect("queued")
        .await
        .expect("delivered over a new connection");
    assert_eq!(md.offset(), Some(1));
    let after_drop = connects.load(Ordering::SeqCst);
    assert!(after_drop > before, "reconnected");

    // The fake drops the connection instead of serving a request: the record is sent again
    // on a new connection and written once.
    fake.with_cluster(|c| c.inject(Fault::drop_connection(ApiKey::PRODUCE)));
    let md = producer
        .send(record("b"))
        .await
        .expect("queued")
        .await
        .expect("delivered after the drop");
    assert_eq!(md.offset(), Some(2));
    assert!(connects.load(Ordering::SeqCst) > after_drop, "reconnected");
    let values: Vec<String> = stored(&fake, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["warm-up", "a", "b"]);
    producer.close(Duration::from_secs(5)).await;
}
