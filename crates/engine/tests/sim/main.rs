//! The engine in one thread with a simulated clock against the fake cluster.
//!
//! [`Sim`] plays the driver through `ferrokafka-fake`'s [`InProcess`]: it performs the engine's
//! I/O against the fake's sans-IO cluster (a connect dials a broker by its advertised address `b<id>:9092`, sent bytes
//! are split into request frames, answers come from `poll_transmit`), so the engine's real
//! encode/decode paths run against a broker with real idempotence and transaction state.
//! Scenarios inject faults with the fake's fault API and check the fake's log. What no fake
//! broker does — an error message, an answer to an acks=0 request, SASL — comes from a [`Hook`]
//! that sees each request before the fake. Every loop is bounded; time is simulated.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokafka_engine::sasl::{Credentials, Mechanism};
use ferrokafka_engine::{
    BatchId, ConnId, DeliveryError, Engine, EngineConfig, Event, GroupMetadata, Io, OffsetToCommit,
    OutgoingRecord, SaslConfig, SendError, TxnCall, TxnFailureKind, TxnStateKind,
};
use ferrokafka_fake::{
    ClusterBuilder, ClusterConfig, DEFAULT_API_VERSIONS, Drive, Fault, InProcess,
    Intercept as FrameIntercept, TopicConfig, TxnStatus, WALL_START_MS,
};
use ferrokafka_metadata::BrokerAddress;
use ferrokafka_wire::frame::{decode_request, encode_response};
use ferrokafka_wire::header::RequestHeader;
use ferrokafka_wire::messages::api_versions::ApiVersion;
use ferrokafka_wire::messages::produce::{PartitionProduceResponse, TopicProduceResponse};
use ferrokafka_wire::messages::{
    ApiVersionsResponse, ProduceRequest, ProduceResponse, RequestBody, ResponseBody,
    SaslAuthenticateResponse, SaslHandshakeResponse,
};
use ferrokafka_wire::{ApiKey, ErrorCode};

mod delivery;
mod harness;
mod sasl;
mod timeout;
mod txn;

pub(crate) use harness::*;
pub(crate) use txn::txn_config;
