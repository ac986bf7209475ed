//! The producer's lifecycle and what it counts: `flush`, `close` and dropping it resolve every
//! delivery future (5), and the send counters and latency metrics (6).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrokafka::{DeliveryFuture, ErrorKind, ProduceError, ProducerRecord, RecordMetadata};
use ferrokafka_tests::data::Sent;
use ferrokafka_tests::producing::{await_all, send_all};
use ferrokafka_tests::wait::poll_now;

use crate::{BASE_TS, WAIT, assert_topic_holds, producer, tansu_with};

// ---------------------------------------------------------------------------------------------
// 5. flush, close, drop
// ---------------------------------------------------------------------------------------------

/// `n` records tagged `tag`: thirteen keys, one header, no explicit partition.
fn simple(n: usize, tag: &str) -> Vec<Sent> {
    (0..n)
        .map(|i| Sent {
            headers: vec![("h".to_string(), Some(b"1".to_vec()))],
            ..Sent::plain(
                Some(format!("{tag}-{}", i % 13).into_bytes()),
                format!("{tag}-{i}").into_bytes(),
                BASE_TS + i as i64,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_resolves_every_future_sent_before_it() {
    const RECORDS: usize = 300;
    let (_broker, bootstrap) = tansu_with(&[("flush", 3)]);
    // A linger far longer than the test: only flush can send these records.
    let p = producer(&bootstrap, &[("linger.ms", "60000")]);
    let sent = simple(RECORDS, "flush");
    let mut futures = send_all(&p, "flush", &sent[..RECORDS - 50]).await;
    // Callbacks too: all run before flush returns.
    let called = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<BTreeMap<usize, Result<RecordMetadata, ProduceError>>>> = Arc::default();
    for (i, s) in sent.iter().enumerate().skip(RECORDS - 50) {
        let (called, results) = (called.clone(), results.clone());
        p.send_with_callback(s.to_record("flush"), move |r| {
            results.lock().unwrap().insert(i, r);
            called.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .expect("send with callback");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pending = futures
        .iter_mut()
        .map(|f| poll_now(f).is_none())
        .filter(|&pending| pending)
        .count();
    assert!(
        pending > 0 && called.load(Ordering::SeqCst) == 0,
        "with linger.ms=60000 records should still be waiting before flush"
    );
    // flush sends at once: it must succeed within WAIT, shorter than the 60 s linger the
    // records would otherwise wait for (an outcome, not a measured time).
    const { assert!(WAIT.as_secs() < 60) };
    p.flush(WAIT)
        .await
        .expect("flush within WAIT, before any linger.ms expired");
    let mut metadata = resolved_now(&mut futures, "flush returned Ok");
    assert_eq!(called.load(Ordering::SeqCst), 50, "callbacks run by flush");
    for (i, r) in std::mem::take(&mut *results.lock().unwrap()) {
        assert_eq!(i, metadata.len());
        metadata.push(r.unwrap_or_else(|e| panic!("callback #{i}: {e}")));
    }
    assert_topic_holds(&bootstrap, "flush", &sent, &metadata).await;
    p.close(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_resolves_every_future_and_refuses_new_sends() {
    const RECORDS: usize = 300;
    let (_broker, bootstrap) = tansu_with(&[("close", 3)]);
    let p = producer(&bootstrap, &[("linger.ms", "60000")]);
    let sent = simple(RECORDS, "close");
    let mut futures = send_all(&p, "close", &sent).await;
    // close sends the lingering records at once: whatever close(WAIT) has not sent by WAIT,
    // shorter than the 60 s linger, fails, and every record must be delivered below.
    const { assert!(WAIT.as_secs() < 60) };
    p.close(WAIT).await;
    let metadata = resolved_now(&mut futures, "close returned");
    let err = p
        .send(ProducerRecord::new("close").with_value("late"))
        .await
        .expect_err("send after close");
    assert!(
        err.kind() == ErrorKind::Closed && err.to_string() == "producer is closed",
        "{err:?}"
    );
    assert_topic_holds(&bootstrap, "close", &sent, &metadata).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_producer_still_delivers() {
    const RECORDS: usize = 300;
    let (_broker, bootstrap) = tansu_with(&[("dropped", 3)]);
    let p = producer(&bootstrap, &[("linger.ms", "60000")]);
    let sent = simple(RECORDS, "dropped");
    let futures = send_all(&p, "dropped", &sent).await;
    drop(p);
    let started = Instant::now();
    let metadata = await_all(futures, WAIT).await;
    eprintln!(
        "dropped: all futures resolved {:?} after the drop",
        started.elapsed()
    );
    assert_topic_holds(&bootstrap, "dropped", &sent, &metadata).await;
}

/// The outcome of every future, each of which must be ready and a success `after` something.
fn resolved_now(futures: &mut [DeliveryFuture], after: &str) -> Vec<RecordMetadata> {
    futures
        .iter_mut()
        .enumerate()
        .map(|(i, f)| {
            poll_now(f)
                .unwrap_or_else(|| panic!("future #{i} still pending after {after}"))
                .unwrap_or_else(|e| panic!("#{i} not delivered when {after}: {e}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 6. metrics
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_sent() {
    const RECORDS: usize = 250;
    let (_broker, bootstrap) = tansu_with(&[("metrics", 3), ("metrics-other", 1)]);
    let p = producer(&bootstrap, &[("linger.ms", "5")]);
    let before = p.metrics();
    assert_eq!(before.get("record-send-total"), Some(0.0));
    let sent = simple(RECORDS, "metrics");
    let futures = send_all(&p, "metrics", &sent).await;
    let other = send_all(&p, "metrics-other", &simple(10, "other")).await;
    // A refused record is not sent, so it is not counted.
    p.send(ProducerRecord::new("metrics").with_partition(99))
        .await
        .expect_err("partition 99 of 3");
    p.flush(WAIT).await.expect("flush");
    await_all(futures, WAIT).await;
    await_all(other, WAIT).await;
    let m = p.metrics();
    let all: Vec<(String, f64)> = m.iter().map(|(k, v)| (k.to_string(), v)).collect();
    eprintln!("metrics: {all:?}");
    assert_eq!(
        m.get("record-send-total"),
        Some(f64::from(RECORDS as u32 + 10)),
        "{all:?}"
    );
    assert_eq!(m.topic_record_send_total("metrics"), RECORDS as u64);
    assert_eq!(m.topic_record_send_total("metrics-other"), 10);
    assert_eq!(m.topic_record_send_total("unused"), 0);
    assert_eq!(m.get("record-error-total"), Some(0.0), "{all:?}");
    let latency = m.get("request-latency-avg").expect("request-latency-avg");
    assert!(latency > 0.0, "request-latency-avg {latency}");
    assert!(m.get("request-latency-max").unwrap() >= latency, "{all:?}");
    assert!(m.get("produce-request-total").unwrap() >= 1.0, "{all:?}");
    assert!(m.get("record-send-rate").unwrap() > 0.0, "{all:?}");
    p.close(WAIT).await;
}
