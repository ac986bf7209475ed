//! Bad input (4): configuration errors name the key, an unreachable broker fails `send` within
//! `max.block.ms`, a bad record fails alone, an unknown topic is auto-created by Tansu.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrokafka::{ConfigError, ErrorKind, ProducerConfig, ProducerRecord};
use ferrokafka_partition::hash::murmur2_partition;
use ferrokafka_tests::consume::partition_count;
use ferrokafka_tests::tansu::free_port;

use crate::{WAIT, producer, read, tansu_with};

// ---------------------------------------------------------------------------------------------
// 4. bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn config_errors_name_the_key() {
    let err = ProducerConfig::from_properties([
        ("bootstrap.servers", "127.0.0.1:9092"),
        ("linger.msec", "5"),
    ])
    .expect_err("unknown key");
    assert_eq!(
        err,
        ConfigError::UnknownKey {
            key: "linger.msec".to_string(),
            suggestion: Some("linger.ms"),
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("linger.msec") && msg.contains("did you mean `linger.ms`"),
        "{msg}"
    );

    for (key, value) in [
        ("acks", "2"),
        ("linger.ms", "-1"),
        ("compression.type", "brotli"),
    ] {
        let err = ProducerConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9092"),
            (key, value),
        ])
        .expect_err("invalid value");
        match &err {
            ConfigError::InvalidValue {
                key: k, value: v, ..
            } => {
                assert_eq!(*k, key, "{err}");
                assert_eq!(v, value, "{err}");
            }
            other => panic!("{key}={value}: expected InvalidValue, got {other:?}"),
        }
        assert!(err.to_string().contains(key), "{err}");
    }

    // acks=1 with an explicit enable.idempotence=true is a conflict naming acks.
    let err = ProducerConfig::from_properties([
        ("bootstrap.servers", "127.0.0.1:9092"),
        ("acks", "1"),
        ("enable.idempotence", "true"),
    ])
    .expect_err("conflict");
    assert!(
        matches!(err, ConfigError::IdempotenceConflict { key: "acks", .. }),
        "{err:?}"
    );
    assert_eq!(
        ProducerConfig::from_properties([("acks", "all")]).expect_err("no bootstrap"),
        ConfigError::MissingBootstrapServers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_bootstrap_fails_send_within_max_block() {
    // A port nobody listens on: bound once to pick it, then released.
    let port = free_port().expect("free port");
    let bootstrap = format!("127.0.0.1:{port}");
    let p = producer(&bootstrap, &[("max.block.ms", "1500")]);
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        p.send(ProducerRecord::new("nowhere").with_value("v")),
    )
    .await
    .expect("send must not hang past max.block.ms");
    let waited = started.elapsed();
    match result {
        Err(ref e) if e.kind() == ErrorKind::TopicNotAvailable => {
            assert_eq!(e.topic(), Some("nowhere"));
            // The last connection failure explains the timeout (the detail after the setting).
            let text = e.to_string();
            let detail = text.split_once("(max.block.ms): ").map(|(_, d)| d);
            assert!(detail.is_some_and(|d| d.contains(&bootstrap)), "{detail:?}");
        }
        Err(other) => panic!("expected TopicNotAvailable, got {other:?}"),
        Ok(_) => panic!("send to an unreachable cluster was queued"),
    }
    let msg = result.unwrap_err().to_string();
    assert!(
        msg.contains("nowhere") && msg.contains("max.block.ms"),
        "{msg}"
    );
    assert!(
        waited >= Duration::from_millis(1400),
        "gave up before max.block.ms: {waited:?}"
    );
    eprintln!("unreachable: send failed after {waited:?}: {msg}");
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), p.close(Duration::from_secs(2)))
        .await
        .expect("close returns");
    eprintln!("unreachable: close returned after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_fail_alone() {
    let (_broker, bootstrap) = tansu_with(&[("three", 3)]);
    let p = producer(
        &bootstrap,
        &[("linger.ms", "5"), ("max.request.size", "10000")],
    );

    let ok1 = p
        .send(ProducerRecord::new("three").with_value("before"))
        .await
        .expect("normal record");

    // Unknown partition: refused at send, only that record.
    let err = p
        .send(
            ProducerRecord::new("three")
                .with_partition(99)
                .with_value("nope"),
        )
        .await
        .expect_err("partition 99 of 3");
    assert_eq!(
        (err.kind(), err.partition(), err.to_string()),
        (
            ErrorKind::InvalidRecord,
            Some(99),
            ferrokafka_partition::Error::PartitionOutOfRange {
                partition: 99,
                count: 3
            }
            .to_string()
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("99"), "{err}");
    // With a callback: the same error is returned and the callback never runs.
    let called = Arc::new(AtomicUsize::new(0));
    let counter = called.clone();
    let err = p
        .send_with_callback(
            ProducerRecord::new("three")
                .with_partition(3)
                .with_value("nope"),
            move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            },
        )
        .await
        .expect_err("partition 3 of 3");
    assert_eq!(
        (err.kind(), err.partition(), err.to_string()),
        (
            ErrorKind::InvalidRecord,
            Some(3),
            ferrokafka_partition::Error::PartitionOutOfRange {
                partition: 3,
                count: 3
            }
            .to_string()
        ),
        "{err:?}"
    );

    // Oversized: a 20000-byte value with max.request.size=10000.
    let err = p
        .send(ProducerRecord::new("three").with_value(vec![7u8; 20_000]))
        .await
        .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::RecordTooLarge, "{err:?}");
    // "record of {size} bytes is larger than {setting} = {limit}; ..."
    let text = err.to_string();
    assert!(
        text.contains(" bytes is larger than max.request.size = 10000;"),
        "{text}"
    );
    let size: usize = text
        .strip_prefix("record of ")
        .and_then(|t| t.split_once(" bytes"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {text}"));
    assert!(size > 20_000, "{size}");

    // The producer keeps working: the records around the bad ones are delivered.
    let ok2 = p
        .send(
            ProducerRecord::new("three")
                .with_partition(2)
                .with_value("after"),
        )
        .await
        .expect("normal record after the bad ones");
    let md1 = tokio::time::timeout(WAIT, ok1).await.unwrap().unwrap();
    let md2 = tokio::time::timeout(WAIT, ok2).await.unwrap().unwrap();
    assert_eq!(md2.partition(), 2);
    p.close(WAIT).await;
    assert_eq!(
        called.load(Ordering::SeqCst),
        0,
        "callback of a refused record ran"
    );
    let read = read(&bootstrap, "three", 2).await;
    let values: Vec<(i32, i64, Option<&[u8]>)> = read
        .iter()
        .map(|c| (c.partition, c.offset, c.value.as_deref()))
        .collect();
    assert_eq!(read.len(), 2, "{values:?}");
    assert!(
        values.contains(&(
            md1.partition(),
            md1.offset().unwrap(),
            Some(b"before".as_slice())
        )),
        "{values:?}"
    );
    assert!(
        values.contains(&(2, md2.offset().unwrap(), Some(b"after".as_slice()))),
        "{values:?}"
    );
}

/// Tansu 0.6.0 auto-creates a topic it does not know when a client asks for its metadata.
/// What the producer sees: the send is queued and delivered to the new topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_is_auto_created_by_tansu() {
    let (_broker, bootstrap) = tansu_with(&[]);
    let p = producer(&bootstrap, &[("max.block.ms", "5000")]);
    let started = Instant::now();
    let outcome = p
        .send(
            ProducerRecord::new("never-created")
                .with_key("k")
                .with_value("v"),
        )
        .await;
    let outcome = match outcome {
        Ok(f) => Ok(tokio::time::timeout(WAIT, f)
            .await
            .expect("delivery resolves")),
        Err(e) => Err(e),
    };
    eprintln!(
        "unknown topic: {outcome:?} after {:?}; partitions known to the producer: {:?}",
        started.elapsed(),
        p.partition_count("never-created")
    );
    let md = outcome
        .expect("send queued")
        .expect("delivered to the auto-created topic");
    assert_eq!(md.offset(), Some(0));
    p.close(WAIT).await;
    // librdkafka sees the auto-created topic with the same partition count as the producer.
    let (b, t) = (bootstrap.clone(), "never-created");
    let count = tokio::task::spawn_blocking(move || partition_count(&b, t, WAIT))
        .await
        .unwrap()
        .expect("partition count");
    assert_eq!(p.partition_count("never-created"), Some(count));
    eprintln!("unknown topic: auto-created with {count} partitions");
    // Tansu 0.6.0 gives auto-created topics 4 partitions (a `tansu broker` default).
    assert_eq!(count, 4, "partitions of the auto-created topic");
    assert_eq!(md.partition(), murmur2_partition(b"k", 4));
    let read = read(&bootstrap, "never-created", 1).await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].value.as_deref(), Some(b"v".as_slice()));
    assert_eq!(read[0].partition, md.partition());
}
