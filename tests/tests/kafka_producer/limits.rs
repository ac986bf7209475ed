//! Broker limits (3): a topic's `max.message.bytes` splitting batches and failing one oversized
//! record alone, an acks=0 producer reconnecting after Kafka closes the connection, and a
//! client quota throttling the producer.

use std::time::Duration;

use ferrokafka::ProducerRecord;
use ferrokafka_tests::data::{Rng, Sent};
use ferrokafka_tests::kafka::JavaHelper;
use ferrokafka_tests::producing::{await_all, send_all};

use crate::stored::stored_batches;
use crate::{WAIT, assert_log_holds, base_timestamp, create, kafka, producer, read_both};

// ---------------------------------------------------------------------------------------------
// 3. broker limits
// ---------------------------------------------------------------------------------------------

/// `max.message.bytes=4096` on the topic, `batch.size` 64 KiB and a linger longer than the
/// test, then a flush: each partition's first batch is ten times over the limit, Kafka answers MESSAGE_TOO_LARGE, and the producer splits them
/// (again and again) until they fit. Every record arrives, in order, exactly once; under
/// idempotence the split parts continue the original's sequences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_too_large_splits_batches_live() {
    const RECORDS: usize = 240;
    let cases = [
        ("kp-split-idem", "all", "none"),
        ("kp-split-acks1-gzip", "1", "gzip"),
    ];
    for (topic, acks, codec) in cases {
        create(topic, 2, &[("max.message.bytes", "4096")]);
        let base = base_timestamp();
        let mut rng = Rng(7);
        let sent: Vec<Sent> = (0..RECORDS)
            .map(|i| Sent {
                partition: Some((i % 2) as i32),
                headers: vec![("n".into(), Some(i.to_string().into_bytes()))],
                // Random bytes: gzip cannot make the batches fit.
                ..Sent::plain(Some(format!("k{i}").into_bytes()), rng.bytes(300), base)
            })
            .collect();
        let p = producer(&[
            ("acks", acks),
            ("compression.type", codec),
            ("batch.size", "65536"),
            ("linger.ms", "60000"),
        ]);
        // Nothing leaves before the flush: each partition's records form one ~40 KB batch.
        let futures = send_all(&p, topic, &sent).await;
        p.flush(WAIT).await.expect("flush");
        let metadata = await_all(futures, WAIT).await;
        let m = p.metrics();
        p.close(WAIT).await;
        let label = format!("{topic} (acks={acks}, {codec})");
        assert_eq!(m.get("record-error-total"), Some(0.0), "{label}");
        assert_log_holds(&label, topic, &sent, &metadata, codec).await;
        // What is stored fits the limit, so batches were split: more batches than a 64 KiB
        // batch.size would give (two partitions of 36 KB each).
        let mut batches = 0;
        for partition in 0..2 {
            for b in stored_batches(topic, partition) {
                assert!(
                    b.count <= 13,
                    "{label}: a batch of {} records fits 4096",
                    b.count
                );
                if acks == "all" {
                    assert_eq!(i64::from(b.base_sequence), b.base_offset, "{label}");
                }
                batches += 1;
            }
        }
        assert!(batches >= 2 * 9, "{label}: only {batches} stored batches");
    }
}

/// A record larger than the topic's `max.message.bytes` (but within `max.request.size`) is
/// refused by Kafka with MESSAGE_TOO_LARGE: only that record fails. Under idempotence the records
/// pipelined behind it on the same partition carry later sequences than the one Kafka never
/// wrote; they must still be delivered (Java: an epoch bump for the partition, then the
/// out-of-order answers are retried with new sequences), in send order, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_record_fails_alone_and_the_records_behind_it_arrive() {
    let topic = "kp-oversized";
    create(topic, 1, &[("max.message.bytes", "4096")]);
    let base = base_timestamp();
    let p = producer(&[("linger.ms", "0"), ("batch.size", "1000")]);
    let record = |name: &str, len: usize| {
        let mut v = name.as_bytes().to_vec();
        v.resize(len, b'.');
        Sent::plain(Some(name.as_bytes().to_vec()), v, base)
    };
    // Sends without waiting: small records around two oversized ones, several requests in
    // flight at once.
    let mut futures = Vec::new();
    let mut expect_ok = Vec::new();
    for round in 0..3 {
        for i in 0..6 {
            let big = round < 2 && i == 2;
            let s = record(&format!("r{round}-{i}"), if big { 6000 } else { 300 });
            let f = p.send(s.to_record(topic)).await.expect("queued");
            futures.push((s.clone(), big, f));
            if !big {
                expect_ok.push(s);
            }
        }
    }
    let mut metadata = Vec::new();
    for (s, big, f) in futures {
        let key = String::from_utf8_lossy(s.key.as_deref().unwrap()).into_owned();
        let result = tokio::time::timeout(WAIT, f)
            .await
            .unwrap_or_else(|_| panic!("{key}: delivery did not resolve"));
        match (big, result) {
            (true, Err(e)) => {
                let msg = e.to_string();
                assert!(msg.contains("MESSAGE_TOO_LARGE"), "{key}: {msg}");
            }
            (true, Ok(md)) => panic!("{key}: 6000 bytes accepted by a 4096 topic: {md:?}"),
            (false, Ok(md)) => metadata.push(md),
            (false, Err(e)) => panic!("{key}: a small record failed: {e}"),
        }
    }
    let m = p.metrics();
    p.close(WAIT).await;
    eprintln!(
        "oversized: {} Produce requests, {:?} records retried",
        m.get("produce-request-total").unwrap_or(0.0),
        m.get("record-retry-total")
    );
    assert_eq!(m.get("record-error-total"), Some(2.0));
    assert_log_holds("oversized", topic, &expect_ok, &metadata, "none").await;
}

/// acks=0 gets no answers, so Kafka reports a failed acks=0 Produce (here MESSAGE_TOO_LARGE) by
/// closing the connection; requests already written behind it are lost, as with the Java client.
/// The producer must notice the close, reconnect, and deliver what it sends afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks0_producer_recovers_when_kafka_closes_the_connection() {
    const AFTER: usize = 50;
    let topic = "kp-acks0-close";
    create(topic, 1, &[("max.message.bytes", "4096")]);
    let base = base_timestamp();
    let p = producer(&[("acks", "0"), ("linger.ms", "0")]);
    let oversized = p
        .send(ProducerRecord::new(topic).with_value(vec![b'x'; 6000]))
        .await
        .expect("queued");
    p.flush(WAIT).await.expect("flush");
    let md = tokio::time::timeout(WAIT, oversized)
        .await
        .expect("resolves")
        .expect("acks=0: delivered once written");
    assert_eq!(md.offset(), None);
    // Probes until one is in the log (the broker's segment on disk): the first ones may be
    // written to the connection Kafka is closing. Bounded.
    let mut probes = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while stored_batches(topic, 0).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no acks=0 record reached Kafka after {probes} probes"
        );
        let f = p
            .send(ProducerRecord::new(topic).with_value(format!("probe-{probes}")))
            .await
            .expect("queued");
        p.flush(WAIT).await.expect("flush");
        tokio::time::timeout(WAIT, f)
            .await
            .expect("resolves")
            .expect("written");
        probes += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent: Vec<Sent> = (0..AFTER)
        .map(|i| Sent::plain(None, format!("after-{i}").into_bytes(), base + i as i64))
        .collect();
    let metadata = await_all(send_all(&p, topic, &sent).await, WAIT).await;
    p.close(WAIT).await;
    assert!(metadata.iter().all(|md| md.offset().is_none()));
    let stored: usize = stored_batches(topic, 0)
        .iter()
        .map(|b| b.count as usize)
        .sum();
    eprintln!("acks0 close: {probes} probes, {stored} records stored in all");
    let read = read_both(topic, AFTER + 1, "none").await;
    let values: Vec<Vec<u8>> = read.iter().filter_map(|c| c.value.clone()).collect();
    let (probes_read, after) = values.split_at(values.len() - AFTER);
    assert!(
        !probes_read.is_empty() && probes_read.iter().all(|v| v.starts_with(b"probe-")),
        "before the last {AFTER}: {probes_read:?}"
    );
    let want: Vec<Vec<u8>> = sent.iter().filter_map(|s| s.value.clone()).collect();
    assert_eq!(
        after,
        want.as_slice(),
        "every record sent after the reconnection"
    );
}

/// A `producer_byte_rate` quota on the producer's `client.id`: Kafka answers Produce requests
/// with `throttle_time_ms` > 0 (KIP-219) and the producer reports it in
/// `produce-throttle-time-avg`/`-max`. Everything is still delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_quota_throttles_and_the_producer_reports_it() {
    const ROUND: usize = 100;
    const MAX_ROUNDS: usize = 8;
    let topic = "kp-quota";
    let client_id = format!("kp-quota-client-{}", std::process::id());
    create(topic, 1, &[]);
    set_quota(&client_id, Some(2048)).await;
    // Kafka measures the rate over at least 10 one-second windows, so about 20 KiB must pass
    // before a 2 KiB/s quota is exceeded; the quota also reaches the broker asynchronously.
    // Rounds of 100 records of 200 bytes until a response carries a throttle time (bounded).
    let p = producer(&[("client.id", &client_id), ("linger.ms", "5")]);
    let base = base_timestamp();
    let mut sent = Vec::new();
    let mut metadata = Vec::new();
    for round in 0..MAX_ROUNDS {
        let batch: Vec<Sent> = (0..ROUND)
            .map(|i| {
                let n = round * ROUND + i;
                let mut v = format!("quota-{n}-").into_bytes();
                v.resize(200, b'q');
                Sent::plain(None, v, base + n as i64)
            })
            .collect();
        metadata.extend(await_all(send_all(&p, topic, &batch).await, WAIT).await);
        sent.extend(batch);
        if p.metrics().get("produce-throttle-time-max").unwrap_or(0.0) > 0.0 {
            break;
        }
    }
    let m = p.metrics();
    p.close(WAIT).await;
    let (avg, max) = (
        m.get("produce-throttle-time-avg")
            .expect("throttle avg metric"),
        m.get("produce-throttle-time-max")
            .expect("throttle max metric"),
    );
    eprintln!(
        "quota: {} records, throttle avg {avg} ms, max {max} ms",
        sent.len()
    );
    assert!(
        max > 0.0,
        "no Produce response was throttled after {} records",
        sent.len()
    );
    assert!(avg > 0.0 && avg <= max, "avg {avg}, max {max}");
    assert_eq!(m.get("record-error-total"), Some(0.0));
    set_quota(&client_id, None).await;
    assert_log_holds("quota", topic, &sent, &metadata, "none").await;
}

/// Sets (or with `None` removes) the `producer_byte_rate` quota of `client_id`.
async fn set_quota(client_id: &str, bytes_per_second: Option<u64>) {
    let cid = client_id.to_string();
    tokio::task::spawn_blocking(move || {
        JavaHelper::shared()
            .expect("java helper")
            .set_producer_quota(&kafka().bootstrap(), &cid, bytes_per_second)
            .unwrap_or_else(|e| panic!("quota {bytes_per_second:?} for {cid}: {e}"));
    })
    .await
    .expect("quota thread");
}
