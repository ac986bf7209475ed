//! The ferrokafka side, through the facade's async API (`Producer::new`,
//! `send(record).await` for admission returning a delivery future, `flush`, `close`).
//!
//! Pipelining: up to `--max-pending` delivery futures stay outstanding in a `FuturesUnordered`;
//! once it is full, each new record first waits for one delivery. Admission (`send(..).await`)
//! already waits for metadata and buffer space, as `max.block.ms` and `buffer.memory` say.

use anyhow::{Context, Result};
use bytes::Bytes;
use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::{Outcome, Params, Workload};

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
    let pool = Bytes::copy_from_slice(w.pool());
    let mut key = w.key_buf();
    let mut pending = FuturesUnordered::new();
    let mut outcome = Outcome::default();
    let mut settle = |result: Result<_, _>| match result {
        Ok(_metadata) => outcome.delivered += 1,
        Err(e) => {
            outcome.failures += 1;
            if outcome.first_error.is_none() {
                outcome.first_error = Some(format!("{e}"));
            }
        }
    };
    for i in 0..p.records {
        w.key_into(i, &mut key);
        let record = ProducerRecord::new(p.topic.as_str())
            .with_key(Bytes::copy_from_slice(&key))
            .with_value(pool.slice(w.value_range(i)));
        let delivery = producer
            .send(record)
            .await
            .with_context(|| format!("ferrokafka send of record {i}"))?;
        pending.push(delivery);
        while pending.len() >= p.max_pending {
            if let Some(result) = pending.next().await {
                settle(result);
            }
        }
    }
    producer
        .flush(p.flush_timeout)
        .await
        .context("ferrokafka flush")?;
    while let Some(result) = pending.next().await {
        settle(result);
    }
    producer.close(p.flush_timeout).await;
    Ok(outcome)
}
