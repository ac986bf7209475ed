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
pub mod types;

pub use api::ApiKey;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind};
pub use error_code::ErrorCode;
pub use header::{RequestHeader, ResponseHeader};
pub use lazy::LazyArray;
pub use message::{Message, Request};
pub use messages::{RequestBody, ResponseBody, SERVER_ONLY_APIS, SUPPORTED_APIS};
pub use types::Uuid;
