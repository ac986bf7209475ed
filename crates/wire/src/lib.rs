//! Kafka wire protocol for the ferrokafka producer.
//!
//! - [`primitives`]: varints, fixed-width integers, length prefixes.
//! - [`types`]: the [`Wire`](types::Wire) trait for field types, classic and compact.
//! - [`lazy`]: [`LazyArray`], an array field kept encoded until read (the topics
//!   and partitions of a Metadata answer, which can be very large).
//! - [`messages`]: every request and response a producer needs, each declared once
//!   (fields, versions, nullability, tags, defaults) with the `wire_struct!`
//!   declaration language; encoding, sizing and decoding follow from it.
//! - [`header`]: request and response headers and how to pick their versions.
//! - [`negotiate`]: choosing a version per API from a broker's ApiVersions answer.
//! - [`error_code`]: every Kafka error code with its name, retriable flag and meaning.
//! - [`frame`]: size-prefixed frames, request assembly, correlation-id matching and
//!   (feature `codec`) a tokio-util `Encoder`/`Decoder`.
//!
//! Record batches travel as opaque [`bytes::Bytes`] here; `ferrokafka-records`
//! builds and reads them. Decoding never panics and never allocates more than the
//! remaining input justifies: every length and count is checked against the bytes
//! left before anything is reserved.
//!
//! # When to use this crate alone
//!
//! The crate is a codec and nothing else: no sockets, no runtime, no producer logic. Pick it
//! without the rest of ferrokafka to speak the Kafka protocol yourself:
//!
//! * a tool or client of your own that sends a few requests (Metadata, CreateTopics,
//!   ApiVersions) over a connection you manage, blocking or async;
//! * a test double, proxy or protocol inspector that decodes requests and answers them (the
//!   fake cluster of `ferrokafka-fake` is one);
//! * fuzzing or conformance tests of another implementation, with every message declared once
//!   for every version listed in [`SUPPORTED_APIS`] and [`SERVER_ONLY_APIS`].
//!
//! Record batches inside Produce and Fetch are opaque bytes here; add `ferrokafka-records` to
//! build or read them.
//!
//! Both ends of an ApiVersions exchange, in memory (a real client writes `to_broker` to its
//! socket and feeds what it reads into `to_client`):
//!
//! ```
//! use bytes::BytesMut;
//! use ferrokafka_wire::frame::{
//!     Correlator, DEFAULT_MAX_FRAME_SIZE, decode_request, encode_request, encode_response,
//!     split_frame,
//! };
//! use ferrokafka_wire::messages::api_versions::ApiVersion;
//! use ferrokafka_wire::messages::{ApiVersionsRequest, ApiVersionsResponse};
//! use ferrokafka_wire::negotiate::Negotiated;
//! use ferrokafka_wire::{ApiKey, RequestBody, ResponseBody, SUPPORTED_APIS};
//!
//! // Client: register the request with whatever context should come back with its answer,
//! // then write the frame (size prefix, header v2 since ApiVersions v3 is flexible, body).
//! let mut correlator = Correlator::new();
//! let id = correlator.register(ApiKey::API_VERSIONS, 3, true, "startup");
//! let request = ApiVersionsRequest::new("my-tool", "1.0.0");
//! let mut to_broker = BytesMut::new();
//! encode_request(&mut to_broker, id, Some("my-tool"), &request.into(), 3)?;
//!
//! // Broker (a test double): cut one frame off the buffer, decode it, answer it.
//! let frame = split_frame(&mut to_broker, DEFAULT_MAX_FRAME_SIZE)?.expect("a whole frame");
//! let (header, body) = decode_request(&frame)?;
//! assert!(matches!(&body, RequestBody::ApiVersions(r) if r.client_software_name == "my-tool"));
//! let range = |api: ApiKey, min, max| ApiVersion {
//!     api_key: api.0,
//!     min_version: min,
//!     max_version: max,
//!     ..Default::default()
//! };
//! let answer = ApiVersionsResponse {
//!     api_keys: vec![range(ApiKey::API_VERSIONS, 0, 4), range(ApiKey::PRODUCE, 3, 9)],
//!     ..Default::default()
//! };
//! let mut to_client = BytesMut::new();
//! encode_response(&mut to_client, header.correlation_id, &answer.into(), header.api_version)?;
//!
//! // Client: the answer is matched to its request by correlation id and decoded.
//! let frame = split_frame(&mut to_client, DEFAULT_MAX_FRAME_SIZE)?.expect("a whole frame");
//! let matched = correlator.match_response(&frame)?;
//! assert_eq!(matched.context, "startup");
//! let (_, ResponseBody::ApiVersions(versions)) = matched.response? else {
//!     unreachable!("an ApiVersions request gets an ApiVersions answer")
//! };
//!
//! // Highest common version per API; an API the broker does not list is an error naming it.
//! let negotiated = Negotiated::new(SUPPORTED_APIS, &versions)?;
//! assert_eq!(negotiated.version(ApiKey::PRODUCE)?, 9);
//! assert!(negotiated.version(ApiKey::METADATA).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod error;
pub mod error_code;
pub mod frame;
pub mod header;
pub mod lazy;
#[doc(hidden)]
pub mod macros;
pub mod message;
pub mod messages;
pub mod negotiate;
pub mod primitives;
#[cfg(test)]
mod testgen;
#[cfg(test)]
mod tests;
pub mod topic;
pub mod types;

pub use api::ApiKey;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind};
pub use error_code::ErrorCode;
pub use header::{RequestHeader, ResponseHeader};
pub use lazy::LazyArray;
pub use message::{Message, Request};
pub use messages::{RequestBody, ResponseBody, SERVER_ONLY_APIS, SUPPORTED_APIS};
pub use topic::{Topic, TopicPartition};
pub use types::Uuid;
