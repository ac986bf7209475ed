//! Fetch (key 1), v4–12 (v13+, topic ids, are not served). No fetch sessions: every request is
//! a full fetch and `session_id` is always 0.
//!
//! Per partition: an injected error; UNKNOWN_TOPIC_OR_PARTITION; NOT_LEADER_OR_FOLLOWER on a
//! broker that does not lead it; FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH when the
//! consumer's `current_leader_epoch` (v9+) is older / newer than the leader's;
//! OFFSET_OUT_OF_RANGE beyond the high watermark. Otherwise whole batches from the one holding
//! `fetch_offset`, up to the high watermark (read_uncommitted) or the last stable offset
//! (read_committed, with the aborted transactions of the returned range listed so the consumer
//! can skip their records), at most `partition_max_bytes` per partition and `max_bytes` in all,
//! except that the answer's first batch is returned whole (KIP-74).
//!
//! When nothing at all is returned, the answer waits `max_wait_ms` (capped at 100 ms) like a
//! broker waiting for data, so that idle consumers do not spin.

use bytes::BytesMut;
use ferrokafka_wire::messages::fetch::{
    AbortedTransaction, FetchLeaderIdAndEpoch, FetchPartitionData, FetchableTopicResponse,
};
use ferrokafka_wire::messages::{FetchRequest, FetchResponse};
use ferrokafka_wire::{ApiKey, ErrorCode};

use crate::cluster::{Cluster, Ctx};

/// The longest an empty Fetch answer is held back.
pub(crate) const MAX_EMPTY_WAIT_MS: i32 = 100;

/// The answer, and whether it carries any records.
pub(crate) fn handle(
    cluster: &mut Cluster,
    ctx: Ctx,
    req: &FetchRequest,
    error: Option<ErrorCode>,
) -> (FetchResponse, bool) {
    let read_committed = req.isolation_level == 1;
    let mut any_records = false;
    // The answer's `max_bytes`, shared by its partitions in request order.
    let mut budget = usize::try_from(req.max_bytes).unwrap_or(0);
    let mut responses = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let mut parts = Vec::with_capacity(t.partitions.len());
        for fp in &t.partitions {
            let mut out = FetchPartitionData {
                partition_index: fp.partition,
                high_watermark: -1,
                last_stable_offset: -1,
                log_start_offset: -1,
                ..FetchPartitionData::default()
            };
            let injected = error.or_else(|| {
                cluster.faults.take_partition_error(
                    ApiKey::FETCH,
                    ctx.broker,
                    &t.topic,
                    fp.partition,
                )
            });
            let code = match (injected, cluster.partition(&t.topic, fp.partition)) {
                (Some(code), _) => code,
                (None, None) => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                (None, Some(p)) if p.leader != ctx.broker => {
                    if ctx.version >= 12 && p.leader >= 0 {
                        out.current_leader = FetchLeaderIdAndEpoch {
                            leader_id: p.leader,
                            leader_epoch: p.leader_epoch,
                            ..FetchLeaderIdAndEpoch::default()
                        };
                    }
                    ErrorCode::NOT_LEADER_OR_FOLLOWER
                }
                (None, Some(p))
                    if fp.current_leader_epoch >= 0 && fp.current_leader_epoch < p.leader_epoch =>
                {
                    ErrorCode::FENCED_LEADER_EPOCH
                }
                (None, Some(p)) if fp.current_leader_epoch > p.leader_epoch => {
                    ErrorCode::UNKNOWN_LEADER_EPOCH
                }
                (None, Some(p)) => {
                    let hw = p.log.high_watermark();
                    let lso = p.log.last_stable_offset();
                    out.high_watermark = hw;
                    out.last_stable_offset = lso;
                    out.log_start_offset = p.log.log_start_offset();
                    if fp.fetch_offset < p.log.log_start_offset() || fp.fetch_offset > hw {
                        ErrorCode::OFFSET_OUT_OF_RANGE
                    } else {
                        let limit = if read_committed { lso } else { hw };
                        let max = usize::try_from(fp.partition_max_bytes)
                            .unwrap_or(0)
                            .min(budget);
                        let mut chunks = p.log.read(fp.fetch_offset, limit, max);
                        // Only the first batch of the whole answer may exceed the limits
                        // (KIP-74), so that a big batch never blocks a consumer.
                        if any_records && chunks.first().is_some_and(|c| c.len() > budget) {
                            chunks.clear();
                        }
                        let size: usize = chunks.iter().map(bytes::Bytes::len).sum();
                        budget = budget.saturating_sub(size);
                        if !chunks.is_empty() {
                            any_records = true;
                            let mut buf =
                                BytesMut::with_capacity(chunks.iter().map(bytes::Bytes::len).sum());
                            for c in &chunks {
                                buf.extend_from_slice(c);
                            }
                            out.records = Some(buf.freeze());
                        }
                        if read_committed {
                            out.aborted_transactions = Some(
                                p.log
                                    .aborted_between(fp.fetch_offset, limit)
                                    .into_iter()
                                    .map(|a| AbortedTransaction {
                                        producer_id: a.producer_id,
                                        first_offset: a.first_offset,
                                        ..AbortedTransaction::default()
                                    })
                                    .collect(),
                            );
                        }
                        ErrorCode::NONE
                    }
                }
            };
            out.error_code = code.0;
            if out.records.is_none() {
                out.records = Some(bytes::Bytes::new());
            }
            parts.push(out);
        }
        responses.push(FetchableTopicResponse {
            topic: t.topic.clone(),
            partitions: parts,
            ..FetchableTopicResponse::default()
        });
    }
    (
        FetchResponse {
            throttle_time_ms: cluster.throttle_ms(ApiKey::FETCH),
            error_code: 0,
            session_id: 0,
            responses,
            ..FetchResponse::default()
        },
        any_records,
    )
}
