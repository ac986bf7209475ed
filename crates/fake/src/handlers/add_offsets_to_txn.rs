//! AddOffsetsToTxn (key 25), v0–4.
//!
//! Checks the transactional id, producer id and epoch (PRODUCER_FENCED from v2), then adds
//! the group to the transaction, which becomes Ongoing (Kafka also adds the partition of
//! `__consumer_offsets` holding the group; the fake keeps offsets outside any log).

use ferrokafka_wire::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};
use crate::handlers::check_txn_add;

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &AddOffsetsToTxnRequest,
    error: Option<ErrorCode>,
) -> AddOffsetsToTxnResponse {
    let result = check_txn_add(cluster, ctx, req, error);
    if result.is_ok()
        && let Some(t) = cluster.txns.get_mut(&req.transactional_id)
    {
        t.groups.insert(req.group_id.clone());
        t.begin(ctx.now);
    }
    AddOffsetsToTxnResponse {
        throttle_time_ms: cluster.throttle_ms(ApiKey::ADD_OFFSETS_TO_TXN),
        error_code: result.err().unwrap_or(ErrorCode::NONE).0,
        ..AddOffsetsToTxnResponse::default()
    }
}
