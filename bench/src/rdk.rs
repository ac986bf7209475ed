//! The librdkafka side: rdkafka's `BaseProducer`, driven the way its documentation asks for
//! maximum throughput: `send` until the local queue is full, `poll` to serve delivery reports
//! (and to make room when the queue is full), `flush` at the end.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use crate::{Outcome, Params, Workload};

/// Counts delivery reports.
#[derive(Debug, Default)]
struct Counter {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Counter {
    fn note_error(&self, e: String) {
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.is_none() {
            *first = Some(e);
        }
    }
}

impl ClientContext for Counter {
    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("bench-client: librdkafka: {error}: {reason}");
    }
}

impl ProducerContext for Counter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, (): ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.note_error(e.to_string());
            }
        }
    }
}

/// How often (in records sent) to serve delivery reports while the queue still has room.
const POLL_EVERY: u64 = 1024;

/// Serves the delivery reports that have arrived, without blocking: `poll(0)` handles one
/// event (one event carries the reports of many records), so poll while that makes progress.
fn serve(producer: &BaseProducer<Counter>) {
    let ctx = producer.context();
    let done = || ctx.delivered.load(Ordering::Relaxed) + ctx.failed.load(Ordering::Relaxed);
    loop {
        let before = done();
        producer.poll(Duration::ZERO);
        if done() == before {
            break;
        }
    }
}

/// Produces `p.records` records and waits for every delivery report.
pub fn run(p: &Params, w: &Workload) -> Result<Outcome> {
    let mut config = ClientConfig::new();
    for (k, v) in p.properties() {
        config.set(k, v);
    }
    let producer: BaseProducer<Counter> = config
        .create_with_context(Counter::default())
        .context("create the librdkafka producer")?;
    let mut key = w.key_buf();
    for i in 0..p.records {
        w.key_into(i, &mut key);
        let mut record = BaseRecord::to(&p.topic).key(&key[..]).payload(w.value(i));
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    // Not `poll(1 ms)`: rdkafka 0.39's `poll(d)` keeps polling until `d` has
                    // passed and hands librdkafka the remaining time in whole milliseconds, so
                    // its last millisecond is a busy loop (all of it, for d = 1 ms). Sleep, then
                    // serve what arrived.
                    std::thread::sleep(Duration::from_millis(1));
                    serve(&producer);
                }
                Err((e, _)) => bail!("librdkafka send of record {i} failed: {e}"),
            }
        }
        if i % POLL_EVERY == 0 {
            serve(&producer);
        }
    }
    producer
        .flush(p.flush_timeout)
        .context("librdkafka flush")?;
    let ctx = producer.context();
    let first_error = ctx
        .first_error
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok(Outcome {
        delivered: ctx.delivered.load(Ordering::Relaxed),
        failures: ctx.failed.load(Ordering::Relaxed),
        first_error,
    })
}

/// The sum of the topic's high watermarks: how many records the broker holds (or ever held,
/// where it deletes old ones). Read before and after a measurement, in a process of its own,
/// to check that the broker really has every record the client counted as delivered.
pub fn high_watermark_sum(bootstrap: &str, topic: &str) -> Result<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let timeout = Duration::from_secs(10);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .context("create the librdkafka consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .context("fetch metadata")?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .with_context(|| format!("no metadata for topic {topic}"))?
        .partitions()
        .len();
    if partitions == 0 {
        bail!("topic {topic} has no partitions");
    }
    let mut sum = 0;
    for p in 0..partitions as i32 {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .with_context(|| format!("fetch the watermarks of {topic}/{p}"))?;
        sum += high;
    }
    Ok(sum)
}
