//! A pure-Rust Apache Kafka producer.
//!
//! The `Producer` itself lands later. Today this crate provides its configuration,
//! [`ProducerConfig`]: the Java producer's settings and defaults, a typed builder and string
//! properties (`set("linger.ms", "5")`), validated once, with Java's cross-checks, and mapped
//! into the lower crates' configs.

#![forbid(unsafe_code)]

pub mod config;

pub use config::{Acks, ConfigError, ConfigWarning, ProducerConfig, ProducerConfigBuilder};
