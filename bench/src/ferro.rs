//! The ferrokafka side, through the facade's async API (`Producer::new`,
//! `send(record).await` for admission returning a delivery future, `flush`, `close`).
//!
//! Pipelining: up to `--max-pending` delivery futures stay outstanding in a `FuturesUnordered`;
//! once it is full, each new record first waits for one delivery. Admission (`send(..).await`)
//! already waits for metadata and buffer space, as `max.block.ms` and `buffer.memory` say.
//!
//! Transactional runs (`--transaction-size`): `init_transactions`, then per transaction
//! `begin_transaction`, the sends as above, `commit_transaction` (which sends what is left and
//! waits for it before ending the transaction), then the transaction's delivery futures.
//!
//! Other runs use the allocation-free path a high-rate program would:
//! `try_send_borrowed_reported` (no future per record; a record it cannot queue at once goes
//! through `send_borrowed_reported`, which waits) copies the borrowed key and value into their
//! batch and one `DeliveryReporter` hears every outcome (as librdkafka's delivery callback with
//! a borrowed payload), with at most `--max-pending` records outstanding. In latency runs (`--throughput`) each record waits
//! until it is due, and its latency is the producer's own (`RecordMetadata::latency`: from the
//! send call to the acknowledgement), taken as the report arrives, as librdkafka's callback
//! takes it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;
use ferrokafka::{
    BorrowedRecord, DeliveryReporter, ProduceError, Producer, ProducerConfig, ProducerRecord,
    RecordMetadata, ReportedBatch, TrySend,
};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Notify;

use crate::drive::{Tally, Timed, pace, pacer};
use crate::{Latencies, Outcome, Params, PartitionSet, Workload};

/// Produces `p.records` records on a multi-thread tokio runtime and waits for every delivery.
pub fn run(p: &Params, w: &Workload) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("build the tokio runtime")?;
    runtime.block_on(produce(p, w))
}

async fn produce(p: &Params, w: &Workload) -> Result<Outcome> {
    let config = ProducerConfig::from_properties(p.properties())
        .context("ferrokafka producer configuration")?;
    let producer = Producer::new(config).context("create the ferrokafka producer")?;
    if p.transaction_size.is_none() {
        return produce_reported(p, w, producer).await;
    }
    let pool = Bytes::copy_from_slice(w.pool());
    let mut key = w.key_buf();
    let mut pending: FuturesUnordered<Timed<ferrokafka::DeliveryFuture>> = FuturesUnordered::new();
    let mut tally = Tally::new(p);
    let pacer = pacer(p);
    let size = p.transaction_size.unwrap_or(p.records);
    if p.transaction_size.is_some() {
        producer
            .init_transactions()
            .await
            .context("ferrokafka init_transactions")?;
    }
    let mut transactions = 0;
    let mut txn_partitions = 0;
    let mut at = 0;
    while at < p.records {
        let end = p.records.min(at + size);
        if p.transaction_size.is_some() {
            producer
                .begin_transaction()
                .context("ferrokafka begin_transaction")?;
        }
        for i in at..end {
            let mut record =
                ProducerRecord::new(p.topic.as_str()).with_value(pool.slice(w.value_range(i)));
            if p.keyed() {
                w.key_into(i, &mut key);
                record = record.with_key(Bytes::copy_from_slice(&key));
            }
            let sent = pace(pacer.as_ref(), i, &mut pending, |r, l| {
                tally.settle(r.map(|m| m.partition()), l);
            })
            .await;
            let delivery = producer
                .send(record)
                .await
                .with_context(|| format!("ferrokafka send of record {i}"))?;
            pending.push(Timed::new(delivery, sent));
            while pending.len() >= p.max_pending {
                if let Some((result, latency)) = pending.next().await {
                    tally.settle(result.map(|m| m.partition()), latency);
                }
            }
        }
        if p.transaction_size.is_some() {
            producer
                .commit_transaction()
                .await
                .with_context(|| format!("ferrokafka commit_transaction {}", transactions + 1))?;
            while let Some((result, latency)) = pending.next().await {
                tally.settle(result.map(|m| m.partition()), latency);
            }
            transactions += 1;
            txn_partitions += tally.partitions.as_mut().map_or(0, PartitionSet::take_len);
        }
        at = end;
    }
    producer
        .flush(p.flush_timeout)
        .await
        .context("ferrokafka flush")?;
    while let Some((result, latency)) = pending.next().await {
        tally.settle(result.map(|m| m.partition()), latency);
    }
    producer.close(p.flush_timeout).await;
    tally.outcome.transactions = transactions;
    tally.outcome.txn_partitions = txn_partitions;
    Ok(tally.outcome)
}

/// The outcomes of a throughput run, shared with the producer's I/O task.
#[derive(Default)]
struct Reports {
    /// Latency runs: the latencies of records sent after the warm-up (tags from this one on).
    latencies: Option<Mutex<Latencies>>,
    counted_from: u64,
    delivered: AtomicU64,
    failures: AtomicU64,
    first_error: Mutex<Option<String>>,
    looped: LoopCounts,
    reported_count: ReportCounts,
    /// Raised by a report while the sending loop waits for room.
    room: Notify,
    waiting: AtomicBool,
}

impl DeliveryReporter for Reports {
    fn report(&self, tag: u64, outcome: Result<RecordMetadata, ProduceError>) {
        match outcome {
            Ok(md) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if let Some(l) = &self.latencies
                    && tag >= self.counted_from
                {
                    l.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .record(md.latency());
                }
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| e.to_string());
            }
        }
        self.done(1);
    }

    /// A delivered batch is counted at once (a failed one record by record).
    fn report_batch(&self, batch: &ReportedBatch<'_>) {
        if batch.error().is_some() {
            for (tag, outcome) in batch.outcomes() {
                self.report(tag, outcome);
            }
            return;
        }
        let n = batch.len() as u64;
        self.delivered.fetch_add(n, Ordering::Relaxed);
        if let Some(l) = &self.latencies {
            let mut l = l.lock().unwrap_or_else(|p| p.into_inner());
            for r in batch.records().filter(|r| r.tag() >= self.counted_from) {
                l.record(r.latency());
            }
        }
        self.done(n);
    }
}

impl Reports {
    /// `n` more records were reported; wakes the sending loop if it waits for room.
    fn done(&self, n: u64) {
        self.reported_count.done.fetch_add(n, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) {
            self.room.notify_one();
        }
    }
}

/// What the sending loop alone writes, on a cache line of its own: a count both threads
/// changed per record would move between their cores every time.
#[derive(Default)]
#[repr(align(128))]
struct LoopCounts {
    /// Records sent.
    sent: AtomicU64,
    /// `ReportCounts::done` as the loop last read it.
    seen_done: AtomicU64,
}

/// What the reports (and refused sends) write, on a cache line of its own.
#[derive(Default)]
#[repr(align(128))]
struct ReportCounts {
    /// Reported or refused records.
    done: AtomicU64,
}

impl Reports {
    /// Records sent and not yet reported.
    fn outstanding(&self) -> u64 {
        let done = self.reported_count.done.load(Ordering::SeqCst);
        self.looped.seen_done.store(done, Ordering::Relaxed);
        self.looped.sent.load(Ordering::SeqCst).saturating_sub(done)
    }

    /// One more record sent (the loop alone counts).
    fn sent(&self) {
        let sent = self.looped.sent.load(Ordering::Relaxed);
        self.looped.sent.store(sent + 1, Ordering::Relaxed);
    }

    /// Waits until fewer than `max` (at least one) records are outstanding.
    async fn below(&self, max: usize) {
        let max = (max as u64).max(1);
        // At most this many are outstanding (`done` only grows): while it is below `max`, the
        // loop does not read the reports' count.
        let sent = self.looped.sent.load(Ordering::Relaxed);
        if sent.saturating_sub(self.looped.seen_done.load(Ordering::Relaxed)) < max
            || self.outstanding() < max
        {
            return;
        }
        self.waiting.store(true, Ordering::SeqCst);
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if self.outstanding() < max {
                break;
            }
            room.await;
        }
        self.waiting.store(false, Ordering::SeqCst);
    }
}

/// A throughput run through `try_send_borrowed_reported` (see the module docs).
async fn produce_reported(p: &Params, w: &Workload, producer: Producer) -> Result<Outcome> {
    let pacer = pacer(p);
    let reports = Arc::new(Reports {
        latencies: pacer.map(|_| Mutex::new(Latencies::default())),
        counted_from: pacer.map_or(0, |pc| {
            (0..p.records).find(|&i| pc.counted(i)).unwrap_or(p.records)
        }),
        ..Reports::default()
    });
    let reporter: Arc<dyn DeliveryReporter> = reports.clone();
    let mut key = w.key_buf();
    for i in 0..p.records {
        if let Some(wait) = pacer.and_then(|pc| pc.wait(i, std::time::Instant::now())) {
            tokio::time::sleep(wait).await;
        }
        reports.below(p.max_pending).await;
        let mut record =
            BorrowedRecord::new(p.topic.as_str()).with_value(&w.pool()[w.value_range(i)]);
        if p.keyed() {
            w.key_into(i, &mut key);
            record = record.with_key(&key);
        }
        reports.sent();
        // At once when the record can be queued without waiting; otherwise the send that waits.
        let sent = match producer.try_send_borrowed_reported(record, &reporter, i) {
            Ok(TrySend::Queued) => Ok(()),
            Ok(TrySend::MustWait) => producer.send_borrowed_reported(record, &reporter, i).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            reports.reported_count.done.fetch_add(1, Ordering::SeqCst);
            return Err(e).with_context(|| format!("ferrokafka send of record {i}"));
        }
    }
    producer
        .flush(p.flush_timeout)
        .await
        .context("ferrokafka flush")?;
    reports.below(1).await;
    print_metrics(&producer);
    producer.close(p.flush_timeout).await;
    let first_error = reports
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let latencies = reports
        .latencies
        .as_ref()
        .map(|l| std::mem::take(&mut *l.lock().unwrap_or_else(|p| p.into_inner())));
    Ok(Outcome {
        delivered: reports.delivered.load(Ordering::SeqCst),
        failures: reports.failures.load(Ordering::SeqCst),
        first_error,
        latencies,
        ..Outcome::default()
    })
}

/// With `FERROKAFKA_BENCH_METRICS` set, prints the producer's batching metrics to stderr (Java's
/// names), to compare how a run batched with librdkafka's statistics.
fn print_metrics(producer: &Producer) {
    if std::env::var_os("FERROKAFKA_BENCH_METRICS").is_none() {
        return;
    }
    let m = producer.metrics();
    let names = [
        "request-total",
        "batch-size-avg",
        "records-per-request-avg",
        "request-latency-avg",
        "record-queue-time-avg",
        "requests-in-flight",
    ];
    let line: Vec<String> = names
        .iter()
        .map(|n| format!("{n}={:.1}", m.get(n).unwrap_or(f64::NAN)))
        .collect();
    eprintln!("ferrokafka metrics: {}", line.join(" "));
}
