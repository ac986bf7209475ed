//! ListOffsets (key 2), v1–7.
//!
//! Per partition: an injected error; UNKNOWN_TOPIC_OR_PARTITION; NOT_LEADER_OR_FOLLOWER;
//! FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH (v4+). Timestamp -2 (earliest) answers the log
//! start offset, -1 (latest) the high watermark — the last stable offset for read_committed
//! (v2+) —, -3 (max timestamp, v7) the offset of the record with the largest timestamp, any
//! other timestamp the first record at or after it (or -1 if none).

use ferrokafka_records::{DecodeOptions, batches};
use ferrokafka_wire::messages::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use ferrokafka_wire::messages::{ListOffsetsRequest, ListOffsetsResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx, Partition};

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &ListOffsetsRequest,
    error: Option<ErrorCode>,
) -> ListOffsetsResponse {
    let read_committed = req.isolation_level == 1;
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let mut parts = Vec::with_capacity(t.partitions.len());
        for lp in &t.partitions {
            let mut out = ListOffsetsPartitionResponse {
                partition_index: lp.partition_index,
                ..ListOffsetsPartitionResponse::default()
            };
            let injected = error.or_else(|| {
                cluster.faults.take_partition_error(
                    ApiKey::LIST_OFFSETS,
                    ctx.broker,
                    &t.name,
                    lp.partition_index,
                )
            });
            let code = match (injected, cluster.partition(&t.name, lp.partition_index)) {
                (Some(code), _) => code,
                (None, None) => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                (None, Some(p)) if p.leader != ctx.broker => ErrorCode::NOT_LEADER_OR_FOLLOWER,
                (None, Some(p))
                    if lp.current_leader_epoch >= 0 && lp.current_leader_epoch < p.leader_epoch =>
                {
                    ErrorCode::FENCED_LEADER_EPOCH
                }
                (None, Some(p)) if lp.current_leader_epoch > p.leader_epoch => {
                    ErrorCode::UNKNOWN_LEADER_EPOCH
                }
                (None, Some(p)) => {
                    let (offset, timestamp) = lookup(p, lp.timestamp, read_committed);
                    out.offset = offset;
                    out.timestamp = timestamp;
                    out.leader_epoch = p.leader_epoch;
                    ErrorCode::NONE
                }
            };
            out.error_code = code.0;
            parts.push(out);
        }
        topics.push(ListOffsetsTopicResponse {
            name: t.name.clone(),
            partitions: parts,
            ..ListOffsetsTopicResponse::default()
        });
    }
    ListOffsetsResponse {
        throttle_time_ms: cluster.throttle_ms(ApiKey::LIST_OFFSETS),
        topics,
        ..ListOffsetsResponse::default()
    }
}

fn lookup(p: &Partition, timestamp: i64, read_committed: bool) -> (i64, i64) {
    match timestamp {
        -2 => (p.log.log_start_offset(), -1),
        -1 if read_committed => (p.log.last_stable_offset(), -1),
        -1 => (p.log.high_watermark(), -1),
        -3 => {
            let mut best = (-1, -1);
            for stored in p.log.batches() {
                for b in batches(&stored.bytes, DecodeOptions::default()).flatten() {
                    if b.is_control() {
                        continue;
                    }
                    for r in b.records().flatten() {
                        if r.timestamp > best.1 {
                            best = (r.offset, r.timestamp);
                        }
                    }
                }
            }
            best
        }
        t => p.log.offset_for_time(t).unwrap_or((-1, -1)),
    }
}
