//! AddPartitionsToTxn (key 24), v0–3 (the client form; v4+ is broker-to-broker).
//!
//! Checks the transactional id, producer id and epoch (PRODUCER_FENCED from v2,
//! INVALID_PRODUCER_EPOCH before); unknown partitions fail with UNKNOWN_TOPIC_OR_PARTITION and
//! the others of the request with OPERATION_NOT_ATTEMPTED, as Kafka does. Otherwise the
//! partitions join the transaction, which becomes Ongoing. An injected error fails every
//! partition.

use ferrokafka_wire::messages::txn::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use ferrokafka_wire::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};
use crate::handlers::check_txn_add;

pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &AddPartitionsToTxnRequest,
    error: Option<ErrorCode>,
) -> AddPartitionsToTxnResponse {
    let common = check_txn_add(cluster, ctx, req, error);
    let unknown: Vec<(String, i32)> = req
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.clone(), *p)))
        .filter(|(t, p)| cluster.partition(t, *p).is_none())
        .collect();
    let code_for = |topic: &str, p: i32| -> ErrorCode {
        match common {
            Err(code) => code,
            Ok(()) if unknown.is_empty() => ErrorCode::NONE,
            Ok(()) if unknown.iter().any(|(t, q)| t == topic && *q == p) => {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            }
            Ok(()) => ErrorCode::OPERATION_NOT_ATTEMPTED,
        }
    };
    let results_by_topic: Vec<AddPartitionsToTxnTopicResult> = req
        .topics
        .iter()
        .map(|t| AddPartitionsToTxnTopicResult {
            name: t.name.clone(),
            results_by_partition: t
                .partitions
                .iter()
                .map(|&p| AddPartitionsToTxnPartitionResult {
                    partition_index: p,
                    partition_error_code: code_for(&t.name, p).0,
                    ..AddPartitionsToTxnPartitionResult::default()
                })
                .collect(),
            ..AddPartitionsToTxnTopicResult::default()
        })
        .collect();
    if common.is_ok()
        && unknown.is_empty()
        && let Some(txn) = cluster.txns.get_mut(&req.transactional_id)
    {
        for t in &req.topics {
            for &p in &t.partitions {
                txn.partitions.insert((t.name.clone(), p));
            }
        }
        txn.begin(ctx.now);
    }
    AddPartitionsToTxnResponse {
        throttle_time_ms: cluster.throttle_ms(ApiKey::ADD_PARTITIONS_TO_TXN),
        results_by_topic,
        ..AddPartitionsToTxnResponse::default()
    }
}
