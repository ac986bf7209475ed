//! Frames: every request and response travels as an int32 big-endian size (not
//! counting itself) followed by a header and a body.
//!
//! - [`split_frame`] cuts one complete frame off a receive buffer (sans-IO).
//! - [`encode_request`] assembles size + header + body with the right header version;
//!   [`encode_request_parts`] gives the same bytes as parts, a Produce request's record
//!   batches uncopied.
//! - [`Correlator`] hands out correlation ids and matches responses to requests;
//!   [`EarlyAnswer`] is a response decoded before it is matched (outside a lock, say), from
//!   the [`RequestIds`] read off the request frames as they were written.
//!   A broker answers the requests of one connection in order, so an answer
//!   whose id is not the oldest outstanding one is a protocol violation.
//!
// `FrameCodec` exists only with the `codec` feature: link to it only when it is documented.
#![cfg_attr(
    feature = "codec",
    doc = "[`FrameCodec`] (feature `codec`) wraps [`split_frame`] as a tokio-util `Decoder`/`Encoder`."
)]
#![cfg_attr(
    not(feature = "codec"),
    doc = "The feature `codec` adds `FrameCodec`, which wraps [`split_frame`] as a tokio-util \
           `Decoder`/`Encoder` (these docs were built without it)."
)]

mod early;
mod parts;

use std::collections::VecDeque;

use bytes::{Buf, BufMut, BytesMut};

use crate::api::ApiKey;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::header::{
    RequestHeader, ResponseHeader, request_header_version, response_header_version,
};
use crate::messages::{RequestBody, ResponseBody, is_flexible};

pub use early::{EarlyAnswer, RequestIds};
pub use parts::{SPLICE_MIN, encode_request_parts};

/// Default maximum frame size accepted from a peer (100 MiB, like the broker's
/// `socket.request.max.bytes`).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

/// Cuts one complete frame (without its size prefix) off the front of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed. A size above `max_frame_size`
/// or below zero is an error before anything is reserved.
pub fn split_frame(
    buf: &mut BytesMut,
    max_frame_size: usize,
) -> Result<Option<BytesMut>, DecodeError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < 0 {
        return Err(DecodeError::new(DecodeErrorKind::NegativeFrameSize(size)));
    }
    let size = size as usize;
    if size > max_frame_size {
        return Err(DecodeError::new(DecodeErrorKind::FrameTooLarge {
            size,
            max: max_frame_size,
        }));
    }
    if buf.len() < 4 + size {
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size)))
}

/// Appends a complete request frame: size, header (version chosen from the
/// body's flexibility) and body at `version`.
pub fn encode_request(
    buf: &mut BytesMut,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &RequestBody,
    version: i16,
) -> Result<(), EncodeError> {
    let api_key = body.api_key();
    let flexible = is_flexible(api_key, version).unwrap_or(false);
    let header = RequestHeader::new(
        api_key,
        version,
        correlation_id,
        client_id.map(str::to_owned),
    );
    let header_version = request_header_version(flexible);
    let size = header.encoded_len(header_version) + body.encoded_len(version);
    write_frame(buf, size, |buf| {
        header.encode(buf, header_version)?;
        body.encode(buf, version)
    })
}

/// A frame's size prefix for `size` bytes after it, or the error for a frame too long for one.
fn frame_size_prefix(size: usize) -> Result<i32, EncodeError> {
    i32::try_from(size).map_err(|_| {
        EncodeError::new(crate::error::EncodeErrorKind::TooLong(size)).at("frame", -1, "size")
    })
}

/// Writes `size` then the frame; on error the buffer is left as it was, so
/// earlier frames queued in the same buffer stay intact.
fn write_frame(
    buf: &mut BytesMut,
    size: usize,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let size_prefix = frame_size_prefix(size)?;
    let start = buf.len();
    buf.reserve(4 + size);
    buf.put_i32(size_prefix);
    match write(buf) {
        Ok(()) => {
            debug_assert_eq!(buf.len() - start, 4 + size, "computed frame size");
            Ok(())
        }
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

/// Appends a complete response frame (used by tests and fake brokers).
pub fn encode_response(
    buf: &mut BytesMut,
    correlation_id: i32,
    body: &ResponseBody,
    version: i16,
) -> Result<(), EncodeError> {
    let api_key = body.api_key();
    let flexible = is_flexible(api_key, version).unwrap_or(false);
    let header = ResponseHeader::new(correlation_id);
    let header_version = response_header_version(api_key, flexible);
    let size = header.encoded_len(header_version) + body.encoded_len(version);
    write_frame(buf, size, |buf| {
        header.encode(buf, header_version);
        body.encode(buf, version)
    })
}

/// Parses a request frame (without size prefix): header and body.
pub fn decode_request(frame: &[u8]) -> Result<(RequestHeader, RequestBody), DecodeError> {
    let (api_key, version) = RequestHeader::peek_api(frame)?;
    let flexible = is_flexible(api_key, version)
        .ok_or(DecodeError::new(DecodeErrorKind::UnknownApiKey(api_key.0)))?;
    let (body, header) = RequestHeader::decode(frame, request_header_version(flexible))?;
    let body = RequestBody::decode(api_key, version, body)?;
    Ok((header, body))
}

/// Parses a response frame (without size prefix) to a request of `api_key` at `version`.
///
/// ApiVersions responses fall back to a v0 parse (see [`decode_api_versions_response`]).
pub fn decode_response(
    frame: &[u8],
    api_key: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, ResponseBody), DecodeError> {
    let flexible = is_flexible(api_key, version)
        .ok_or(DecodeError::new(DecodeErrorKind::UnknownApiKey(api_key.0)))?;
    let (body, header) = ResponseHeader::decode(frame, response_header_version(api_key, flexible))?;
    let body = if api_key == ApiKey::API_VERSIONS {
        ResponseBody::ApiVersions(decode_api_versions_response(body, version)?)
    } else {
        ResponseBody::decode(api_key, version, body)?
    };
    Ok((header, body))
}

/// The correlation id a response frame (without its size prefix) carries: its first four
/// bytes; `None` for a frame shorter than that.
pub fn response_correlation_id(frame: &[u8]) -> Option<i32> {
    frame.first_chunk::<4>().map(|id| i32::from_be_bytes(*id))
}

/// Decodes an ApiVersions response leniently, as a client must.
///
/// First with the version asked for; if that fails, as v0 (a broker that does not
/// know our version answers with a v0 body carrying UNSUPPORTED_VERSION and its
/// ApiVersions range, KIP-511). If neither parses but the body starts with error
/// code 35 (UNSUPPORTED_VERSION), the answer is that error with no ranges, so the
/// caller retries with version 0 — librdkafka's mock cluster, for one, sends such
/// a body that is neither a valid v0 nor a valid v3+ response.
pub fn decode_api_versions_response(
    body: &[u8],
    version: i16,
) -> Result<crate::messages::ApiVersionsResponse, DecodeError> {
    use crate::message::Message;
    use crate::messages::ApiVersionsResponse;
    const UNSUPPORTED_VERSION: i16 = 35;
    let lenient = |v| ApiVersionsResponse::decode_body_prefix(body, v).map(|(m, _unread)| m);
    lenient(version).or_else(|first| {
        lenient(0).or_else(|_| match body {
            [hi, lo, ..]
                if i16::from_be_bytes([*hi, *lo]) == UNSUPPORTED_VERSION && version > 0 =>
            {
                Ok(ApiVersionsResponse {
                    error_code: UNSUPPORTED_VERSION,
                    ..ApiVersionsResponse::default()
                })
            }
            _ => Err(first),
        })
    })
}

/// A response matched to its request.
#[derive(Debug)]
pub struct Matched<T> {
    /// What the caller attached to the request.
    pub context: T,
    /// The request's API.
    pub api_key: ApiKey,
    /// The request's version.
    pub version: i16,
    /// The decoded header and body, or why they did not decode. Either way the
    /// request is answered and its context handed back, so nothing waiting on it
    /// is lost.
    pub response: Result<(ResponseHeader, ResponseBody), DecodeError>,
}

/// Why a response could not be matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorrelationError {
    /// A response arrived with nothing outstanding.
    #[error("response with correlation id {0} but no request is outstanding")]
    Unexpected(i32),
    /// A response's id is not the oldest outstanding request's.
    #[error("response with correlation id {got}, expected {expected}")]
    OutOfOrder {
        /// The id the oldest outstanding request carries.
        expected: i32,
        /// The id the response carries.
        got: i32,
    },
    /// The frame is too short to hold a correlation id.
    #[error("response frame of {0} bytes has no correlation id")]
    Truncated(usize),
}

/// Correlation ids and in-flight requests of one connection.
#[derive(Debug)]
pub struct Correlator<T> {
    next_id: i32,
    pending: VecDeque<(i32, ApiKey, i16, T)>,
}

impl<T> Default for Correlator<T> {
    fn default() -> Self {
        Self {
            next_id: 0,
            pending: VecDeque::new(),
        }
    }
}

impl<T> Correlator<T> {
    /// A correlator starting at id 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allocates the id for a request. If `expects_response` (false only for
    /// Produce with acks=0), the request is remembered until its answer arrives.
    pub fn register(
        &mut self,
        api_key: ApiKey,
        version: i16,
        expects_response: bool,
        context: T,
    ) -> i32 {
        let id = self.next_id;
        // Wraps to 0 rather than going negative, so ids stay non-negative.
        self.next_id = if id == i32::MAX { 0 } else { id + 1 };
        if expects_response {
            self.pending.push_back((id, api_key, version, context));
        }
        id
    }

    /// Number of requests waiting for an answer.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// API and version of the oldest request waiting for an answer (the one a request
    /// timeout is about).
    pub fn oldest(&self) -> Option<(ApiKey, i16)> {
        self.pending
            .front()
            .map(|&(_, api, version, _)| (api, version))
    }

    /// Matches a response frame (without size prefix) to the oldest outstanding
    /// request and decodes it. An error means the frame answers no outstanding
    /// request: the connection is out of step and should be closed
    /// ([`Correlator::fail_all`] then returns every waiting context).
    pub fn match_response(&mut self, frame: &[u8]) -> Result<Matched<T>, CorrelationError> {
        self.match_response_with(frame, None)
    }

    /// [`match_response`](Self::match_response), taking `early`'s decoding of the frame when
    /// it was decoded as the answer to the request it matches (same correlation id, API and
    /// version); otherwise the frame is decoded here.
    pub fn match_response_with(
        &mut self,
        frame: &[u8],
        early: Option<EarlyAnswer>,
    ) -> Result<Matched<T>, CorrelationError> {
        let Some(got) = response_correlation_id(frame) else {
            return Err(CorrelationError::Truncated(frame.len()));
        };
        let Some(&(expected, api_key, version, _)) = self.pending.front() else {
            return Err(CorrelationError::Unexpected(got));
        };
        if expected != got {
            return Err(CorrelationError::OutOfOrder { expected, got });
        }
        let (_, _, _, context) = self.pending.pop_front().expect("front checked above");
        Ok(Matched {
            context,
            api_key,
            version,
            response: match early {
                Some(e)
                    if e.request
                        == (RequestIds {
                            correlation_id: expected,
                            api_key,
                            version,
                        }) =>
                {
                    e.response
                }
                _ => decode_response(frame, api_key, version),
            },
        })
    }

    /// Drops every outstanding request (the connection closed), returning their contexts.
    pub fn fail_all(&mut self) -> Vec<T> {
        self.pending.drain(..).map(|(_, _, _, c)| c).collect()
    }
}

/// A tokio-util codec for size-prefixed Kafka frames.
#[cfg(feature = "codec")]
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame_size: usize,
}

#[cfg(feature = "codec")]
impl FrameCodec {
    /// A codec refusing incoming frames larger than `max_frame_size`.
    pub fn new(max_frame_size: usize) -> Self {
        Self { max_frame_size }
    }
}

#[cfg(feature = "codec")]
impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

/// Errors of [`FrameCodec`]: I/O or a bad frame.
#[cfg(feature = "codec")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The peer sent a bad frame.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

#[cfg(feature = "codec")]
impl tokio_util::codec::Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        let frame = split_frame(src, self.max_frame_size)?;
        if frame.is_none() && src.len() >= 4 {
            // Reserve for the rest of the announced frame (already checked against the maximum).
            let size = i32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
            src.reserve(4 + size - src.len());
        }
        Ok(frame)
    }
}

/// Encodes complete frames (already size-prefixed by [`encode_request`]) as they are.
#[cfg(feature = "codec")]
impl tokio_util::codec::Encoder<bytes::Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, item: bytes::Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

#[cfg(all(test, feature = "codec"))]
mod codec_tests {
    use bytes::{Bytes, BytesMut};
    use tokio_util::codec::{Decoder, Encoder};

    use super::{FrameCodec, FrameError};

    #[test]
    fn codec_splits_frames_and_enforces_the_maximum() {
        let mut codec = FrameCodec::new(8);
        let mut out = BytesMut::new();
        codec
            .encode(
                Bytes::from_static(&[0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 1]),
                &mut out,
            )
            .unwrap();
        assert_eq!(
            codec.decode(&mut out).unwrap().as_deref(),
            Some(&[1u8, 2, 3][..])
        );
        // Size 1 announced, no byte yet.
        assert!(codec.decode(&mut out).unwrap().is_none());
        out.extend_from_slice(&[9]);
        assert_eq!(codec.decode(&mut out).unwrap().as_deref(), Some(&[9u8][..]));
        let mut big = BytesMut::from(&[0, 0, 0, 9][..]);
        assert!(matches!(codec.decode(&mut big), Err(FrameError::Decode(_))));
    }
}

#[cfg(test)]
mod oldest_tests {
    use super::*;

    #[test]
    fn oldest_names_the_request_a_timeout_is_about() {
        let mut c: Correlator<()> = Correlator::new();
        assert_eq!(c.oldest(), None);
        c.register(ApiKey::PRODUCE, 0, false, ());
        assert_eq!(c.oldest(), None, "acks=0 requests are not waited for");
        c.register(ApiKey::INIT_PRODUCER_ID, 5, true, ());
        c.register(ApiKey::METADATA, 12, true, ());
        assert_eq!(c.oldest(), Some((ApiKey::INIT_PRODUCER_ID, 5)));
        let _ = c.fail_all();
        assert_eq!(c.oldest(), None);
    }
}
