//! kacrab (crates.io `kacrab`, feature `producer`): `Producer::builder()` takes the Java
//! property names, so every property of the run is passed as it is; `send(record)` is
//! synchronous and returns a `SendFuture`; `flush`, `close`.

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kacrab::producer::{Producer, ProducerError, ProducerRecord};

use crate::drive::{Tally, Timed, pace, pacer};
use crate::{Outcome, Params, Workload};

pub(super) async fn produce(p: &Params, w: &Workload) -> Result<Outcome> {
    let mut builder = Producer::builder();
    for (k, v) in p.properties() {
        builder = builder.set(k.as_str(), v.as_str());
    }
    let producer = super::connect("kacrab", builder.build()).await?;
    // Its first metadata request, bounded: a broker kacrab cannot talk to would otherwise
    // leave every send waiting out max.block.ms.
    super::connect("kacrab", producer.partitions_for(&p.topic)).await?;
    let mut tally = Tally::new(p);
    let pacer = pacer(p);
    let topic: std::sync::Arc<str> = p.topic.as_str().into();
    let pool = Bytes::copy_from_slice(w.pool());
    let mut key = w.key_buf();
    let mut pending = FuturesUnordered::new();
    for i in 0..p.records {
        let sent = pace(pacer.as_ref(), i, &mut pending, |r, l| {
            settle(&mut tally, r, l);
        })
        .await;
        let delivery = loop {
            let mut record =
                ProducerRecord::unassigned(topic.clone()).value(pool.slice(w.value_range(i)));
            if p.keyed() {
                w.key_into(i, &mut key);
                record = record.key(Bytes::copy_from_slice(&key));
            }
            match producer.send(record) {
                Ok(delivery) => break delivery,
                // Buffer memory exhausted: wait for a delivery to free some, then try again.
                Err(ProducerError::Backpressure) if !pending.is_empty() => {
                    if let Some((result, latency)) = pending.next().await {
                        settle(&mut tally, result, latency);
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("kacrab send of record {i}")),
            }
        };
        pending.push(Timed::new(delivery, sent));
        while pending.len() >= p.max_pending {
            if let Some((result, latency)) = pending.next().await {
                settle(&mut tally, result, latency);
            }
        }
    }
    producer.flush().await.context("kacrab flush")?;
    while let Some((result, latency)) = pending.next().await {
        settle(&mut tally, result, latency);
    }
    producer.close().await.context("kacrab close")?;
    Ok(tally.outcome)
}

fn settle(
    tally: &mut Tally,
    result: kacrab::producer::Result<kacrab::producer::RecordMetadata>,
    latency: Option<std::time::Duration>,
) {
    tally.settle(result.map(|m| m.partition), latency);
}
