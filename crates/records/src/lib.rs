//! Kafka RecordBatch v2 encoding and decoding with CRC-32C and compression.
//!
//! Not implemented yet: this crate is a placeholder that later issues fill.

#![forbid(unsafe_code)]
