//! ListOffsets (key 2), versions 1–7, flexible from 6.
//!
//! Consumers use it to resolve `earliest` (-2) and `latest` (-1) to offsets; served by
//! the fake cluster. v2 adds the isolation level (read_committed answers the last
//! stable offset for `latest`); v4 the current leader epoch (KIP-320); v6 is flexible;
//! v7 allows -3 (the record with the largest timestamp, KIP-734). v0 (a list of
//! offsets per partition) and v8+ (tiered storage timestamps, timeout) are not declared.

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};

wire_struct! {
    /// ListOffsets request.
    pub struct ListOffsetsRequest {
        /// The broker id of a follower, or -1 for a consumer.
        replica_id: i32 [..] = -1,
        /// 0 = read_uncommitted, 1 = read_committed (v2+).
        isolation_level: i8 [2..],
        /// Topics.
        topics: Vec<ListOffsetsTopic> [..],
    }
}
api_message!(ListOffsetsRequest, ApiKey::LIST_OFFSETS, versions 1..=7, flexible(6..));

wire_struct! {
    /// One topic of a ListOffsets request.
    pub struct ListOffsetsTopic {
        /// Topic name.
        name: String [..],
        /// Partitions.
        partitions: Vec<ListOffsetsPartition> [..],
    }
}

wire_struct! {
    /// One partition of a ListOffsets request.
    pub struct ListOffsetsPartition {
        /// Partition index.
        partition_index: i32 [..],
        /// The leader epoch the client knows (v4+), -1 if unknown.
        current_leader_epoch: i32 [4..] = -1,
        /// A timestamp, or -1 (latest), -2 (earliest), -3 (max timestamp).
        timestamp: i64 [..],
    }
}

wire_struct! {
    /// ListOffsets response.
    pub struct ListOffsetsResponse {
        /// Throttle time in milliseconds (v2+).
        throttle_time_ms: i32 [2..],
        /// Results per topic.
        topics: Vec<ListOffsetsTopicResponse> [..],
    }
}
api_message!(ListOffsetsResponse, ApiKey::LIST_OFFSETS, versions 1..=7, flexible(6..));

wire_struct! {
    /// Results for one topic.
    pub struct ListOffsetsTopicResponse {
        /// Topic name.
        name: String [..],
        /// Results per partition.
        partitions: Vec<ListOffsetsPartitionResponse> [..],
    }
}

wire_struct! {
    /// Result for one partition.
    pub struct ListOffsetsPartitionResponse {
        /// Partition index.
        partition_index: i32 [..],
        /// Error code.
        error_code: i16 [..],
        /// The timestamp of the offset returned, or -1.
        timestamp: i64 [..] = -1,
        /// The offset found, or -1.
        offset: i64 [..] = -1,
        /// The leader epoch (v4+), -1 if unknown.
        leader_epoch: i32 [4..] = -1,
    }
}
