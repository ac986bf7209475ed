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
//! # When to use this crate alone
//!
//! Nothing here needs the rest of ferrokafka: the crate's only Kafka dependencies are the wire
//! and record codecs. Pick it on its own when
//!
//! * you test an application built on another client (librdkafka or `rdkafka`, the Java
//!   client, franz-go, kcat): start a [`FakeServer`] in the test, or run the `ferrokafka-fake`
//!   binary (`cargo run -p ferrokafka-fake --features server -- --brokers 3 --topic orders:6`
//!   prints `bootstrap: HOST:PORT,...`), and use faults to reach the error paths a real cluster
//!   seldom shows;
//! * you write a client, a proxy or a simulation and want a broker that runs in your thread on
//!   your clock: [`Cluster`] takes request frames and `now`, queues answer frames, and never
//!   opens a socket, starts a thread or reads a clock. The default build (no `server` feature)
//!   does not even depend on tokio.
//!
//! Driving the sans-IO [`Cluster`] by hand, as a client's test or a simulation would:
//!
//! ```
//! use std::time::Instant;
//! use bytes::{Bytes, BytesMut};
//! use ferrokafka_fake::{Cluster, ClusterConfig, ConnId, Fault};
//! use ferrokafka_records::{BatchBuilder, Compression, ProducerStamp};
//! use ferrokafka_wire::frame::{decode_response, encode_request};
//! use ferrokafka_wire::messages::ProduceRequest;
//! use ferrokafka_wire::messages::produce::{PartitionProduceData, TopicProduceData};
//! use ferrokafka_wire::{ApiKey, ErrorCode, ResponseBody};
//!
//! const WALL_MS: i64 = 1_700_000_000_000; // wall-clock time, also passed in
//!
//! /// Sends one Produce v9 frame on `conn` and reads the partition's error code and base offset.
//! fn produce(cluster: &mut Cluster, conn: ConnId, id: i32, records: Bytes, now: Instant)
//!     -> (ErrorCode, i64)
//! {
//!     let request = ProduceRequest {
//!         acks: -1,
//!         timeout_ms: 1000,
//!         topic_data: vec![TopicProduceData {
//!             name: "orders".into(),
//!             partition_data: vec![PartitionProduceData {
//!                 index: 1,
//!                 records: Some(records),
//!                 ..Default::default()
//!             }],
//!             ..Default::default()
//!         }],
//!         ..Default::default()
//!     };
//!     let mut frame = BytesMut::new();
//!     encode_request(&mut frame, id, Some("my-test"), &request.into(), 9).unwrap();
//!     // Frames go in without their 4-byte size prefix and come out with it, as on a socket.
//!     cluster.handle_frame(conn, &frame[4..], now, WALL_MS);
//!     let answer = cluster.poll_transmit(conn, now).expect("answered at once");
//!     let Ok((_, ResponseBody::Produce(r))) = decode_response(&answer[4..], ApiKey::PRODUCE, 9)
//!     else { panic!("not a Produce answer") };
//!     let p = &r.responses[0].partition_responses[0];
//!     (ErrorCode(p.error_code), p.base_offset)
//! }
//!
//! let mut cluster = Cluster::new(ClusterConfig::builder().brokers(3).topic("orders", 2).build());
//! let (leader, _epoch) = cluster.leader("orders", 1).unwrap();
//! let conn = cluster.connect(leader).unwrap();
//! let now = Instant::now(); // the caller's clock: the cluster never reads one
//!
//! let mut batch = BatchBuilder::new(Compression::NONE, 1024);
//! batch.append(WALL_MS, Some(b"order-17"), Some(b"250"), &[]).unwrap();
//! let records = batch.close(ProducerStamp::NONE).unwrap().into_bytes();
//!
//! // The next Produce fails as if leadership had just moved; the retry is stored.
//! cluster.inject(Fault::fail(ApiKey::PRODUCE, &[ErrorCode::NOT_LEADER_OR_FOLLOWER]));
//! assert_eq!(produce(&mut cluster, conn, 1, records.clone(), now).0, ErrorCode::NOT_LEADER_OR_FOLLOWER);
//! assert_eq!(produce(&mut cluster, conn, 2, records, now), (ErrorCode::NONE, 0));
//!
//! let stored = cluster.records("orders", 1);
//! assert_eq!(stored.len(), 1);
//! assert_eq!(stored[0].key.as_deref(), Some(&b"order-17"[..]));
//! ```
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
//! producer crates, so it cannot share their bugs — on tokio only behind the `server` feature,
//! and on `ferrokafka-engine` only behind the `engine` feature (the in-process driver, which
//! the cluster itself never uses); `cargo xtask check-layering` enforces all three and scans
//! the sans-IO sources for clock reads.
//!
//! # The `engine` feature
//!
//! `engine` adds [`InProcess`]: the sans-IO engine of ferrokafka wired to a [`Cluster`] in one
//! thread on simulated time, with hooks ([`Drive`]) for faults on the wire, a seeded
//! connection order and checks on each event — the loop under the seeded simulation and the
//! engine's in-process tests.
//!
//! # The `server` feature
//!
//! `server` adds [`FakeServer`] (the cluster served on loopback TCP, or over in-memory
//! connections for tests on tokio's paused clock) and the `ferrokafka-fake` binary. It is the
//! one part of the crate that uses tokio, hence off by default; a test crate turns it on with
//! `ferrokafka-fake = { ..., features = ["server"] }` in its `[dev-dependencies]`.
#![cfg_attr(
    not(feature = "server"),
    doc = "
These docs were built without `server`: `FakeServer` is not documented here (build them with
`cargo doc -p ferrokafka-fake --features server`).

[`FakeServer`]: #the-server-feature
[`FakeServer::in_memory`]: #the-server-feature
[`FakeServer::connect_in_memory`]: #the-server-feature
[`FakeServer::transport`]: #the-server-feature"
)]
#![cfg_attr(
    not(feature = "engine"),
    doc = "
These docs were built without `engine`: the in-process driver is not documented here (build
them with `cargo doc -p ferrokafka-fake --features engine`).

[`InProcess`]: #the-engine-feature
[`Drive`]: #the-engine-feature"
)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cluster;
mod config;
mod faults;
mod handlers;
#[cfg(feature = "engine")]
mod in_process;
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
#[cfg(feature = "engine")]
pub use in_process::{Drive, InProcess, Intercept, QUIET_ROUNDS, Unsettled, WALL_START_MS};
pub use producer_state::{BatchMetadata, ProducerEntry};
#[cfg(feature = "server")]
pub use server::FakeServer;
pub use txn::{CommittedOffset, PendingOffset, TxnState, TxnStatus};
