//! A pure-Rust Apache Kafka producer.
//!
//! The `Producer` itself lands later. Today this crate provides its configuration,
//! [`ProducerConfig`]: the Java producer's settings and defaults, a typed builder and string
//! properties (`set("linger.ms", "5")`), validated once, with Java's cross-checks, and mapped
//! into the lower crates' configs.
//!
//! ```
//! use std::time::Duration;
//! use ferrokafka::{Acks, ConfigWarning, ProducerConfig};
//!
//! let typed = ProducerConfig::builder()
//!     .bootstrap_servers("broker1:9092,broker2:9092")
//!     .linger(Duration::from_millis(20))
//!     .acks(Acks::Leader)
//!     .build()?;
//! let props = ProducerConfig::from_properties([
//!     ("bootstrap.servers", "broker1:9092,broker2:9092"),
//!     ("linger.ms", "20"),
//!     ("acks", "1"),
//! ])?;
//! assert_eq!(typed, props);
//! // `acks=1` without an explicit `enable.idempotence` turns idempotence off, as in Java.
//! assert!(!typed.enable_idempotence);
//! assert!(matches!(typed.warnings()[0], ConfigWarning::IdempotenceDisabled { key: "acks", .. }));
//!
//! let err = ProducerConfig::from_properties([("bootstrap.servers", "b:9092"), ("linger.msec", "5")]);
//! assert!(err.unwrap_err().to_string().contains("did you mean `linger.ms`"));
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

#![forbid(unsafe_code)]

pub mod config;
mod driver;
mod error;
mod metrics;
mod producer;
mod record;
pub mod serialize;

pub use config::{Acks, ConfigError, ConfigWarning, ProducerConfig, ProducerConfigBuilder};
pub use error::ProduceError;
pub use ferrokafka_engine::{DeliveryError, SendError};
pub use ferrokafka_records::{CompressionType, Header};
pub use metrics::Metrics;
pub use producer::Producer;
pub use record::{Callback, DeliveryFuture, ProducerRecord, RecordMetadata};
