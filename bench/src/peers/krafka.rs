//! krafka (crates.io `krafka`): `Kafka::builder(..).connect()`, `kafka.producer()` with typed
//! settings, `enqueue(record).await` (returns once the record is buffered) giving a
//! `DeliveryHandle` future, `flush`, `close`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use krafka::producer::Acks;
use krafka::{Compression, Kafka, Record};

use crate::drive::{Tally, Timed, pace, pacer};
use crate::{Outcome, Params, Workload};

pub(super) async fn produce(p: &Params, w: &Workload) -> Result<Outcome> {
    let acks = match p.acks.as_str() {
        "all" | "-1" => Acks::All,
        "1" => Acks::Leader,
        "0" => Acks::None,
        other => bail!("krafka: acks={other} is not one of all, 1, 0"),
    };
    let compression = match p.compression.as_str() {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => bail!("krafka: unknown compression {other:?}"),
    };
    let mut builder = Kafka::builder(p.bootstrap.as_str()).client_id("ferrokafka-bench");
    for (k, v) in &p.extra {
        if k == "request.timeout.ms" {
            builder = builder.request_timeout(Duration::from_millis(v.parse()?));
        }
    }
    let kafka = super::connect("krafka", builder.connect()).await?;
    let mut producer = kafka
        .producer()
        .acks(acks)
        .compression(compression)
        .batch_size(p.batch_size as usize)
        .linger(Duration::from_millis(p.linger_ms))
        .idempotent(p.idempotence);
    for (k, v) in &p.extra {
        if k == "buffer.memory" {
            producer = producer.buffer_memory(v.parse()?);
        }
    }
    let producer = super::connect("krafka", producer.build()).await?;
    super::connect("krafka", producer.partitions_for(&p.topic)).await?;
    let mut tally = Tally::new(p);
    tally.outcome.notes.extend(super::unmapped(
        "krafka",
        p,
        &["request.timeout.ms", "buffer.memory"],
    ));
    let pacer = pacer(p);
    let topic = p.topic.clone();
    let pool = Bytes::copy_from_slice(w.pool());
    let mut key = w.key_buf();
    let mut pending: FuturesUnordered<Timed<krafka::producer::DeliveryHandle>> =
        FuturesUnordered::new();
    for i in 0..p.records {
        let mut record = Record::new(topic.as_str(), pool.slice(w.value_range(i)));
        if p.keyed() {
            w.key_into(i, &mut key);
            record = record.key(Bytes::copy_from_slice(&key));
        }
        let sent = pace(pacer.as_ref(), i, &mut pending, |r, l| {
            tally.settle(r.map(|m| m.partition), l);
        })
        .await;
        let handle = producer
            .enqueue(record)
            .await
            .with_context(|| format!("krafka enqueue of record {i}"))?;
        pending.push(Timed::new(handle, sent));
        while pending.len() >= p.max_pending {
            if let Some((result, latency)) = pending.next().await {
                tally.settle(result.map(|m| m.partition), latency);
            }
        }
    }
    producer.flush().await.context("krafka flush")?;
    while let Some((result, latency)) = pending.next().await {
        tally.settle(result.map(|m| m.partition), latency);
    }
    producer.close().await.context("krafka close")?;
    Ok(tally.outcome)
}
