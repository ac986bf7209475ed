//! Driving the producer under test: the helpers every live suite used to carry its own copy
//! of. Every wait is bounded and its failure names what it waited for.

use std::future::Future;
use std::time::Duration;

use ferrokafka::{DeliveryFuture, Producer, ProducerRecord, RecordMetadata};
use tokio::runtime::Runtime;

/// The runtime the blocking (`#[test]`) suites drive the producer on: two worker threads, I/O
/// and time enabled.
///
/// # Panics
/// If the runtime cannot be built.
#[must_use]
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A record with an explicit partition, a key and a value.
#[must_use]
pub fn record(topic: &str, partition: i32, key: &str, value: &str) -> ProducerRecord {
    ProducerRecord::new(topic)
        .with_partition(partition)
        .with_key(key.to_owned())
        .with_value(value.to_owned())
}

/// Sends `r`, which must be accepted.
///
/// # Panics
/// If the send is refused.
pub async fn send(p: &Producer, r: ProducerRecord) -> DeliveryFuture {
    p.send(r).await.expect("send queued")
}

/// Awaits every delivery, each within `wait`; panics on a delivery error or one that does not
/// resolve, naming the record by its position.
///
/// # Panics
/// If a delivery fails or does not resolve within `wait`.
pub async fn await_all(futures: Vec<DeliveryFuture>, wait: Duration) -> Vec<RecordMetadata> {
    let mut out = Vec::with_capacity(futures.len());
    for (i, f) in futures.into_iter().enumerate() {
        let md = tokio::time::timeout(wait, f)
            .await
            .unwrap_or_else(|_| panic!("delivery #{i} did not resolve within {wait:?}"))
            .unwrap_or_else(|e| panic!("delivery #{i} failed: {e}"));
        out.push(md);
    }
    out
}

/// Awaits `call` for at most `limit`, so a hang fails the test instead of stalling it.
///
/// # Panics
/// If `call` does not finish within `limit`.
pub async fn within<T>(limit: Duration, what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

/// Checks `cond` every few milliseconds (on the runtime's clock) until it holds; panics, naming
/// `what`, if it still does not after `limit`.
///
/// # Panics
/// If `cond` does not hold within `limit`.
pub async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(limit, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out after {limit:?} waiting for {what}"
    );
}

/// The producer's metric `name` (Java's name).
///
/// # Panics
/// If the producer has no such metric.
#[must_use]
pub fn metric(p: &Producer, name: &str) -> f64 {
    p.metrics()
        .get(name)
        .unwrap_or_else(|| panic!("the producer has no metric {name}"))
}
