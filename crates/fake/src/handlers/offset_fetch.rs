//! OffsetFetch (key 9), v1–7.
//!
//! Sent to the group's coordinator (else NOT_COORDINATOR). Answers the committed offsets of
//! the requested partitions (-1 where none), or of every partition the group committed for a
//! null topic list (v2+). With `require_stable` (v7, KIP-447) a partition with offsets pending
//! in an open transaction answers UNSTABLE_OFFSET_COMMIT.

use ferrokafka_wire::messages::offset_fetch::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use ferrokafka_wire::messages::{OffsetFetchRequest, OffsetFetchResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &OffsetFetchRequest,
    error: Option<ErrorCode>,
) -> OffsetFetchResponse {
    let throttle_time_ms = cluster.throttle_ms(ApiKey::OFFSET_FETCH);
    let top = error.or_else(|| {
        (cluster.coordinator_for(&req.group_id) != Some(ctx.broker))
            .then_some(ErrorCode::NOT_COORDINATOR)
    });
    let committed = cluster.groups.get(&req.group_id);
    let wanted: Vec<(String, Vec<i32>)> = if let Some(list) = &req.topics {
        list.iter()
            .map(|t| (t.name.clone(), t.partition_indexes.clone()))
            .collect()
    } else {
        let mut all: Vec<(String, Vec<i32>)> = Vec::new();
        for (topic, p) in committed.into_iter().flat_map(|g| g.keys()) {
            match all.last_mut() {
                Some((t, ps)) if t == topic => ps.push(*p),
                _ => all.push((topic.clone(), vec![*p])),
            }
        }
        all
    };
    let pending = |topic: &str, p: i32| {
        cluster.txns.values().any(|t| {
            t.pending_offsets
                .iter()
                .any(|o| o.group == req.group_id && o.topic == topic && o.partition == p)
        })
    };
    let topics = wanted
        .into_iter()
        .map(|(name, parts)| OffsetFetchResponseTopic {
            partitions: parts
                .into_iter()
                .map(|p| {
                    let c = committed.and_then(|g| g.get(&(name.clone(), p)));
                    let code = match top {
                        Some(code) => code,
                        None if req.require_stable && pending(&name, p) => {
                            ErrorCode::UNSTABLE_OFFSET_COMMIT
                        }
                        None => ErrorCode::NONE,
                    };
                    OffsetFetchResponsePartition {
                        partition_index: p,
                        committed_offset: c.map_or(-1, |c| c.offset),
                        committed_leader_epoch: c.map_or(-1, |c| c.leader_epoch),
                        metadata: c.and_then(|c| c.metadata.clone()).or(Some(String::new())),
                        error_code: code.0,
                        ..OffsetFetchResponsePartition::default()
                    }
                })
                .collect(),
            name,
            ..OffsetFetchResponseTopic::default()
        })
        .collect();
    OffsetFetchResponse {
        throttle_time_ms,
        topics,
        error_code: top.unwrap_or(ErrorCode::NONE).0,
        ..OffsetFetchResponse::default()
    }
}
