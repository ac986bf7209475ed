//! InitProducerId (key 22), versions 0–5, flexible from 2.
//!
//! Idempotent producers send it with a null transactional id and
//! `transaction_timeout_ms = i32::MAX`. v3 (KIP-360) carries the current producer
//! id and epoch so the coordinator can bump the epoch instead of fencing; v4 may
//! return PRODUCER_FENCED; v5 may return TRANSACTION_ABORTABLE. v6 (KIP-939, 2PC)
//! is unstable and not supported.

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};

wire_struct! {
    /// InitProducerId request.
    pub struct InitProducerIdRequest {
        /// Transactional id, or null for an idempotent-only producer.
        transactional_id: Option<String> [..] null [..],
        /// Transaction timeout in milliseconds.
        transaction_timeout_ms: i32 [..],
        /// Current producer id (v3+), -1 if none.
        producer_id: i64 [3..] = -1,
        /// Current epoch (v3+), -1 if none.
        producer_epoch: i16 [3..] = -1,
    }
}
api_message!(InitProducerIdRequest, ApiKey::INIT_PRODUCER_ID, versions 0..=5, flexible(2..));

wire_struct! {
    /// InitProducerId response.
    pub struct InitProducerIdResponse {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 [..],
        /// Error code.
        error_code: i16 [..],
        /// Assigned producer id.
        producer_id: i64 [..] = -1,
        /// Assigned epoch.
        producer_epoch: i16 [..],
    }
}
api_message!(InitProducerIdResponse, ApiKey::INIT_PRODUCER_ID, versions 0..=5, flexible(2..));
