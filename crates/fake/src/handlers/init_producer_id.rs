//! InitProducerId (key 22), v0–5.
//!
//! Without a transactional id: a fresh producer id with epoch 0 on every call (an idempotent
//! producer's epoch bump after a sequence error simply gets a new id).
//!
//! With one (sent to its coordinator, else NOT_COORDINATOR): INVALID_TRANSACTION_TIMEOUT above
//! `transaction.max.timeout.ms`. The first call allocates a producer id, epoch 0. Later calls
//! abort an open transaction (ABORT markers in its partitions) and bump the epoch, fencing the
//! previous instance; at epoch `i16::MAX - 1` a new producer id starts at epoch 0. From v3
//! (KIP-360) the request may name the producer id and epoch it holds: they must be the current
//! ones (or the previous epoch of the current id, a retry), else PRODUCER_FENCED (v4+) /
//! INVALID_PRODUCER_EPOCH.

use ferrokafka_wire::messages::{InitProducerIdRequest, InitProducerIdResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};
use crate::handlers::end_txn::complete;
use crate::txn::{TxnState, TxnStatus};

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &InitProducerIdRequest,
    error: Option<ErrorCode>,
) -> InitProducerIdResponse {
    let throttle_time_ms = cluster.throttle_ms(ApiKey::INIT_PRODUCER_ID);
    let answer = |r: Result<(i64, i16), ErrorCode>| match r {
        Ok((producer_id, producer_epoch)) => InitProducerIdResponse {
            throttle_time_ms,
            producer_id,
            producer_epoch,
            ..InitProducerIdResponse::default()
        },
        Err(code) => InitProducerIdResponse {
            throttle_time_ms,
            error_code: code.0,
            producer_id: -1,
            producer_epoch: -1,
            ..InitProducerIdResponse::default()
        },
    };
    if let Some(code) = error {
        return answer(Err(code));
    }
    let Some(txn_id) = req.transactional_id.clone() else {
        let id = cluster.allocate_producer_id();
        return answer(Ok((id, 0)));
    };
    if cluster.coordinator_for(&txn_id) != Some(ctx.broker) {
        return answer(Err(ErrorCode::NOT_COORDINATOR));
    }
    if req.transaction_timeout_ms <= 0
        || req.transaction_timeout_ms > cluster.config.max_transaction_timeout_ms
    {
        return answer(Err(ErrorCode::INVALID_TRANSACTION_TIMEOUT));
    }
    let fenced = if ctx.version >= 4 {
        ErrorCode::PRODUCER_FENCED
    } else {
        ErrorCode::INVALID_PRODUCER_EPOCH
    };
    let Some(current) = cluster.txns.get(&txn_id).cloned() else {
        if req.producer_id >= 0 {
            return answer(Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING));
        }
        let id = cluster.allocate_producer_id();
        cluster.txns.insert(
            txn_id,
            TxnState {
                producer_id: id,
                producer_epoch: 0,
                status: TxnStatus::Empty,
                partitions: Default::default(),
                groups: Default::default(),
                pending_offsets: Vec::new(),
                timeout_ms: req.transaction_timeout_ms,
                started_at: None,
                commits: 0,
                aborts: 0,
            },
        );
        return answer(Ok((id, 0)));
    };
    if req.producer_id >= 0
        && !(req.producer_id == current.producer_id
            && (req.producer_epoch == current.producer_epoch
                || req.producer_epoch == current.producer_epoch - 1))
    {
        return answer(Err(fenced));
    }
    if current.producer_epoch >= i16::MAX - 1 {
        // Epochs exhausted: abort under the old identity, then start a new producer id.
        if current.status == TxnStatus::Ongoing {
            complete(cluster, &txn_id, false, ctx.wall_ms, current.producer_epoch);
        }
        let id = cluster.allocate_producer_id();
        if let Some(t) = cluster.txns.get_mut(&txn_id) {
            t.producer_id = id;
            t.producer_epoch = 0;
            t.status = TxnStatus::Empty;
            t.timeout_ms = req.transaction_timeout_ms;
        }
        return answer(Ok((id, 0)));
    }
    // Bump first, so the ABORT markers of an open transaction carry the new epoch and fence
    // the previous instance's in-flight batches.
    let epoch = current.producer_epoch + 1;
    if let Some(t) = cluster.txns.get_mut(&txn_id) {
        t.producer_epoch = epoch;
        t.timeout_ms = req.transaction_timeout_ms;
    }
    if current.status == TxnStatus::Ongoing {
        complete(cluster, &txn_id, false, ctx.wall_ms, epoch);
    }
    if let Some(t) = cluster.txns.get_mut(&txn_id) {
        t.status = TxnStatus::Empty;
    }
    answer(Ok((current.producer_id, epoch)))
}
