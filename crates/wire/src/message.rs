//! Top-level messages: a declared structure plus its API key and versions.

use bytes::BufMut;

use crate::api::ApiKey;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind};
use crate::types::{Ctx, Wire};

/// A request or response body of one Kafka API.
pub trait Message: Wire + Default + Clone + PartialEq + std::fmt::Debug {
    /// Name of the structure, used in errors.
    const NAME: &'static str;
    /// The API this message belongs to.
    const API_KEY: ApiKey;
    /// Lowest version this crate encodes and decodes.
    const MIN_VERSION: i16;
    /// Highest version this crate encodes and decodes.
    const MAX_VERSION: i16;

    /// Whether `version` uses the flexible encodings.
    fn is_flexible(version: i16) -> bool;

    /// Whether this crate supports `version` of the message.
    fn supports(version: i16) -> bool {
        (Self::MIN_VERSION..=Self::MAX_VERSION).contains(&version)
    }

    /// The encoding context of a version.
    fn ctx(version: i16) -> Ctx {
        Ctx {
            version,
            flexible: Self::is_flexible(version),
        }
    }

    /// Appends the body (without header or size prefix) at `version`.
    ///
    /// Fields that do not exist at `version` are not written; a `None` in a field
    /// that is not nullable at `version`, or a length that does not fit its prefix,
    /// is an error naming the field.
    fn encode_body<B: BufMut>(&self, buf: &mut B, version: i16) -> Result<(), EncodeError> {
        if !Self::supports(version) {
            return Err(EncodeError::new(EncodeErrorKind::UnsupportedVersion).at(
                Self::NAME,
                version,
                "(version)",
            ));
        }
        self.encode(buf, Self::ctx(version), false)
    }

    /// The exact size [`Message::encode_body`] appends.
    fn body_len(&self, version: i16) -> usize {
        self.encoded_len(Self::ctx(version))
    }

    /// Parses a body at `version` and ignores bytes after it, as the Java client
    /// and librdkafka do with responses (librdkafka's mock cluster, for one,
    /// appends a byte to flexible Metadata responses). Returns the unread length.
    fn decode_body_prefix(input: &[u8], version: i16) -> Result<(Self, usize), DecodeError> {
        if !Self::supports(version) {
            return Err(DecodeError::new(DecodeErrorKind::UnsupportedVersion).at(
                Self::NAME,
                version,
                "(version)",
            ));
        }
        match Self::decode(input, Self::ctx(version), false) {
            Ok((rest, msg)) => Ok((msg, rest.len())),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(_)) => {
                Err(DecodeError::new(DecodeErrorKind::Truncated).at(Self::NAME, version, "(end)"))
            }
        }
    }

    /// Parses a complete body at `version`; unread bytes at the end are an error.
    fn decode_body(input: &[u8], version: i16) -> Result<Self, DecodeError> {
        match Self::decode_body_prefix(input, version)? {
            (msg, 0) => Ok(msg),
            (_, unread) => Err(DecodeError::new(DecodeErrorKind::TrailingBytes(unread)).at(
                Self::NAME,
                version,
                "(end)",
            )),
        }
    }
}

/// A request message, tied to the response it gets.
pub trait Request: Message {
    /// The response body type.
    type Response: Message;
}
