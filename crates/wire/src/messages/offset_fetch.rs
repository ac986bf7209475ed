//! OffsetFetch (key 9), versions 1–7, flexible from 6.
//!
//! A consumer in a group asks its group coordinator for committed offsets; the fake
//! cluster serves it from the offsets that `TxnOffsetCommit` wrote and an `EndTxn`
//! commit made visible. v2 adds the top-level error and a null topic list meaning
//! "all topics"; v3 the throttle time; v5 the committed leader epoch; v7
//! `require_stable` (KIP-447: answer UNSTABLE_OFFSET_COMMIT while a transaction's
//! offsets are pending). v8+ batch several groups and are not declared.

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};

wire_struct! {
    /// OffsetFetch request.
    pub struct OffsetFetchRequest {
        /// Group id.
        group_id: String [..],
        /// Topics, or null (v2+) for every topic the group committed.
        topics: Option<Vec<OffsetFetchRequestTopic>> [..] null [2..],
        /// Whether pending transactional offsets make the answer UNSTABLE_OFFSET_COMMIT (v7+).
        require_stable: bool [7..],
    }
}
api_message!(OffsetFetchRequest, ApiKey::OFFSET_FETCH, versions 1..=7, flexible(6..));

wire_struct! {
    /// One topic of an OffsetFetch request.
    pub struct OffsetFetchRequestTopic {
        /// Topic name.
        name: String [..],
        /// Partition indexes.
        partition_indexes: Vec<i32> [..],
    }
}

wire_struct! {
    /// OffsetFetch response.
    pub struct OffsetFetchResponse {
        /// Throttle time in milliseconds (v3+).
        throttle_time_ms: i32 [3..],
        /// Results per topic.
        topics: Vec<OffsetFetchResponseTopic> [..],
        /// Top-level error (v2+).
        error_code: i16 [2..],
    }
}
api_message!(OffsetFetchResponse, ApiKey::OFFSET_FETCH, versions 1..=7, flexible(6..));

wire_struct! {
    /// Results for one topic.
    pub struct OffsetFetchResponseTopic {
        /// Topic name.
        name: String [..],
        /// Results per partition.
        partitions: Vec<OffsetFetchResponsePartition> [..],
    }
}

wire_struct! {
    /// Result for one partition.
    pub struct OffsetFetchResponsePartition {
        /// Partition index.
        partition_index: i32 [..],
        /// The committed offset, or -1.
        committed_offset: i64 [..] = -1,
        /// The leader epoch of the committed offset (v5+), -1 if unknown.
        committed_leader_epoch: i32 [5..] = -1,
        /// The committed metadata, or null.
        metadata: Option<String> [..] null [..],
        /// Error code.
        error_code: i16 [..],
    }
}
