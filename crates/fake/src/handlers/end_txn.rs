//! EndTxn (key 26), v0–5.
//!
//! Sent to the transaction's coordinator (else NOT_COORDINATOR) with the producer id and
//! epoch it holds (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED from v2 / INVALID_PRODUCER_EPOCH
//! before). With an open transaction, writes a COMMIT or ABORT marker to every partition of it
//! — at once: the fake has no PrepareCommit phase — and on commit makes the offsets sent with
//! TxnOffsetCommit visible to OffsetFetch. A retry of the same outcome after completion
//! answers success; the other outcome, or ending a transaction never begun, INVALID_TXN_STATE.
//!
//! Transactions v2 (KIP-890, v5 with `transaction.version=2`): every EndTxn bumps the epoch
//! (the markers carry the new one) and the answer returns the producer id and new epoch; a
//! retry with the previous epoch of a completed transaction answers the current ones.

use ferrokafka_wire::messages::{EndTxnRequest, EndTxnResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::Cluster;
use crate::cluster::Ctx;
use crate::handlers::check_txn;
use crate::producer_state::ProducerEntry;
use crate::txn::{CommittedOffset, TxnStatus};

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &EndTxnRequest,
    error: Option<ErrorCode>,
) -> EndTxnResponse {
    let throttle_time_ms = cluster.throttle_ms(ApiKey::END_TXN);
    let answer = |code: ErrorCode, id: i64, epoch: i16| EndTxnResponse {
        throttle_time_ms,
        error_code: code.0,
        producer_id: id,
        producer_epoch: epoch,
        ..EndTxnResponse::default()
    };
    if let Some(code) = error {
        return answer(code, -1, -1);
    }
    let v2 = cluster.config.transactions_v2 && ctx.version >= 5;
    let fenced = if ctx.version >= 2 {
        ErrorCode::PRODUCER_FENCED
    } else {
        ErrorCode::INVALID_PRODUCER_EPOCH
    };
    let txn_id = req.transactional_id.as_str();
    let wanted = if req.committed {
        TxnStatus::CompleteCommit
    } else {
        TxnStatus::CompleteAbort
    };
    // A v2 retry: the previous epoch of a transaction that completed the same way.
    if v2
        && let Some(t) = cluster.txns.get(txn_id)
        && t.producer_id == req.producer_id
        && req.producer_epoch == t.producer_epoch - 1
        && t.status == wanted
        && cluster.coordinator_for(txn_id) == Some(ctx.broker)
    {
        return answer(ErrorCode::NONE, t.producer_id, t.producer_epoch);
    }
    if let Err(code) = check_txn(
        cluster,
        ctx.broker,
        txn_id,
        req.producer_id,
        req.producer_epoch,
        fenced,
    ) {
        return answer(code, -1, -1);
    }
    let Some(t) = cluster.txns.get(txn_id) else {
        return answer(ErrorCode::INVALID_PRODUCER_ID_MAPPING, -1, -1);
    };
    let (id, epoch, status) = (t.producer_id, t.producer_epoch, t.status);
    match status {
        TxnStatus::Ongoing => {}
        s if s == wanted && !v2 => return answer(ErrorCode::NONE, id, epoch),
        // v2 allows ending a transaction that never started (an abort after a failure).
        TxnStatus::Empty | TxnStatus::CompleteCommit | TxnStatus::CompleteAbort if v2 => {
            let next = epoch.saturating_add(1);
            if let Some(t) = cluster.txns.get_mut(txn_id) {
                t.producer_epoch = next;
                t.status = wanted;
            }
            return answer(ErrorCode::NONE, id, next);
        }
        _ => return answer(ErrorCode::INVALID_TXN_STATE, -1, -1),
    }
    let marker_epoch = if v2 { epoch.saturating_add(1) } else { epoch };
    if let Some(t) = cluster.txns.get_mut(txn_id) {
        t.producer_epoch = marker_epoch;
    }
    complete(cluster, txn_id, req.committed, ctx.wall_ms, marker_epoch);
    if v2 {
        answer(ErrorCode::NONE, id, marker_epoch)
    } else {
        answer(ErrorCode::NONE, -1, -1)
    }
}

/// Ends the open transaction of `txn_id`: markers with `marker_epoch` in each of its
/// partitions, offsets applied on commit, status CompleteCommit/CompleteAbort.
pub(crate) fn complete(
    cluster: &mut Cluster,
    txn_id: &str,
    commit: bool,
    wall_ms: i64,
    marker_epoch: i16,
) {
    let Some(t) = cluster.txns.get_mut(txn_id) else {
        return;
    };
    let partitions = std::mem::take(&mut t.partitions);
    let offsets = std::mem::take(&mut t.pending_offsets);
    t.groups.clear();
    t.started_at = None;
    t.status = if commit {
        t.commits += 1;
        TxnStatus::CompleteCommit
    } else {
        t.aborts += 1;
        TxnStatus::CompleteAbort
    };
    let pid = t.producer_id;
    for (topic, partition) in partitions {
        if let Some(p) = cluster.partition_mut(&topic, partition) {
            let leader_epoch = p.leader_epoch;
            p.log
                .write_marker(pid, marker_epoch, commit, 0, leader_epoch, wall_ms);
            let mut entry = p.producers.remove(&pid);
            ProducerEntry::record_marker(&mut entry, marker_epoch);
            if let Some(e) = entry {
                p.producers.insert(pid, e);
            }
        }
    }
    if commit {
        for o in offsets {
            cluster.groups.entry(o.group).or_default().insert(
                (o.topic, o.partition),
                CommittedOffset {
                    offset: o.offset,
                    leader_epoch: o.leader_epoch,
                    metadata: o.metadata,
                },
            );
        }
    }
}
