//! A pure-Rust Apache Kafka producer.
//!
//! Not implemented yet: this crate is a placeholder that later issues fill.

#![forbid(unsafe_code)]
