//! Kafka wire protocol.

#![forbid(unsafe_code)]
