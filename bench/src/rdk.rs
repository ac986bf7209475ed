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
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => bail!("librdkafka send of record {i} failed: {e}"),
            }
        }
        if i % POLL_EVERY == 0 {
            producer.poll(Duration::ZERO);
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
