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
//! Latency runs (`--throughput`): each record waits until it is due, and its delivery future
//! carries its send time ([`crate::drive::Timed`]).

use anyhow::{Context, Result};
use bytes::Bytes;
use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::drive::{Tally, Timed, pace, pacer};
use crate::{Outcome, Params, PartitionSet, Workload};

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
