//! SaslHandshake (key 17, versions 0–1, never flexible) and SaslAuthenticate
//! (key 36, versions 0–2, flexible from 2). With handshake v1 every SASL token
//! travels in a SaslAuthenticate request; v1 responses carry the session lifetime
//! used for re-authentication (KIP-368).

use bytes::Bytes;

use crate::api::ApiKey;
use crate::macros::{api_message, wire_struct};
use crate::types::NEVER;

wire_struct! {
    /// SaslHandshake request.
    pub struct SaslHandshakeRequest {
        /// Mechanism, e.g. `PLAIN` or `SCRAM-SHA-256`.
        mechanism: String [..],
    }
}
api_message!(SaslHandshakeRequest, ApiKey::SASL_HANDSHAKE, versions 0..=1, flexible(NEVER));

wire_struct! {
    /// SaslHandshake response.
    pub struct SaslHandshakeResponse {
        /// Error code (UNSUPPORTED_SASL_MECHANISM if not enabled).
        error_code: i16 [..],
        /// Mechanisms the broker enables.
        mechanisms: Vec<String> [..],
    }
}
api_message!(SaslHandshakeResponse, ApiKey::SASL_HANDSHAKE, versions 0..=1, flexible(NEVER));

wire_struct! {
    /// SaslAuthenticate request.
    pub struct SaslAuthenticateRequest {
        /// SASL token.
        auth_bytes: Bytes [..],
    }
}
api_message!(SaslAuthenticateRequest, ApiKey::SASL_AUTHENTICATE, versions 0..=2, flexible(2..));

wire_struct! {
    /// SaslAuthenticate response.
    pub struct SaslAuthenticateResponse {
        /// Error code.
        error_code: i16 [..],
        /// Error message.
        error_message: Option<String> [..] null [..],
        /// SASL token from the broker.
        auth_bytes: Bytes [..],
        /// Session lifetime in milliseconds (v1+), 0 if none.
        session_lifetime_ms: i64 [1..],
    }
}
api_message!(SaslAuthenticateResponse, ApiKey::SASL_AUTHENTICATE, versions 0..=2, flexible(2..));
