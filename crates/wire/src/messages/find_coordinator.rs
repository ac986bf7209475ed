//! FindCoordinator (key 10), versions 0–6, flexible from 3.
//!
//! `key_type` 0 is a consumer group, 1 a transactional id (v1+). v4 batches keys
//! (KIP-699); v5 may return TRANSACTION_ABORTABLE; v6 adds share groups.

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};

/// `key_type` of a consumer group.
pub const KEY_TYPE_GROUP: i8 = 0;
/// `key_type` of a transactional id.
pub const KEY_TYPE_TRANSACTION: i8 = 1;

wire_struct! {
    /// FindCoordinator request.
    pub struct FindCoordinatorRequest {
        /// The key (v0–3).
        key: String [..=3],
        /// Key type (v1+).
        key_type: i8 [1..],
        /// Keys (v4+).
        coordinator_keys: Vec<String> [4..],
    }
}
api_message!(FindCoordinatorRequest, ApiKey::FIND_COORDINATOR, versions 0..=6, flexible(3..));

wire_struct! {
    /// FindCoordinator response.
    pub struct FindCoordinatorResponse {
        /// Throttle time (v1+).
        throttle_time_ms: i32 [1..],
        /// Error code (v0–3).
        error_code: i16 [..=3],
        /// Error message (v1–3).
        error_message: Option<String> [1..=3] null [1..=3],
        /// Coordinator id (v0–3).
        node_id: i32 [..=3],
        /// Coordinator host (v0–3).
        host: String [..=3],
        /// Coordinator port (v0–3).
        port: i32 [..=3],
        /// One result per key (v4+).
        coordinators: Vec<Coordinator> [4..],
    }
}
api_message!(FindCoordinatorResponse, ApiKey::FIND_COORDINATOR, versions 0..=6, flexible(3..));

wire_struct! {
    /// The coordinator for one key (v4+).
    pub struct Coordinator {
        /// The key.
        key: String [..],
        /// Coordinator id.
        node_id: i32 [..],
        /// Host.
        host: String [..],
        /// Port.
        port: i32 [..],
        /// Error code.
        error_code: i16 [..],
        /// Error message.
        error_message: Option<String> [..] null [..],
    }
}
