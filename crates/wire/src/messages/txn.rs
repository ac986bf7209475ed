//! The transaction APIs a client sends to its coordinators:
//! AddPartitionsToTxn (24, client versions 0–3; v4+ is broker-to-broker),
//! AddOffsetsToTxn (25, 0–4), EndTxn (26, 0–5), TxnOffsetCommit (28, 0–5).
//! All are flexible from v3. EndTxn v5 and TxnOffsetCommit v5 belong to
//! transactions v2 (KIP-890): EndTxn v5 returns the new producer id and epoch.

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};

wire_struct! {
    /// AddPartitionsToTxn request (client form, v0–3).
    pub struct AddPartitionsToTxnRequest {
        /// Transactional id.
        transactional_id: String [..],
        /// Producer id.
        producer_id: i64 [..],
        /// Producer epoch.
        producer_epoch: i16 [..],
        /// Partitions to add.
        topics: Vec<AddPartitionsToTxnTopic> [..],
    }
}
api_message!(AddPartitionsToTxnRequest, ApiKey::ADD_PARTITIONS_TO_TXN, versions 0..=3, flexible(3..));

wire_struct! {
    /// Partitions of one topic to add.
    pub struct AddPartitionsToTxnTopic {
        /// Topic name.
        name: String [..],
        /// Partition indexes.
        partitions: Vec<i32> [..],
    }
}

wire_struct! {
    /// AddPartitionsToTxn response (v0–3).
    pub struct AddPartitionsToTxnResponse {
        /// Throttle time.
        throttle_time_ms: i32 [..],
        /// Results per topic.
        results_by_topic: Vec<AddPartitionsToTxnTopicResult> [..],
    }
}
api_message!(AddPartitionsToTxnResponse, ApiKey::ADD_PARTITIONS_TO_TXN, versions 0..=3, flexible(3..));

wire_struct! {
    /// Results for one topic.
    pub struct AddPartitionsToTxnTopicResult {
        /// Topic name.
        name: String [..],
        /// Results per partition.
        results_by_partition: Vec<AddPartitionsToTxnPartitionResult> [..],
    }
}

wire_struct! {
    /// Result for one partition.
    pub struct AddPartitionsToTxnPartitionResult {
        /// Partition index.
        partition_index: i32 [..],
        /// Error code.
        partition_error_code: i16 [..],
    }
}

wire_struct! {
    /// AddOffsetsToTxn request.
    pub struct AddOffsetsToTxnRequest {
        /// Transactional id.
        transactional_id: String [..],
        /// Producer id.
        producer_id: i64 [..],
        /// Producer epoch.
        producer_epoch: i16 [..],
        /// Consumer group whose offsets join the transaction.
        group_id: String [..],
    }
}
api_message!(AddOffsetsToTxnRequest, ApiKey::ADD_OFFSETS_TO_TXN, versions 0..=4, flexible(3..));

wire_struct! {
    /// AddOffsetsToTxn response.
    pub struct AddOffsetsToTxnResponse {
        /// Throttle time.
        throttle_time_ms: i32 [..],
        /// Error code.
        error_code: i16 [..],
    }
}
api_message!(AddOffsetsToTxnResponse, ApiKey::ADD_OFFSETS_TO_TXN, versions 0..=4, flexible(3..));

wire_struct! {
    /// EndTxn request.
    pub struct EndTxnRequest {
        /// Transactional id.
        transactional_id: String [..],
        /// Producer id.
        producer_id: i64 [..],
        /// Producer epoch.
        producer_epoch: i16 [..],
        /// True to commit, false to abort.
        committed: bool [..],
    }
}
api_message!(EndTxnRequest, ApiKey::END_TXN, versions 0..=5, flexible(3..));

wire_struct! {
    /// EndTxn response.
    pub struct EndTxnResponse {
        /// Throttle time.
        throttle_time_ms: i32 [..],
        /// Error code.
        error_code: i16 [..],
        /// New producer id after the transaction (v5+, transactions v2).
        producer_id: i64 [5..] = -1,
        /// New producer epoch after the transaction (v5+, transactions v2).
        producer_epoch: i16 [5..] = -1,
    }
}
api_message!(EndTxnResponse, ApiKey::END_TXN, versions 0..=5, flexible(3..));

wire_struct! {
    /// TxnOffsetCommit request, sent to the group coordinator.
    pub struct TxnOffsetCommitRequest {
        /// Transactional id.
        transactional_id: String [..],
        /// Consumer group id.
        group_id: String [..],
        /// Producer id.
        producer_id: i64 [..],
        /// Producer epoch.
        producer_epoch: i16 [..],
        /// Group generation (v3+), -1 if unknown.
        generation_id: i32 [3..] = -1,
        /// Member id (v3+).
        member_id: String [3..],
        /// Static member instance id (v3+).
        group_instance_id: Option<String> [3..] null [3..],
        /// Offsets per topic.
        topics: Vec<TxnOffsetCommitRequestTopic> [..],
    }
}
api_message!(TxnOffsetCommitRequest, ApiKey::TXN_OFFSET_COMMIT, versions 0..=5, flexible(3..));

wire_struct! {
    /// Offsets of one topic.
    pub struct TxnOffsetCommitRequestTopic {
        /// Topic name.
        name: String [..],
        /// Offsets per partition.
        partitions: Vec<TxnOffsetCommitRequestPartition> [..],
    }
}

wire_struct! {
    /// Offset of one partition.
    pub struct TxnOffsetCommitRequestPartition {
        /// Partition index.
        partition_index: i32 [..],
        /// Offset to commit.
        committed_offset: i64 [..],
        /// Leader epoch of the last consumed record (v2+), -1 if unknown.
        committed_leader_epoch: i32 [2..] = -1,
        /// Metadata string.
        committed_metadata: Option<String> [..] null [..],
    }
}

wire_struct! {
    /// TxnOffsetCommit response.
    pub struct TxnOffsetCommitResponse {
        /// Throttle time.
        throttle_time_ms: i32 [..],
        /// Results per topic.
        topics: Vec<TxnOffsetCommitResponseTopic> [..],
    }
}
api_message!(TxnOffsetCommitResponse, ApiKey::TXN_OFFSET_COMMIT, versions 0..=5, flexible(3..));

wire_struct! {
    /// Results for one topic.
    pub struct TxnOffsetCommitResponseTopic {
        /// Topic name.
        name: String [..],
        /// Results per partition.
        partitions: Vec<TxnOffsetCommitResponsePartition> [..],
    }
}

wire_struct! {
    /// Result for one partition.
    pub struct TxnOffsetCommitResponsePartition {
        /// Partition index.
        partition_index: i32 [..],
        /// Error code.
        error_code: i16 [..],
    }
}
