//! Sans-IO cluster metadata for the ferrokafka producer, in the spirit of the
//! Java client's `Metadata`, `ProducerMetadata` and `MetadataCache`.
//!
//! - [`parse_bootstrap`]: `bootstrap.servers` → [`BrokerAddress`]es.
//! - [`Cluster`]: brokers, topics and partitions from Metadata responses, with
//!   the helpers the sender needs ([`Cluster::leader_for`],
//!   [`Cluster::partition_count`], [`Cluster::available_partitions`],
//!   [`Cluster::broker`]).
//! - [`Metadata`]: the refresh policy, a state machine with `now` passed in.
//!
//! # The refresh policy
//!
//! The producer only asks about topics it sends to. [`Metadata::add_topic`]
//! registers a topic; one we know nothing about makes an update due at once,
//! skipping the backoff, so the first record of a topic is not delayed.
//! [`Metadata::touch`] on every send keeps a topic alive; one unused for
//! `metadata.max.idle.ms` (default 300000) is forgotten and no longer listed.
//!
//! An update is due when the last successful answer is older than
//! `metadata.max.age.ms` (default 300000), when one was asked for
//! ([`Metadata::request_update`]), or when a produce error meant stale
//! metadata ([`Metadata::handle_partition_error`]: `NOT_LEADER_OR_FOLLOWER`,
//! `UNKNOWN_TOPIC_OR_PARTITION` and the other codes whose Java exception is an
//! `InvalidMetadataException`). [`Metadata::poll_request`] returns a request
//! when one is due, none is in flight, and the backoff has passed. The backoff
//! is Java's exponential one: `retry.backoff.ms` (100) doubling per
//! consecutive failure ([`Metadata::handle_failure`]) or per answer that did
//! not fix what made us ask, capped at `retry.backoff.max.ms` (1000). Its
//! jitter is injected ([`Metadata::set_backoff_jitter`]), never drawn here.
//! [`Metadata::poll_timeout`] says when to call `poll_request` next.
//!
//! Answers never move a partition's leader epoch backwards (KIP-320): a
//! response carrying an older epoch than one already seen is ignored for that
//! partition. A Produce v10+ response may name the new leader directly
//! (KIP-951); [`Metadata::handle_leader_hint`] applies it if its epoch is newer.
//!
//! A send to a topic not yet known waits at most `max.block.ms`:
//! [`Metadata::topic_state`] and [`Metadata::check_wait`] tell the caller
//! whether to proceed, keep waiting, or fail the record with
//! [`MetadataError::TopicNotAvailable`].
//!
//! # When to use this crate alone
//!
//! With `ferrokafka-wire` for the messages, the crate is the metadata half of any Kafka client.
//! Pick it without the rest of ferrokafka when you write a client of your own (a consumer, an
//! admin or monitoring tool, a proxy that routes by partition leader) and want the Java
//! client's behaviour instead of a cache you refresh by hand: only the topics in use are asked
//! about; an answer is asked for again when it is too old, when a request met stale metadata,
//! or with Java's exponential backoff after an answer that fixed nothing; leader epochs never
//! go backwards; and a send to an unknown topic waits a bounded time. Your code sends the
//! requests it returns and passes the clock in, as in the example below; the crate only
//! decides.
//!
//! # Driving it
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ferrokafka_metadata::{Metadata, MetadataConfig, TopicStatus};
//! use ferrokafka_wire::messages::metadata::{MetadataResponse, MetadataResponseTopic};
//!
//! // `start` comes from the driver's clock; nothing here reads one. (This
//! // example is compiled; tests/transcripts runs the same steps.)
//! fn demo(start: Instant) {
//!     let mut md = Metadata::new(MetadataConfig::default(), start);
//!     md.add_topic("orders", start);
//!     let req = md.poll_request(start).expect("a new topic is fetched at once");
//!     assert_eq!(req.topics.unwrap()[0].name.as_deref(), Some("orders"));
//!     assert!(md.poll_request(start).is_none(), "one request in flight");
//!
//!     // ... the driver sends it and decodes the answer ...
//!     let answer = MetadataResponse {
//!         topics: vec![MetadataResponseTopic {
//!             name: Some("orders".into()),
//!             error_code: 3, // UNKNOWN_TOPIC_OR_PARTITION: being auto-created
//!             ..Default::default()
//!         }]
//!         .into(),
//!         ..Default::default()
//!     };
//!     let later = start + Duration::from_millis(20);
//!     md.handle_response(&answer, later);
//!     assert!(matches!(md.topic_state("orders"), TopicStatus::Error(_)));
//!     // The send keeps waiting (max.block.ms = 60 s) and metadata is asked
//!     // again after retry.backoff.ms.
//!     assert_eq!(md.check_wait("orders", start, Duration::from_secs(60), later), Ok(None));
//!     assert_eq!(md.poll_timeout(), Some(later + Duration::from_millis(100)));
//! }
//! ```
//!
//! This crate does no I/O: it never reads the clock, opens a socket, sleeps or
//! draws random numbers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bootstrap;
mod cluster;
mod config;
mod error;
mod policy;

pub use bootstrap::{BrokerAddress, parse_bootstrap};
pub use cluster::{Broker, Cluster, PartitionInfo, TopicInfo};
pub use config::MetadataConfig;
pub use error::{BootstrapError, MetadataError};
pub use policy::{Metadata, TopicStatus, is_stale_metadata_error};
