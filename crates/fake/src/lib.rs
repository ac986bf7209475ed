//! An in-memory fake Kafka cluster for tests, in pure Rust.
//!
//! Test a Kafka application without a broker: start a [`FakeServer`] (feature `server`) and
//! point any client at its bootstrap address — librdkafka, the Java client, franz-go or
//! ferrokafka — then inspect what the cluster holds and inject faults. The same cluster is also
//! a sans-IO state machine ([`Cluster`]): frames in, frames out, time passed in, for
//! simulations that drive a client without sockets or threads.
//!
//! ```
//! use std::time::Duration;
//! use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
//! use ferrokafka_fake::{ClusterConfig, FakeServer};
//!
//! /// The application under test: records an order as an event keyed by its id.
//! async fn record_order(producer: &Producer, id: &str, amount: u32) -> Result<(), ferrokafka::ProduceError> {
//!     let record = ProducerRecord::new("orders")
//!         .with_key(id.to_owned())
//!         .with_value(amount.to_string());
//!     let delivery = producer.send(record).await?;
//!     delivery.await?;
//!     Ok(())
//! }
//!
//! // The test: a fake cluster of three brokers, the application's producer pointed at it.
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let fake = FakeServer::start(ClusterConfig::builder().brokers(3).topic("orders", 6).build())
//!     .await
//!     .unwrap();
//! let config = ProducerConfig::builder()
//!     .bootstrap_servers(fake.bootstrap())
//!     .build()
//!     .unwrap();
//! let producer = Producer::new(config).unwrap();
//!
//! record_order(&producer, "order-17", 250).await.unwrap();
//!
//! // The fake holds exactly one record, keyed by the order id, in the partition its key
//! // hashes to.
//! let stored: Vec<_> = fake.with_cluster(|c| {
//!     (0..6).flat_map(|p| c.records("orders", p)).collect()
//! });
//! assert_eq!(stored.len(), 1);
//! assert_eq!(stored[0].key.as_deref(), Some(&b"order-17"[..]));
//! assert_eq!(stored[0].value.as_deref(), Some(&b"250"[..]));
//! producer.close(Duration::from_secs(5)).await;
//! # });
//! ```
//!
//! (The example needs the `server` feature and a tokio runtime; in a real test it is the body
//! of a `#[tokio::test]`.)
//!
//! Without sockets, [`FakeServer::in_memory`] serves the cluster over in-memory connections
//! ([`FakeServer::connect_in_memory`], or [`FakeServer::transport`] for a client's transport
//! seam): a test on tokio's paused clock (`#[tokio::test(start_paused = true)]`) then runs
//! client and cluster on simulated time, so timeouts take no real time and every run is the
//! same.
//!
//! # What it implements
//!
//! | API | versions | notes |
//! |---|---|---|
//! | Produce | 3–12 | idempotence (last five batches, duplicates get their original offsets), transactions, LogAppendTime, `max.message.bytes`, `min.insync.replicas` switch |
//! | Fetch | 4–12 | read_uncommitted / read_committed (last stable offset, aborted transactions) |
//! | ListOffsets | 1–7 | earliest, latest (LSO for read_committed), max timestamp, by time |
//! | Metadata | 0–12 | live brokers, leaders, leader epochs, auto-creation |
//! | OffsetFetch | 1–7 | offsets committed by transactions |
//! | FindCoordinator | 0–6 | groups and transactional ids |
//! | ApiVersions | 0–4 | ranges configurable per API, `transaction.version` feature |
//! | CreateTopics | 2–7 | partitions and the honoured configs |
//! | InitProducerId | 0–5 | idempotent and transactional, epoch bumps, fencing |
//! | AddPartitionsToTxn | 0–3 | |
//! | AddOffsetsToTxn / TxnOffsetCommit | 0–4 / 0–5 | |
//! | EndTxn | 0–5 | COMMIT/ABORT markers; v5 bumps the epoch under transactions v2 |
//!
//! Each handler's module (`src/handlers/*.rs`) opens with the versions it serves and its
//! behaviour, error by error.
//!
//! # Faults and inspection
//!
//! [`Fault`] rules fail, delay, hold, drop or hang the next requests of an API (per broker, per
//! partition); [`Cluster::broker_down`], [`Cluster::move_leader`],
//! [`Cluster::bump_leader_epoch`], [`Cluster::set_not_enough_replicas`],
//! [`Cluster::set_throttle`] change the cluster. [`Cluster::records`],
//! [`Cluster::committed_records`], [`Cluster::markers`], [`Cluster::producer_state`] and
//! [`Cluster::transaction`] show what it holds.
//!
//! # Layering
//!
//! The crate depends on `ferrokafka-wire` and `ferrokafka-records` only — never on the
//! producer crates, so it cannot share their bugs — and on tokio only behind the `server`
//! feature; `cargo xtask check-layering` enforces both and scans the sans-IO sources for clock
//! reads.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cluster;
mod config;
mod faults;
mod handlers;
mod log;
pub mod producer_state;
#[cfg(feature = "server")]
mod server;
mod txn;

pub use cluster::{
    Cluster, ConnId, ConnectError, MAX_PARTITIONS, StoredMarker, StoredRecord, TopicError,
};
pub use config::{BrokerConfig, ClusterBuilder, ClusterConfig, DEFAULT_API_VERSIONS, TopicConfig};
pub use faults::{Fault, FaultAction};
pub use producer_state::{BatchMetadata, ProducerEntry};
#[cfg(feature = "server")]
pub use server::FakeServer;
pub use txn::{CommittedOffset, PendingOffset, TxnState, TxnStatus};
