//! Produce (key 0), v3–12 (v13, topic ids, is not served).
//!
//! Per partition, in this order:
//! - an injected error (request-level or for this partition) answers without appending —
//!   except NOT_ENOUGH_REPLICAS_AFTER_APPEND, which appends first, as Kafka does, and
//!   MESSAGE_TOO_LARGE on an idempotent batch the log already holds (it fit: Kafka checks the
//!   size before the producer state), which is answered as the duplicate it is;
//! - UNKNOWN_TOPIC_OR_PARTITION; NOT_LEADER_OR_FOLLOWER on a broker that does not lead it
//!   (with the current leader as a hint from v10, KIP-951);
//! - NOT_ENOUGH_REPLICAS for acks=all while the topic's `min.insync.replicas` switch is on;
//! - MESSAGE_TOO_LARGE for a batch above the topic's `max.message.bytes`; CORRUPT_MESSAGE for
//!   bytes that are not exactly one valid v2 batch (CRC checked, records decoded);
//!   INVALID_RECORD for a control batch;
//! - transactional batches: the producer id must own the request's transactional id and the
//!   partition must be in the open transaction (INVALID_TXN_STATE otherwise) — except under
//!   transactions v2 at v12, where the partition joins the transaction implicitly (KIP-890);
//! - idempotent batches (producer id ≥ 0): see [`crate::producer_state`]; a duplicate of one of
//!   the last five batches answers its original base offset.
//!
//! Appended batches get offsets from the log end, the partition's leader epoch and, on a
//! LogAppendTime topic, the append time (answered in `log_append_time_ms`). acks=0 gets no
//! answer.

use ferrokafka_records::{BatchHeader, DecodeOptions, RECORD_BATCH_OVERHEAD, batches};
use ferrokafka_wire::messages::produce::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, TopicProduceResponse,
};
use ferrokafka_wire::messages::{ProduceRequest, ProduceResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};
use crate::producer_state::{BatchMetadata, ProducerEntry, Verdict, last_sequence};

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &ProduceRequest,
    error: Option<ErrorCode>,
) -> Option<ProduceResponse> {
    let mut responses = Vec::with_capacity(req.topic_data.len());
    let mut hinted = Vec::new();
    for t in &req.topic_data {
        let mut parts = Vec::with_capacity(t.partition_data.len());
        for p in &t.partition_data {
            let injected = error.or_else(|| {
                cluster
                    .faults
                    .take_partition_error(ApiKey::PRODUCE, ctx.broker, &t.name, p.index)
            });
            let result = match injected {
                // Kafka appends before it finds the ISR too small: so does the fake, and a
                // retry is then a duplicate.
                Some(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND) => {
                    let _ = append(cluster, ctx, req, &t.name, p.index, p.records.as_deref());
                    Err(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND)
                }
                // An injected MESSAGE_TOO_LARGE stands for a batch over max.message.bytes;
                // a batch the log already holds fit, so its retry is the duplicate it is.
                Some(ErrorCode::MESSAGE_TOO_LARGE)
                    if holds_already(cluster, &t.name, p.index, p.records.as_deref()) =>
                {
                    append(cluster, ctx, req, &t.name, p.index, p.records.as_deref())
                }
                Some(code) => Err(code),
                None => append(cluster, ctx, req, &t.name, p.index, p.records.as_deref()),
            };
            let mut r = PartitionProduceResponse {
                index: p.index,
                ..PartitionProduceResponse::default()
            };
            match result {
                Ok((base, append_time)) => {
                    r.base_offset = base;
                    r.log_append_time_ms = append_time;
                    r.log_start_offset = 0;
                }
                Err(code) => {
                    r.error_code = code.0;
                    r.base_offset = -1;
                    if code == ErrorCode::NOT_LEADER_OR_FOLLOWER
                        && ctx.version >= 10
                        && let Some((leader, epoch)) = cluster.leader(&t.name, p.index)
                        && leader >= 0
                    {
                        r.current_leader = LeaderIdAndEpoch {
                            leader_id: leader,
                            leader_epoch: epoch,
                            ..LeaderIdAndEpoch::default()
                        };
                        hinted.push(leader);
                    }
                }
            }
            parts.push(r);
        }
        responses.push(TopicProduceResponse {
            name: t.name.clone(),
            partition_responses: parts,
            ..TopicProduceResponse::default()
        });
    }
    if req.acks == 0 {
        return None;
    }
    hinted.sort_unstable();
    hinted.dedup();
    let node_endpoints = hinted
        .into_iter()
        .filter_map(|id| {
            cluster.brokers.get(&id).map(|b| NodeEndpoint {
                node_id: id,
                host: b.host.clone(),
                port: b.port,
                rack: b.rack.clone(),
                ..NodeEndpoint::default()
            })
        })
        .collect();
    Some(ProduceResponse {
        responses,
        throttle_time_ms: cluster.throttle_ms(ApiKey::PRODUCE),
        node_endpoints,
        ..ProduceResponse::default()
    })
}

/// Validates and appends one partition's records; `(base offset, log append time or -1)`.
/// Whether `records` is an idempotent batch the partition's log already holds (a retry of
/// one the client did not see acknowledged).
fn holds_already(cluster: &Cluster, topic: &str, partition: i32, records: Option<&[u8]>) -> bool {
    let Some(header) = records.and_then(|raw| validate(raw).ok()) else {
        return false;
    };
    let Some(p) = cluster.topics.get(topic).and_then(|t| {
        usize::try_from(partition)
            .ok()
            .and_then(|i| t.partitions.get(i))
    }) else {
        return false;
    };
    let last = last_sequence(header.base_sequence, header.record_count);
    header.producer_id >= 0
        && matches!(
            ProducerEntry::check(
                p.producers.get(&header.producer_id),
                header.producer_epoch,
                header.base_sequence,
                last
            ),
            Verdict::Duplicate(_)
        )
}

fn append(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &ProduceRequest,
    topic: &str,
    partition: i32,
    records: Option<&[u8]>,
) -> Result<(i64, i64), ErrorCode> {
    let v2 = cluster.config.transactions_v2 && ctx.version >= 12;
    let failing_isr = cluster.min_insync_failing.contains(topic);
    let planted_duplicates = cluster.planted_append_duplicates;
    let Some(t) = cluster.topics.get_mut(topic) else {
        return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    };
    let config = t.config.clone();
    let Some(p) = usize::try_from(partition)
        .ok()
        .and_then(|i| t.partitions.get_mut(i))
    else {
        return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    };
    if p.leader != ctx.broker {
        return Err(ErrorCode::NOT_LEADER_OR_FOLLOWER);
    }
    if req.acks == -1 && failing_isr {
        return Err(ErrorCode::NOT_ENOUGH_REPLICAS);
    }
    let raw = records.ok_or(ErrorCode::CORRUPT_MESSAGE)?;
    if raw.len() > config.max_message_bytes {
        return Err(ErrorCode::MESSAGE_TOO_LARGE);
    }
    let header = validate(raw)?;
    if header.is_control() {
        return Err(ErrorCode::INVALID_RECORD);
    }
    let pid = header.producer_id;
    if header.is_transactional() {
        let Some(txn_id) = req.transactional_id.as_deref() else {
            return Err(ErrorCode::INVALID_RECORD);
        };
        let Some(txn) = cluster.txns.get_mut(txn_id) else {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        };
        if txn.producer_id != pid {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if header.producer_epoch < txn.producer_epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        let key = (topic.to_owned(), partition);
        if !txn.partitions.contains(&key) {
            if v2 && header.producer_epoch == txn.producer_epoch {
                txn.partitions.insert(key);
                txn.begin(ctx.now);
            } else {
                return Err(ErrorCode::INVALID_TXN_STATE);
            }
        }
    }
    let append_time = config.log_append_time.then_some(ctx.wall_ms);
    if pid < 0 {
        let base = p.log.append(raw, &header, p.leader_epoch, append_time);
        return Ok((base, append_time.unwrap_or(-1)));
    }
    let first = header.base_sequence;
    let last = last_sequence(first, header.record_count);
    match ProducerEntry::check(p.producers.get(&pid), header.producer_epoch, first, last) {
        Verdict::Reject(code) => Err(code),
        Verdict::Duplicate(m) if !planted_duplicates => Ok((m.base_offset, m.log_append_time)),
        Verdict::Duplicate(_) | Verdict::Append => {
            let base = p.log.append(raw, &header, p.leader_epoch, append_time);
            let mut entry = p.producers.remove(&pid);
            ProducerEntry::record(
                &mut entry,
                header.producer_epoch,
                BatchMetadata {
                    first_sequence: first,
                    last_sequence: last,
                    base_offset: base,
                    log_append_time: append_time.unwrap_or(-1),
                },
            );
            if let Some(e) = entry {
                p.producers.insert(pid, e);
            }
            Ok((base, append_time.unwrap_or(-1)))
        }
    }
}

/// Exactly one whole v2 batch with a valid CRC and decodable records; its header.
fn validate(raw: &[u8]) -> Result<BatchHeader, ErrorCode> {
    if raw.len() < RECORD_BATCH_OVERHEAD {
        return Err(ErrorCode::CORRUPT_MESSAGE);
    }
    let mut iter = batches(raw, DecodeOptions::default());
    let Some(Ok(batch)) = iter.next() else {
        return Err(ErrorCode::CORRUPT_MESSAGE);
    };
    if batch.raw().len() != raw.len() {
        // More than one batch (or trailing bytes): Kafka wants one batch per partition.
        return Err(ErrorCode::INVALID_RECORD);
    }
    let header = *batch.header();
    let mut count = 0i64;
    for r in batch.records() {
        if r.is_err() {
            return Err(ErrorCode::CORRUPT_MESSAGE);
        }
        count += 1;
    }
    if count != i64::from(header.record_count)
        || header.record_count < 1
        || header.last_offset_delta != header.record_count - 1
    {
        return Err(ErrorCode::CORRUPT_MESSAGE);
    }
    Ok(header)
}
