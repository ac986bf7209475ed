//! The librdkafka side: rdkafka's `BaseProducer`, driven the way its documentation asks for
//! maximum throughput: `send` until the local queue is full, `poll` to serve delivery reports
//! (and to make room when the queue is full), `flush` at the end.
//!
//! Transactional runs (`--transaction-size`): `init_transactions`, then per transaction
//! `begin_transaction`, the sends as above, `drain`, `commit_transaction`. The drain comes
//! first because rdkafka 0.39's `commit_transaction` starts with its own `flush`, which, with
//! anything outstanding, polls in steps of 100 ms that always last their full 100 ms (see the
//! note on `poll` in `send_range`): every commit would take 100 ms or more (measured on the
//! mock: 20 transactions of 1,000 records in 2.07 s without the drain). librdkafka's own flush
//! inside `rd_kafka_commit_transaction` then finds nothing left and goes straight to EndTxn.
//!
//! Latency runs (`--throughput`): each record waits until it is due and carries its send time
//! (microseconds since the producer was created) as its delivery opaque; the delivery callback
//! records the difference.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use crate::{Latencies, Outcome, Pacer, Params, PartitionSet, Workload};

/// Counts delivery reports (and, in transactional runs, the partitions they name).
#[derive(Debug)]
struct Counter {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    transactional: bool,
    /// Partitions below 64 that the current transaction wrote to, a bit each.
    partition_bits: AtomicU64,
    /// The current transaction's other partitions.
    partitions_high: Mutex<PartitionSet>,
    /// What send times (the delivery opaques) count from.
    start: Instant,
    /// Delivery latencies (latency runs only).
    latencies: Option<Mutex<Latencies>>,
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
    /// The record's send time in microseconds since `start` (latency runs; else 0).
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_us: usize) {
        match result {
            Ok(message) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if let Some(l) = self.latencies.as_ref().filter(|_| sent_us != NOT_TIMED) {
                    let now_us = self.start.elapsed().as_micros() as u64;
                    l.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .record_us(now_us.saturating_sub(sent_us as u64));
                }
                if self.transactional {
                    let partition = message.partition();
                    match u32::try_from(partition) {
                        Ok(p) if p < 64 => {
                            self.partition_bits.fetch_or(1 << p, Ordering::Relaxed);
                        }
                        _ => self
                            .partitions_high
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(partition),
                    }
                }
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.note_error(e.to_string());
            }
        }
    }
}

/// The delivery opaque of a record whose latency does not count (sent during the warm-up).
const NOT_TIMED: usize = usize::MAX;

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
    let counter = Counter {
        delivered: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        first_error: Mutex::new(None),
        transactional: p.transaction_size.is_some(),
        partition_bits: AtomicU64::new(0),
        partitions_high: Mutex::new(PartitionSet::default()),
        start: Instant::now(),
        latencies: p.throughput.map(|_| Mutex::new(Latencies::default())),
    };
    let producer: BaseProducer<Counter> = config
        .create_with_context(counter)
        .context("create the librdkafka producer")?;
    let mut key = w.key_buf();
    let mut transactions = 0;
    let mut txn_partitions = 0;
    match p.transaction_size {
        None => send_range(&producer, p, w, &mut key, 0..p.records)?,
        Some(size) => {
            producer
                .init_transactions(p.flush_timeout)
                .context("librdkafka init_transactions")?;
            let mut at = 0;
            while at < p.records {
                let end = p.records.min(at + size);
                producer
                    .begin_transaction()
                    .context("librdkafka begin_transaction")?;
                send_range(&producer, p, w, &mut key, at..end)?;
                drain(&producer, p.flush_timeout)?;
                producer
                    .commit_transaction(p.flush_timeout)
                    .with_context(|| {
                        format!("librdkafka commit_transaction {}", transactions + 1)
                    })?;
                transactions += 1;
                txn_partitions += take_partitions(producer.context());
                at = end;
            }
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
    let latencies = ctx.latencies.as_ref().map(|l| {
        l.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    });
    Ok(Outcome {
        delivered: ctx.delivered.load(Ordering::Relaxed),
        failures: ctx.failed.load(Ordering::Relaxed),
        first_error,
        transactions,
        txn_partitions,
        latencies,
        notes: Vec::new(),
    })
}

/// Sends records `range`, serving delivery reports as it goes.
fn send_range(
    producer: &BaseProducer<Counter>,
    p: &Params,
    w: &Workload,
    key: &mut crate::Key,
    range: std::ops::Range<u64>,
) -> Result<()> {
    let ctx = producer.context();
    let pacer = p.throughput.map(|rate| Pacer::new(ctx.start, rate));
    for i in range {
        let mut sent_us = 0;
        if let Some(pacer) = &pacer {
            while let Some(wait) = pacer.wait(i, Instant::now()) {
                // Serve delivery reports while waiting, at most 1 ms at a time.
                std::thread::sleep(wait.min(Duration::from_millis(1)));
                serve(producer);
            }
            sent_us = if pacer.counted(i) {
                ctx.start.elapsed().as_micros() as usize
            } else {
                NOT_TIMED
            };
        }
        let mut record = BaseRecord::with_opaque_to(&p.topic, sent_us).payload(w.value(i));
        if p.keyed() {
            w.key_into(i, key);
            record = record.key(&key[..]);
        }
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
                    serve(producer);
                }
                Err((e, _)) => bail!("librdkafka send of record {i} failed: {e}"),
            }
        }
        if i % POLL_EVERY == 0 {
            serve(producer);
        }
    }
    Ok(())
}

/// How long [`drain`] sleeps between looks at the queue.
const DRAIN_NAP: Duration = Duration::from_micros(200);

/// Waits until every record sent has been acknowledged and its delivery report served
/// (`rd_kafka_outq_len` is 0), serving reports every [`DRAIN_NAP`]. One `flush(0)` first wakes
/// the broker threads; librdkafka's "send now, ignore linger.ms" flag lasts only while a
/// flush call runs, though, and rdkafka 0.39 never holds a flush call open (see the module
/// docs), so the transaction's last batches may still wait out `linger.ms`.
fn drain(producer: &BaseProducer<Counter>, timeout: Duration) -> Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    // With a zero timeout rdkafka's flush calls rd_kafka_flush(0) once and returns at once.
    let _ = producer.flush(Duration::ZERO);
    loop {
        serve(producer);
        if producer.in_flight_count() == 0 {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "{} record(s) still outstanding after {} s",
                producer.in_flight_count(),
                timeout.as_secs()
            );
        }
        std::thread::sleep(DRAIN_NAP);
    }
}

/// How many partitions the transaction just committed wrote to; resets the count.
fn take_partitions(ctx: &Counter) -> u64 {
    let bits = ctx.partition_bits.swap(0, Ordering::Relaxed);
    let mut high = ctx
        .partitions_high
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    high.insert_mask(bits);
    high.take_len()
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
