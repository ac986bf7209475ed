//! Java- and librdkafka-compatible Kafka partitioners.
//!
//! Not implemented yet: this crate is a placeholder that later issues fill.

#![forbid(unsafe_code)]
