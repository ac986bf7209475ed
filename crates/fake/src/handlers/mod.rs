//! One handler per API, each opening with the versions it serves and its behaviour.
//!
//! A handler gets the cluster, the request context (broker, version, wall clock) and an
//! injected request-level error (from a fault rule), and returns the response body.

pub(crate) mod add_offsets_to_txn;
pub(crate) mod add_partitions_to_txn;
pub(crate) mod api_versions;
pub(crate) mod create_topics;
pub(crate) mod end_txn;
pub(crate) mod fetch;
pub(crate) mod find_coordinator;
pub(crate) mod init_producer_id;
pub(crate) mod list_offsets;
pub(crate) mod metadata;
pub(crate) mod offset_fetch;
pub(crate) mod produce;
pub(crate) mod txn_offset_commit;

use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::messages::{AddOffsetsToTxnRequest, AddPartitionsToTxnRequest};

use crate::cluster::{Cluster, Ctx};

/// A request that adds to a transaction, by who asks: (transactional id, producer id, epoch).
pub(crate) trait AddsToTxn {
    fn member(&self) -> (&str, i64, i16);
}

impl AddsToTxn for AddOffsetsToTxnRequest {
    fn member(&self) -> (&str, i64, i16) {
        (
            &self.transactional_id,
            self.producer_id,
            self.producer_epoch,
        )
    }
}

impl AddsToTxn for AddPartitionsToTxnRequest {
    fn member(&self) -> (&str, i64, i16) {
        (
            &self.transactional_id,
            self.producer_id,
            self.producer_epoch,
        )
    }
}

/// [`check_txn`] for AddPartitionsToTxn and AddOffsetsToTxn: an injected `error` answers
/// instead; an old epoch is PRODUCER_FENCED from version 2 on, INVALID_PRODUCER_EPOCH before.
pub(crate) fn check_txn_add(
    cluster: &Cluster,
    ctx: Ctx,
    req: &impl AddsToTxn,
    error: Option<ErrorCode>,
) -> Result<(), ErrorCode> {
    if let Some(code) = error {
        return Err(code);
    }
    let (transactional_id, producer_id, producer_epoch) = req.member();
    let fenced = if ctx.version >= 2 {
        ErrorCode::PRODUCER_FENCED
    } else {
        ErrorCode::INVALID_PRODUCER_EPOCH
    };
    check_txn(
        cluster,
        ctx.broker,
        transactional_id,
        producer_id,
        producer_epoch,
        fenced,
    )
}

/// The checks every coordinator API makes on (transactional id, producer id, epoch): the
/// broker must coordinate the id, the id must be known and mapped to this producer id, and the
/// epoch must be current. `fenced` is the code for an old epoch at this API version
/// (PRODUCER_FENCED from the versions that know it, INVALID_PRODUCER_EPOCH before).
pub(crate) fn check_txn(
    cluster: &Cluster,
    broker: i32,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    fenced: ErrorCode,
) -> Result<(), ErrorCode> {
    if cluster.coordinator_for(transactional_id) != Some(broker) {
        return Err(ErrorCode::NOT_COORDINATOR);
    }
    let Some(t) = cluster.txns.get(transactional_id) else {
        return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
    };
    if t.producer_id != producer_id {
        return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
    }
    if producer_epoch < t.producer_epoch {
        return Err(fenced);
    }
    if producer_epoch > t.producer_epoch {
        return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
    }
    Ok(())
}
