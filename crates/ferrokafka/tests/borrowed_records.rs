//! `send_borrowed` and `send_borrowed_with_callback` against the in-memory fake: what a
//! borrowed record's parts say is what the broker stores (key, value, headers, partition,
//! timestamp), the buffers it borrowed can be reused at once, and with interceptors the
//! records take the owned path (the interceptors see and change them); a reported send can be
//! tried at once (`try_send_borrowed_reported`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::interceptor::{InterceptorError, ProducerInterceptor};
use ferrokafka::{
    BorrowedRecord, DeliveryReporter, Header, Producer, ProducerConfig, ProducerRecord,
    ReportedBatch, TrySend,
};
use ferrokafka_fake::{ClusterConfig, FakeServer, Fault, TopicConfig};
use ferrokafka_wire::{ApiKey, ErrorCode};

fn fake() -> FakeServer {
    FakeServer::in_memory(ClusterConfig::builder().brokers(1).topic("t", 3).build())
}

fn producer(fake: &FakeServer, tag: Option<Tag>) -> Producer {
    let mut builder = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .transport(fake.transport());
    if let Some(tag) = tag {
        builder = builder.interceptor(tag);
    }
    Producer::new(builder.build().expect("config")).expect("producer")
}

/// (key, value, header names, timestamp) of every stored record of `t`'s `partition`.
type Stored = Vec<(Option<Vec<u8>>, Option<Vec<u8>>, Vec<String>, i64)>;

fn stored(fake: &FakeServer, partition: i32) -> Stored {
    fake.with_cluster(|c| c.records("t", partition))
        .into_iter()
        .map(|r| {
            (
                r.key.map(|k| k.to_vec()),
                r.value.map(|v| v.to_vec()),
                r.headers.iter().map(|h| h.key.clone()).collect(),
                r.timestamp,
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn borrowed_records_are_stored_as_their_parts_say() {
    let fake = fake();
    let p = producer(&fake, None);
    let headers = [
        Header::new("h1", Some(&b"x"[..])),
        Header::new("h2", None::<Vec<u8>>),
    ];
    let mut buf = Vec::new();
    let mut deliveries = Vec::new();
    for i in 0..5u8 {
        // One buffer, rewritten for every record: the send copied the previous one.
        buf.clear();
        buf.extend_from_slice(format!("value-{i}").as_bytes());
        let key = [b'k', i];
        let record = BorrowedRecord::new("t")
            .with_key(&key)
            .with_value(&buf)
            .with_partition(1)
            .with_timestamp(1_000 + i64::from(i))
            .with_headers(&headers);
        deliveries.push(p.send_borrowed(record).await.expect("queued"));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    p.send_borrowed_with_callback(BorrowedRecord::new("t").with_partition(2), move |outcome| {
        let _ = tx.send(outcome.map(|md| (md.topic().to_owned(), md.partition(), md.offset())));
    })
    .await
    .expect("queued");
    p.flush(Duration::from_secs(10)).await.expect("flushed");
    for (i, d) in deliveries.into_iter().enumerate() {
        let md = d.await.expect("delivered");
        assert_eq!((md.partition(), md.offset()), (1, Some(i as i64)));
        assert_eq!(md.topic(), "t");
    }
    assert_eq!(
        rx.await.expect("callback ran").expect("delivered"),
        ("t".to_owned(), 2, Some(0))
    );
    let expected: Stored = (0..5u8)
        .map(|i| {
            (
                Some(vec![b'k', i]),
                Some(format!("value-{i}").into_bytes()),
                vec!["h1".to_owned(), "h2".to_owned()],
                1_000 + i64::from(i),
            )
        })
        .collect();
    assert_eq!(stored(&fake, 1), expected);
    let tombstone = stored(&fake, 2);
    assert_eq!(tombstone.len(), 1);
    assert_eq!((&tombstone[0].0, &tombstone[0].1), (&None, &None));
    // A refusal is returned, as for `send`.
    let refused = p
        .send_borrowed(BorrowedRecord::new("t").with_partition(9))
        .await;
    assert!(refused.is_err(), "partition 9 of a 3-partition topic");
    p.close(Duration::from_secs(5)).await;
}

/// Adds a header and counts what it saw.
#[derive(Clone, Default)]
struct Tag {
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl ProducerInterceptor for Tag {
    fn on_send(&self, record: &ProducerRecord) -> Result<Option<ProducerRecord>, InterceptorError> {
        let value = record.value().map(|v| v.to_vec()).unwrap_or_default();
        self.seen.lock().unwrap().push(value);
        Ok(Some(record.clone().with_header("tagged", Some("1"))))
    }
}

#[tokio::test(start_paused = true)]
async fn with_interceptors_borrowed_records_are_intercepted_as_owned_ones() {
    let fake = fake();
    let tag = Tag::default();
    let p = producer(&fake, Some(tag.clone()));
    let d = p
        .send_borrowed(BorrowedRecord::new("t").with_value(b"a").with_partition(0))
        .await
        .expect("queued");
    let (tx, rx) = tokio::sync::oneshot::channel();
    p.send_borrowed_with_callback(
        BorrowedRecord::new("t").with_value(b"b").with_partition(0),
        move |outcome| {
            let _ = tx.send(outcome.map(|md| md.offset()));
        },
    )
    .await
    .expect("queued");
    // The interceptors run in a send's future: a try says it must wait, and nothing is queued.
    let silent: Arc<dyn DeliveryReporter> = Arc::new(Reports::default());
    let tried = p.try_send_borrowed_reported(
        BorrowedRecord::new("t").with_value(b"c").with_partition(0),
        &silent,
        0,
    );
    assert_eq!(tried.expect("no error"), TrySend::MustWait);
    p.flush(Duration::from_secs(10)).await.expect("flushed");
    assert_eq!(d.await.expect("delivered").offset(), Some(0));
    assert_eq!(rx.await.expect("callback ran").expect("delivered"), Some(1));
    assert_eq!(
        *tag.seen.lock().unwrap(),
        vec![b"a".to_vec(), b"b".to_vec()]
    );
    let stored = stored(&fake, 0);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.2 == ["tagged"]), "{stored:?}");
    p.close(Duration::from_secs(5)).await;
}

/// One report: the tag, and partition, offset and latency, or the error's text.
type Report = (u64, Result<(i32, Option<i64>, Duration), String>);

/// Keeps every report.
#[derive(Default)]
struct Reports(Mutex<Vec<Report>>);

impl ferrokafka::DeliveryReporter for Reports {
    fn report(
        &self,
        tag: u64,
        outcome: Result<ferrokafka::RecordMetadata, ferrokafka::ProduceError>,
    ) {
        let kept = outcome
            .map(|md| (md.partition(), md.offset(), md.latency()))
            .map_err(|e| e.to_string());
        self.0.lock().unwrap().push((tag, kept));
    }
}

#[tokio::test(start_paused = true)]
async fn reported_sends_tell_one_reporter_each_records_tag_and_latency() {
    let fake = fake();
    let p = producer(&fake, None);
    let reports = Arc::new(Reports::default());
    let reporter: Arc<dyn DeliveryReporter> = reports.clone();
    for tag in 0..4u64 {
        let value = tag.to_le_bytes();
        if tag % 2 == 0 {
            let record = BorrowedRecord::new("t")
                .with_value(&value)
                .with_partition(0);
            p.send_borrowed_reported(record, &reporter, 100 + tag)
                .await
                .expect("queued");
        } else {
            let record = ProducerRecord::new("t")
                .with_value(value.to_vec())
                .with_partition(0);
            p.send_reported(record, &reporter, 100 + tag)
                .await
                .expect("queued");
        }
    }
    // Refused before queueing: returned, never reported.
    let refused = p
        .send_borrowed_reported(BorrowedRecord::new("t").with_partition(5), &reporter, 999)
        .await;
    assert!(refused.is_err());
    // No flush: the batch waits for linger.ms (5 ms by default) on the paused clock, which
    // the latencies then include. Wait (bounded) for the four reports.
    for _ in 0..10_000 {
        if reports.0.lock().unwrap().len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let got = reports.0.lock().unwrap().clone();
    let tags: Vec<u64> = got.iter().map(|(t, _)| *t).collect();
    assert_eq!(tags, [100, 101, 102, 103]);
    for (i, (_, outcome)) in got.iter().enumerate() {
        let (partition, offset, latency) = outcome.clone().expect("delivered");
        assert_eq!((partition, offset), (0, Some(i as i64)));
        // Held for linger.ms, less the driver's half-millisecond linger slack (as Java's
        // millisecond clock, a batch may leave in the millisecond before), before it was sent:
        // on the paused clock tokio's timer wakes the driver at 5 ms, and the producer
        // measured that.
        assert!(latency >= Duration::from_micros(4_500), "{latency:?}");
    }
    let values: Vec<_> = stored(&fake, 0).into_iter().map(|r| r.1).collect();
    let expected: Vec<_> = (0..4u64).map(|t| Some(t.to_le_bytes().to_vec())).collect();
    assert_eq!(values, expected);
    p.close(Duration::from_secs(5)).await;
}

/// `try_send_borrowed_reported` queues at once what needs no waiting, says `MustWait` (nothing
/// queued, nothing reported) for a record whose topic's metadata is not known yet or that does
/// not fit in `buffer.memory`, and returns what a send would refuse as an error.
#[tokio::test(start_paused = true)]
async fn try_sends_queue_at_once_or_say_they_must_wait() {
    let fake = fake();
    let config = ProducerConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .transport(fake.transport())
        .set("buffer.memory", "65536")
        .set("batch.size", "16384")
        .set("linger.ms", "1000")
        .build()
        .expect("config");
    let p = Producer::new(config).expect("producer");
    let reports = Arc::new(Reports::default());
    let reporter: Arc<dyn DeliveryReporter> = reports.clone();
    let value = [7u8; 1000];
    let record = |partition| {
        BorrowedRecord::new("t")
            .with_value(&value)
            .with_partition(partition)
    };
    // Nothing is known of `t` before its first send.
    let first = p.try_send_borrowed_reported(record(0), &reporter, 0);
    assert_eq!(first.expect("no error"), TrySend::MustWait);
    p.send_borrowed_reported(record(0), &reporter, 0)
        .await
        .expect("queued");
    // The batches linger for a second: records queue at once until buffer.memory is full.
    let mut tag = 1;
    loop {
        let tried = p.try_send_borrowed_reported(record(tag as i32 % 3), &reporter, tag);
        match tried.expect("no error") {
            TrySend::Queued => tag += 1,
            TrySend::MustWait => break,
        }
        assert!(
            tag < 1_000,
            "64 KiB of buffer.memory held {tag} records of 1 KB"
        );
    }
    assert!(tag > 10, "only {tag} records queued at once");
    // The record that had to wait goes through the send that waits (for the lingering batches
    // to be sent and answered).
    p.send_borrowed_reported(record(tag as i32 % 3), &reporter, tag)
        .await
        .expect("queued");
    // Refused before queueing (no such partition): an error, never reported.
    assert!(
        p.try_send_borrowed_reported(record(5), &reporter, 9_999)
            .is_err()
    );
    p.flush(Duration::from_secs(30)).await.expect("flush");
    let mut got: Vec<u64> = reports.0.lock().unwrap().iter().map(|(t, _)| *t).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        (0..=tag).collect::<Vec<_>>(),
        "each record reported once"
    );
    assert!(
        reports.0.lock().unwrap().iter().all(|(_, o)| o.is_ok()),
        "all delivered"
    );
    let stored: usize = (0..3).map(|partition| stored(&fake, partition).len()).sum();
    assert_eq!(stored as u64, tag + 1);
    p.close(Duration::from_secs(5)).await;
    assert!(
        p.try_send_borrowed_reported(record(0), &reporter, 10_000)
            .is_err(),
        "closed"
    );
}

/// `(who, tag, offset)` of every report, in the order they came.
type Log = Arc<Mutex<Vec<(String, u64, Option<i64>)>>>;

/// Appends `(name, tag, offset)` of every report to one log shared by several reporters.
struct Logged(&'static str, Log);

impl DeliveryReporter for Logged {
    fn report(
        &self,
        tag: u64,
        outcome: Result<ferrokafka::RecordMetadata, ferrokafka::ProduceError>,
    ) {
        let offset = outcome.expect("delivered").offset();
        self.1
            .lock()
            .unwrap()
            .push((self.0.to_owned(), tag, offset));
    }
}

/// Sends `record` with `tag` as `who` says: to reporter `a` or `b`, or (`"callback"`) with a
/// callback that logs it as the reporters do.
async fn send_as(
    p: &Producer,
    who: &str,
    record: BorrowedRecord<'_>,
    tag: u64,
    (a, b): (&Arc<dyn DeliveryReporter>, &Arc<dyn DeliveryReporter>),
    log: &Log,
) {
    match who {
        "a" => p.send_borrowed_reported(record, a, tag).await,
        "b" => p.send_borrowed_reported(record, b, tag).await,
        _ => {
            let log = log.clone();
            p.send_borrowed_with_callback(record, move |outcome| {
                let offset = outcome.expect("delivered").offset();
                log.lock()
                    .unwrap()
                    .push(("callback".to_owned(), tag, offset));
            })
            .await
        }
    }
    .expect("queued");
}

#[tokio::test(start_paused = true)]
async fn callbacks_and_several_reporters_in_one_batch_hear_in_record_order() {
    let fake = fake();
    let p = producer(&fake, None);
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let a: Arc<dyn DeliveryReporter> = Arc::new(Logged("a", log.clone()));
    let b: Arc<dyn DeliveryReporter> = Arc::new(Logged("b", log.clone()));
    // One partition, no flush in between: the nine records share a batch. The batch keeps
    // one reference to its first reporter (a) and lists the others with the callbacks.
    let who = |tag: u64| ["a", "callback", "b"][(tag % 3) as usize];
    for tag in 0..9u64 {
        let record = BorrowedRecord::new("t").with_value(b"v").with_partition(1);
        send_as(&p, who(tag), record, tag, (&a, &b), &log).await;
    }
    p.flush(Duration::from_secs(5)).await.expect("flushed");
    let got = log.lock().unwrap().clone();
    let expected: Vec<(String, u64, Option<i64>)> = (0..9u64)
        .map(|tag| (who(tag).to_owned(), tag, Some(tag as i64)))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(Arc::strong_count(&a), 1, "the batch let its reference go");
    p.close(Duration::from_secs(5)).await;
}

/// A batch the broker refuses as too large (MESSAGE_TOO_LARGE) is split: its reported records,
/// those of its first reporter and of another, and a callback among them, each hear once, in
/// record order, with the offset their part was written at.
#[tokio::test(start_paused = true)]
async fn a_split_batchs_reporters_and_callbacks_hear_every_record_in_order() {
    // Batches of at most 2,000 bytes are taken; twelve 500-byte records share one batch.
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
    let p = Producer::new(
        ProducerConfig::builder()
            .bootstrap_servers(fake.bootstrap())
            .transport(fake.transport())
            .linger(Duration::from_millis(50))
            .build()
            .expect("config"),
    )
    .expect("producer");
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let a: Arc<dyn DeliveryReporter> = Arc::new(Logged("a", log.clone()));
    let b: Arc<dyn DeliveryReporter> = Arc::new(Logged("b", log.clone()));
    let who = |tag: u64| match tag {
        5 => "callback",
        8 | 9 => "b",
        _ => "a",
    };
    for tag in 0..12u64 {
        let value = format!("{tag:03}{}", "x".repeat(497));
        let record = BorrowedRecord::new("t").with_value(value.as_bytes());
        send_as(&p, who(tag), record, tag, (&a, &b), &log).await;
    }
    p.flush(Duration::from_secs(5)).await.expect("flushed");
    assert!(
        fake.with_cluster(|c| c.requests_served(ApiKey::PRODUCE)) > 3,
        "the batch was refused, then sent in parts"
    );
    let got = log.lock().unwrap().clone();
    let expected: Vec<(String, u64, Option<i64>)> = (0..12u64)
        .map(|tag| (who(tag).to_owned(), tag, Some(tag as i64)))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        Arc::strong_count(&a),
        1,
        "the parts let their references go"
    );
    assert_eq!(Arc::strong_count(&b), 1);
    p.close(Duration::from_secs(5)).await;
}

/// Logs what a batch reporter hears (`batch P [tags] [offsets]` or `failed P [tags] CODE`) and
/// the callbacks between its records, in the order they come; `report` must not be called.
struct BatchLog(Arc<Mutex<Vec<String>>>);

impl DeliveryReporter for BatchLog {
    fn report(
        &self,
        tag: u64,
        _outcome: Result<ferrokafka::RecordMetadata, ferrokafka::ProduceError>,
    ) {
        self.0.lock().unwrap().push(format!("single {tag}"));
    }

    fn report_batch(&self, batch: &ReportedBatch<'_>) {
        assert_eq!(batch.topic(), "t");
        assert_eq!(batch.len(), batch.records().len());
        // The per-record outcomes say what the records do.
        for ((tag, outcome), r) in batch.outcomes().zip(batch.records()) {
            assert_eq!(tag, r.tag());
            match &outcome {
                Ok(md) => {
                    assert_eq!(md.offset(), r.offset());
                    assert_eq!(md.latency(), r.latency());
                    assert_eq!(md.acknowledged_at(), batch.acknowledged_at());
                }
                Err(e) => assert_eq!(Some(e.to_string()), batch.error().map(|e| e.to_string())),
            }
        }
        let tags: Vec<u64> = batch.records().map(|r| r.tag()).collect();
        let line = match batch.error() {
            None => {
                let offsets: Vec<Option<i64>> = batch.records().map(|r| r.offset()).collect();
                format!("batch {} {tags:?} {offsets:?}", batch.partition())
            }
            Some(e) => {
                assert!(batch.records().all(|r| r.offset().is_none()));
                format!("failed {} {tags:?} {:?}", batch.partition(), e.kafka_code())
            }
        };
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test(start_paused = true)]
async fn a_reporter_hears_a_batch_in_one_call_split_around_callbacks_between_its_records() {
    let fake = fake();
    let p = producer(&fake, None);
    let log = Arc::new(Mutex::new(Vec::new()));
    let reporter: Arc<dyn DeliveryReporter> = Arc::new(BatchLog(log.clone()));
    let record = |partition| {
        BorrowedRecord::new("t")
            .with_value(b"v")
            .with_partition(partition)
    };
    // Partition 0: four reported records, one batch. Partition 1: two reported records, a
    // callback, one more reported record.
    for tag in 0..4u64 {
        p.send_borrowed_reported(record(0), &reporter, tag)
            .await
            .expect("queued");
    }
    for tag in [10, 11] {
        p.send_borrowed_reported(record(1), &reporter, tag)
            .await
            .expect("queued");
    }
    let callback_log = log.clone();
    p.send_borrowed_with_callback(record(1), move |outcome| {
        let offset = outcome.expect("delivered").offset();
        callback_log
            .lock()
            .unwrap()
            .push(format!("callback 1 {offset:?}"));
    })
    .await
    .expect("queued");
    p.send_borrowed_reported(record(1), &reporter, 12)
        .await
        .expect("queued");
    p.flush(Duration::from_secs(5)).await.expect("flushed");
    let mut got = std::mem::take(&mut *log.lock().unwrap());
    // The partitions' batches may finish in either order; within one, the order is fixed.
    let partition_1: Vec<String> = got.iter().filter(|l| l.contains(" 1 ")).cloned().collect();
    assert_eq!(
        partition_1,
        [
            "batch 1 [10, 11] [Some(0), Some(1)]",
            "callback 1 Some(2)",
            "batch 1 [12] [Some(3)]",
        ]
    );
    got.sort();
    assert_eq!(
        got,
        [
            "batch 0 [0, 1, 2, 3] [Some(0), Some(1), Some(2), Some(3)]",
            "batch 1 [10, 11] [Some(0), Some(1)]",
            "batch 1 [12] [Some(3)]",
            "callback 1 Some(2)",
        ]
    );

    // A batch the broker refuses: its records hear the error together, without offsets.
    fake.with_cluster(|c| c.inject(Fault::fail(ApiKey::PRODUCE, &[ErrorCode::INVALID_RECORD])));
    for tag in [20, 21] {
        p.send_borrowed_reported(record(2), &reporter, tag)
            .await
            .expect("queued");
    }
    p.flush(Duration::from_secs(5)).await.expect("flushed");
    assert_eq!(
        *log.lock().unwrap(),
        ["failed 2 [20, 21] Some(INVALID_RECORD(87))"]
    );
    p.close(Duration::from_secs(5)).await;
}
