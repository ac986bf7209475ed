//! The sans-IO producer core of ferrokafka: the *sender*.
//!
//! [`Engine`] composes the metadata policy, the partitioner, the record accumulator and the
//! idempotence state of the lower crates into the loop the Java client runs in its `Sender`
//! thread, without doing any I/O itself. It never opens a socket, never reads a clock, never
//! sleeps: the driver (the `ferrokafka` facade's tokio task, or a test) feeds it inputs and
//! performs the I/O it asks for.
//!
//! # Driving it
//!
//! ```text
//! loop {
//!     while let Some(io) = engine.poll_io(now) { perform io }   // Connect / Send / Close
//!     while let Some(ev) = engine.poll_event() { resolve futures } // Delivered / Failed / Split
//!     wait for: a frame (handle_frame), a connection result (handle_connected /
//!               handle_disconnect), an append that woke the sender, or poll_timeout()
//!               (handle_timeout)
//! }
//! ```
//!
//! On every connection the engine first negotiates versions with ApiVersions (falling back as
//! KIP-511 describes), then uses it for Metadata (v1+, least-loaded connection), InitProducerId
//! (idempotence) and Produce (to partition leaders). A request unanswered after
//! `request.timeout.ms` drops its connection; the batches in it are retried like any retriable
//! error: back at the head of their partition after `retry.backoff.ms` (exponential up to
//! `retry.backoff.max.ms`), until `retries` or `delivery.timeout.ms` runs out. Stale-metadata
//! errors and disconnects request a metadata refresh; KIP-951 leader hints are applied at once.
//! `MESSAGE_TOO_LARGE` splits a batch. With `acks=0` a batch is delivered when its request is
//! queued for writing, without an offset. Produce v6+ `throttle_time_ms` mutes the connection
//! (KIP-219).
//!
//! Idempotence: an InitProducerId before the first drain; batches are stamped with producer
//! id, epoch and sequence at drain (retries keep their stamp); a sequence gap left by a batch
//! that failed for good is closed by a local epoch bump (KIP-360) once nothing of its partition
//! is in flight, and only partitions none of whose in-flight batches can be in the log are
//! renumbered.
//!
//! Operability: `tracing` spans per connection and request; idle connections close after
//! `connections.max.idle.ms`; re-bootstrap (KIP-899/KIP-1102); rack-aware keyless partitioning
//! (KIP-1123); [`Counters`] for the Java metric set.
//!
//! # When to use this crate alone
//!
//! When you want a Kafka producer without tokio, or inside an I/O model of your own: an
//! event loop (mio, io_uring, an embedded runtime), a deterministic simulation, or a test that
//! steps time by hand. You bring the sockets (or an in-memory peer such as `ferrokafka-fake`'s
//! sans-IO `Cluster`) and the clock; the engine brings everything Kafka-specific. Most
//! applications want the `ferrokafka` facade, which drives this engine on tokio.
//!
//! The tests in `tests/` drive the engine in one thread against the fake cluster
//! (`ferrokafka-fake`, sans-IO) with a simulated clock; `sim/` does the same for seeded random
//! fault schedules.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod engine;
mod event;
mod metrics;
pub mod sasl;

pub use config::{EngineConfig, SaslConfig};
pub use engine::{Appended, Engine, GroupMetadata, OffsetToCommit, OutgoingRecord, SendError};
pub use event::{
    ConnId, DeliveryError, Event, Frames, Io, Reason, SetupError, TxnCall, TxnFailure,
    TxnFailureKind,
};
pub use ferrokafka_txn::StateKind as TxnStateKind;
pub use metrics::{Counters, NodeCounters, TopicCounters};

pub use ferrokafka_accumulator::{BatchId, SplitOutcome, SplitPart, TopicPartition};
