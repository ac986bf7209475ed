//! Produce (key 0), versions 3–13, flexible from 9.
//!
//! From v3 each partition carries exactly one RecordBatch of magic 2, here as
//! opaque bytes. v7 allows zstd. v10 adds KIP-951 leader hints (tagged fields
//! `current_leader` per partition and `node_endpoints` at the top). v11 means the
//! client handles TRANSACTION_ABORTABLE; v12 keeps the format but implies KIP-890
//! part 2 under transactions v2; v13 replaces topic names with topic ids.
//! Note the response order: `throttle_time_ms` comes *after* the responses.
//! A request with `acks = 0` gets no response at all.

use bytes::Bytes;

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};
use crate::types::Uuid;

wire_struct! {
    /// Produce request.
    pub struct ProduceRequest {
        /// Transactional id, or null when not transactional.
        transactional_id: Option<String> [..] null [..],
        /// 0, 1 or -1 (all).
        acks: i16 [..],
        /// How long the broker waits for replication, in milliseconds.
        timeout_ms: i32 [..],
        /// Data per topic.
        topic_data: Vec<TopicProduceData> [..],
    }
}
api_message!(ProduceRequest, ApiKey::PRODUCE, versions 3..=13, flexible(9..));

wire_struct! {
    /// Data for one topic.
    pub struct TopicProduceData {
        /// Topic name (up to v12).
        name: String [..=12],
        /// Topic id (v13+).
        topic_id: Uuid [13..],
        /// Data per partition.
        partition_data: Vec<PartitionProduceData> [..],
    }
}

wire_struct! {
    /// Data for one partition.
    pub struct PartitionProduceData {
        /// Partition index.
        index: i32 [..],
        /// One encoded RecordBatch (opaque here).
        records: Option<Bytes> [..] null [..],
    }
}

wire_struct! {
    /// Produce response.
    pub struct ProduceResponse {
        /// Results per topic.
        responses: Vec<TopicProduceResponse> [..],
        /// Throttle time in milliseconds (after the responses).
        throttle_time_ms: i32 [..],
        /// Endpoints of the leaders named in `current_leader` (v10+, KIP-951).
        node_endpoints: Vec<NodeEndpoint> [10..] tag 0,
    }
}
api_message!(ProduceResponse, ApiKey::PRODUCE, versions 3..=13, flexible(9..));

wire_struct! {
    /// Results for one topic.
    pub struct TopicProduceResponse {
        /// Topic name (up to v12).
        name: String [..=12],
        /// Topic id (v13+).
        topic_id: Uuid [13..],
        /// Results per partition.
        partition_responses: Vec<PartitionProduceResponse> [..],
    }
}

wire_struct! {
    /// Result for one partition.
    pub struct PartitionProduceResponse {
        /// Partition index.
        index: i32 [..],
        /// Error code.
        error_code: i16 [..],
        /// Offset of the first record written.
        base_offset: i64 [..],
        /// Log append time, or -1 with CreateTime.
        log_append_time_ms: i64 [..] = -1,
        /// Log start offset (v5+).
        log_start_offset: i64 [5..] = -1,
        /// Records that caused the batch to be dropped (v8+).
        record_errors: Vec<BatchIndexAndErrorMessage> [8..],
        /// Error message (v8+).
        error_message: Option<String> [8..] null [8..],
        /// The current leader, on NOT_LEADER_OR_FOLLOWER and friends (v10+).
        current_leader: LeaderIdAndEpoch [10..] tag 0,
    }
}

wire_struct! {
    /// A record that caused its batch to be dropped.
    pub struct BatchIndexAndErrorMessage {
        /// Index of the record in the batch.
        batch_index: i32 [..],
        /// Error message for that record.
        batch_index_error_message: Option<String> [..] null [..],
    }
}

wire_struct! {
    /// A leader hint.
    pub struct LeaderIdAndEpoch {
        /// Leader id, -1 if unknown.
        leader_id: i32 [..] = -1,
        /// Leader epoch, -1 if unknown.
        leader_epoch: i32 [..] = -1,
    }
}

wire_struct! {
    /// A broker endpoint.
    pub struct NodeEndpoint {
        /// Broker id.
        node_id: i32 [..],
        /// Host.
        host: String [..],
        /// Port.
        port: i32 [..],
        /// Rack.
        rack: Option<String> [..] null [..],
    }
}
