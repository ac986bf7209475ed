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

use anyhow::{Context, Result};
use bytes::Bytes;
use ferrokafka::{ProduceError, Producer, ProducerConfig, ProducerRecord, RecordMetadata};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

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
    let mut pending = FuturesUnordered::new();
    let mut tally = Tally {
        outcome: Outcome::default(),
        // The partitions of the current transaction (tracked in transactional runs only).
        partitions: p.transaction_size.map(|_| PartitionSet::default()),
    };
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
                    tally.settle(result);
                }
            }
        }
        if p.transaction_size.is_some() {
            producer
                .commit_transaction()
                .await
                .with_context(|| format!("ferrokafka commit_transaction {}", transactions + 1))?;
            while let Some(result) = pending.next().await {
                tally.settle(result);
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
    while let Some(result) = pending.next().await {
        tally.settle(result);
    }
    producer.close(p.flush_timeout).await;
    tally.outcome.transactions = transactions;
    tally.outcome.txn_partitions = txn_partitions;
    Ok(tally.outcome)
}

/// The delivery results so far.
struct Tally {
    outcome: Outcome,
    partitions: Option<PartitionSet>,
}

impl Tally {
    fn settle(&mut self, result: Result<RecordMetadata, ProduceError>) {
        match result {
            Ok(metadata) => {
                self.outcome.delivered += 1;
                if let Some(set) = &mut self.partitions {
                    set.insert(metadata.partition());
                }
            }
            Err(e) => {
                self.outcome.failures += 1;
                if self.outcome.first_error.is_none() {
                    self.outcome.first_error = Some(format!("{e}"));
                }
            }
        }
    }
}
