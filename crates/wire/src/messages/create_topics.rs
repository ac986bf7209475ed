//! CreateTopics (key 19), versions 2–7, flexible from 5. Used by tests and the CLI;
//! a producer never creates topics by itself.

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};
use crate::types::Uuid;

wire_struct! {
    /// CreateTopics request.
    pub struct CreateTopicsRequest {
        /// Topics to create.
        topics: Vec<CreatableTopic> [..],
        /// How long to wait for creation, in milliseconds.
        timeout_ms: i32 [..] = 60_000,
        /// Only validate the request.
        validate_only: bool [..],
    }
}
api_message!(CreateTopicsRequest, ApiKey::CREATE_TOPICS, versions 2..=7, flexible(5..));

wire_struct! {
    /// A topic to create.
    pub struct CreatableTopic {
        /// Name.
        name: String [..],
        /// Partition count, -1 for the broker default.
        num_partitions: i32 [..],
        /// Replication factor, -1 for the broker default.
        replication_factor: i16 [..],
        /// Manual replica assignment.
        assignments: Vec<CreatableReplicaAssignment> [..],
        /// Topic configs.
        configs: Vec<CreatableTopicConfig> [..],
    }
}

wire_struct! {
    /// Manual assignment of one partition.
    pub struct CreatableReplicaAssignment {
        /// Partition index.
        partition_index: i32 [..],
        /// Replica broker ids.
        broker_ids: Vec<i32> [..],
    }
}

wire_struct! {
    /// A topic config.
    pub struct CreatableTopicConfig {
        /// Config name.
        name: String [..],
        /// Value.
        value: Option<String> [..] null [..],
    }
}

wire_struct! {
    /// CreateTopics response.
    pub struct CreateTopicsResponse {
        /// Throttle time.
        throttle_time_ms: i32 [..],
        /// Results per topic.
        topics: Vec<CreatableTopicResult> [..],
    }
}
api_message!(CreateTopicsResponse, ApiKey::CREATE_TOPICS, versions 2..=7, flexible(5..));

wire_struct! {
    /// Result for one topic.
    pub struct CreatableTopicResult {
        /// Name.
        name: String [..],
        /// Topic id (v7+).
        topic_id: Uuid [7..],
        /// Error code.
        error_code: i16 [..],
        /// Error message.
        error_message: Option<String> [..] null [..],
        /// Error reading the topic's configs (v5+, tagged).
        topic_config_error_code: i16 [5..] tag 0,
        /// Partition count (v5+).
        num_partitions: i32 [5..] = -1,
        /// Replication factor (v5+).
        replication_factor: i16 [5..] = -1,
        /// Configs of the created topic (v5+).
        configs: Option<Vec<CreatableTopicConfigs>> [5..] null [5..],
    }
}

wire_struct! {
    /// A config of a created topic.
    pub struct CreatableTopicConfigs {
        /// Config name.
        name: String [..],
        /// Value.
        value: Option<String> [..] null [..],
        /// Whether it is read-only.
        read_only: bool [..],
        /// Config source, -1 if unknown.
        config_source: i8 [..] = -1,
        /// Whether it is sensitive.
        is_sensitive: bool [..],
    }
}
