//! TxnOffsetCommit (key 28), v0–5.
//!
//! Sent to the group's coordinator (else NOT_COORDINATOR). The producer id and epoch must
//! hold the transactional id (INVALID_PRODUCER_ID_MAPPING; PRODUCER_FENCED from v3,
//! INVALID_PRODUCER_EPOCH before) and the group must have been added with AddOffsetsToTxn
//! (INVALID_TXN_STATE otherwise) — except under transactions v2 at v5, where the group joins
//! the transaction implicitly (KIP-890). The offsets stay pending until EndTxn commits them.

use ferrokafka_wire::messages::txn::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use ferrokafka_wire::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};
use crate::txn::PendingOffset;

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &TxnOffsetCommitRequest,
    error: Option<ErrorCode>,
) -> TxnOffsetCommitResponse {
    let v2 = cluster.config.transactions_v2 && ctx.version >= 5;
    let fenced = if ctx.version >= 3 {
        ErrorCode::PRODUCER_FENCED
    } else {
        ErrorCode::INVALID_PRODUCER_EPOCH
    };
    let result = error.map_or_else(|| check(cluster, ctx, req, fenced, v2), Err);
    if result.is_ok()
        && let Some(t) = cluster.txns.get_mut(&req.transactional_id)
    {
        t.groups.insert(req.group_id.clone());
        t.begin(ctx.now);
        for topic in &req.topics {
            for p in &topic.partitions {
                t.pending_offsets.retain(|o| {
                    !(o.group == req.group_id
                        && o.topic == topic.name
                        && o.partition == p.partition_index)
                });
                t.pending_offsets.push(PendingOffset {
                    group: req.group_id.clone(),
                    topic: topic.name.clone(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.clone(),
                });
            }
        }
    }
    let code = result.err().unwrap_or(ErrorCode::NONE);
    TxnOffsetCommitResponse {
        throttle_time_ms: cluster.throttle_ms(ApiKey::TXN_OFFSET_COMMIT),
        topics: req
            .topics
            .iter()
            .map(|t| TxnOffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| TxnOffsetCommitResponsePartition {
                        partition_index: p.partition_index,
                        error_code: code.0,
                        ..TxnOffsetCommitResponsePartition::default()
                    })
                    .collect(),
                ..TxnOffsetCommitResponseTopic::default()
            })
            .collect(),
        ..TxnOffsetCommitResponse::default()
    }
}

fn check(
    cluster: &Cluster,
    ctx: Ctx,
    req: &TxnOffsetCommitRequest,
    fenced: ErrorCode,
    v2: bool,
) -> Result<(), ErrorCode> {
    if cluster.coordinator_for(&req.group_id) != Some(ctx.broker) {
        return Err(ErrorCode::NOT_COORDINATOR);
    }
    let Some(t) = cluster.txns.get(&req.transactional_id) else {
        return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
    };
    if t.producer_id != req.producer_id {
        return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
    }
    if req.producer_epoch < t.producer_epoch {
        return Err(fenced);
    }
    if req.producer_epoch > t.producer_epoch {
        return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
    }
    if !v2 && !t.groups.contains(&req.group_id) {
        return Err(ErrorCode::INVALID_TXN_STATE);
    }
    Ok(())
}
