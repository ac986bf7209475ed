//! Fetch (key 1), versions 4–12, flexible from 12.
//!
//! A producer never sends it; the fake cluster (`ferrokafka-fake`) serves it so that
//! consumers (librdkafka, the Java client) can read back what was produced. v4 adds the
//! isolation level, the last stable offset and the aborted transactions that
//! read_committed consumers skip (KIP-98); v5 the log start offset; v7 fetch sessions
//! (KIP-227: `session_id`/`session_epoch`, forgotten topics); v9 the current leader
//! epoch (KIP-320); v11 the rack and preferred read replica (KIP-392); v12 is flexible
//! and adds the last fetched epoch and the diverging-epoch / leader hints as tagged
//! fields. v13+ name topics by id and are not declared. Records are opaque bytes: zero
//! or more whole RecordBatches, possibly with a truncated one at the end.

use bytes::Bytes;

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};

wire_struct! {
    /// Fetch request.
    pub struct FetchRequest {
        /// The cluster id the client expects (v12+, tagged), or null.
        cluster_id: Option<String> [12..] null [12..] tag 0,
        /// The broker id of a follower, or -1 for a consumer.
        replica_id: i32 [..] = -1,
        /// How long to wait for `min_bytes`, in milliseconds.
        max_wait_ms: i32 [..],
        /// Minimum bytes to gather before answering.
        min_bytes: i32 [..],
        /// Maximum bytes in the response (v3+).
        max_bytes: i32 [..] = i32::MAX,
        /// 0 = read_uncommitted, 1 = read_committed (v4+).
        isolation_level: i8 [..],
        /// Fetch session id (v7+), 0 for none.
        session_id: i32 [7..],
        /// Fetch session epoch (v7+), -1 for a full fetch without a session.
        session_epoch: i32 [7..] = -1,
        /// Topics to fetch.
        topics: Vec<FetchTopic> [..],
        /// Partitions to drop from an incremental session (v7+).
        forgotten_topics_data: Vec<ForgottenTopic> [7..],
        /// The consumer's rack (v11+).
        rack_id: String [11..],
    }
}
api_message!(FetchRequest, ApiKey::FETCH, versions 4..=12, flexible(12..));

wire_struct! {
    /// One topic of a Fetch request.
    pub struct FetchTopic {
        /// Topic name.
        topic: String [..],
        /// Partitions to fetch.
        partitions: Vec<FetchPartition> [..],
    }
}

wire_struct! {
    /// One partition of a Fetch request.
    pub struct FetchPartition {
        /// Partition index.
        partition: i32 [..],
        /// The leader epoch the consumer knows (v9+), -1 if unknown.
        current_leader_epoch: i32 [9..] = -1,
        /// The offset to read from.
        fetch_offset: i64 [..],
        /// Epoch of the last fetched record (v12+), -1 if unknown.
        last_fetched_epoch: i32 [12..] = -1,
        /// A follower's log start offset (v5+), -1 for consumers.
        log_start_offset: i64 [5..] = -1,
        /// Maximum bytes for this partition.
        partition_max_bytes: i32 [..],
    }
}

wire_struct! {
    /// Partitions an incremental fetch session stops fetching.
    pub struct ForgottenTopic {
        /// Topic name.
        topic: String [..],
        /// Partition indexes.
        partitions: Vec<i32> [..],
    }
}

wire_struct! {
    /// Fetch response.
    pub struct FetchResponse {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 [..],
        /// Top-level error (v7+).
        error_code: i16 [7..],
        /// Fetch session id (v7+), 0 for none.
        session_id: i32 [7..],
        /// Results per topic.
        responses: Vec<FetchableTopicResponse> [..],
    }
}
api_message!(FetchResponse, ApiKey::FETCH, versions 4..=12, flexible(12..));

wire_struct! {
    /// Results for one topic.
    pub struct FetchableTopicResponse {
        /// Topic name.
        topic: String [..],
        /// Results per partition.
        partitions: Vec<FetchPartitionData> [..],
    }
}

wire_struct! {
    /// Result for one partition.
    pub struct FetchPartitionData {
        /// Partition index.
        partition_index: i32 [..],
        /// Error code.
        error_code: i16 [..],
        /// The high watermark.
        high_watermark: i64 [..],
        /// The last stable offset (v4+), -1 if unknown.
        last_stable_offset: i64 [..] = -1,
        /// The log start offset (v5+), -1 if unknown.
        log_start_offset: i64 [5..] = -1,
        /// Where the follower's log diverges (v12+, tagged).
        diverging_epoch: EpochEndOffset [12..] tag 0,
        /// The current leader, on errors (v12+, tagged).
        current_leader: FetchLeaderIdAndEpoch [12..] tag 1,
        /// A snapshot a follower must fetch first (v12+, tagged).
        snapshot_id: SnapshotId [12..] tag 2,
        /// Aborted transactions in the returned range (v4+), for read_committed; null if none.
        aborted_transactions: Option<Vec<AbortedTransaction>> [..] null [..],
        /// The replica to read from instead (v11+), -1 for the leader.
        preferred_read_replica: i32 [11..] = -1,
        /// The records: whole RecordBatches, the last possibly truncated.
        records: Option<Bytes> [..] null [..],
    }
}

wire_struct! {
    /// An epoch and its end offset.
    pub struct EpochEndOffset {
        /// Leader epoch.
        epoch: i32 [..] = -1,
        /// End offset.
        end_offset: i64 [..] = -1,
    }
}

wire_struct! {
    /// A leader hint.
    pub struct FetchLeaderIdAndEpoch {
        /// Leader id, -1 if unknown.
        leader_id: i32 [..] = -1,
        /// Leader epoch, -1 if unknown.
        leader_epoch: i32 [..] = -1,
    }
}

wire_struct! {
    /// A snapshot id.
    pub struct SnapshotId {
        /// End offset.
        end_offset: i64 [..] = -1,
        /// Epoch.
        epoch: i32 [..] = -1,
    }
}

wire_struct! {
    /// A transaction aborted within the returned offsets.
    pub struct AbortedTransaction {
        /// Its producer id.
        producer_id: i64 [..],
        /// The offset of its first record in this partition.
        first_offset: i64 [..],
    }
}
