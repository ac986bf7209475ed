//! Request and response headers.
//!
//! - Request header v0: `api_key, api_version, correlation_id`.
//!   v1 adds `client_id` (a classic nullable string, never compact, so that any
//!   broker can read the header of any request). v2 adds a tagged-field section.
//! - Response header v0: `correlation_id`; v1 adds a tagged-field section.
//!
//! Which version a message uses follows from whether its API version is flexible
//! ([`request_header_version`], [`response_header_version`]); ApiVersions
//! responses always use response header v0 (KIP-511), so a client can read the
//! header of a reply to a version the broker does not understand.

use bytes::BufMut;

use crate::api::ApiKey;
use crate::error::{DecodeError, EncodeError};
use crate::primitives::{self as p, PResult};
use crate::types::{Ctx, Nullable, TaggedFields, Wire, put_unknown_tags_below, unknown_tags_len};

/// A request header.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RequestHeader {
    /// The API of the request body.
    pub api_key: ApiKey,
    /// The version of the request body.
    pub api_version: i16,
    /// Echoed in the response header; matches responses to requests.
    pub correlation_id: i32,
    /// `client.id` (header v1+).
    pub client_id: Option<String>,
    /// Tagged fields (header v2).
    pub unknown_tagged_fields: TaggedFields,
}

const CLASSIC: Ctx = Ctx {
    version: 1,
    flexible: false,
};

impl RequestHeader {
    /// A header with no tagged fields.
    pub fn new(
        api_key: ApiKey,
        api_version: i16,
        correlation_id: i32,
        client_id: Option<String>,
    ) -> Self {
        Self {
            api_key,
            api_version,
            correlation_id,
            client_id,
            unknown_tagged_fields: TaggedFields::new(),
        }
    }

    /// Appends the header in header version `header_version` (0–2).
    pub fn encode<B: BufMut>(&self, buf: &mut B, header_version: i16) -> Result<(), EncodeError> {
        buf.put_i16(self.api_key.0);
        buf.put_i16(self.api_version);
        buf.put_i32(self.correlation_id);
        if header_version >= 1 {
            match &self.client_id {
                Some(id) => id
                    .encode(buf, CLASSIC, true)
                    .map_err(|e| e.at("RequestHeader", header_version, "client_id"))?,
                None => String::encode_null(buf, CLASSIC),
            }
        }
        if header_version >= 2 {
            p::put_uvarint(buf, self.unknown_tagged_fields.len() as u32);
            put_unknown_tags_below(buf, &mut self.unknown_tagged_fields.iter().peekable(), None);
        }
        Ok(())
    }

    /// The exact size [`RequestHeader::encode`] appends.
    pub fn encoded_len(&self, header_version: i16) -> usize {
        let mut len = 8;
        if header_version >= 1 {
            len += self.client_id.encoded_len(CLASSIC);
        }
        if header_version >= 2 {
            len += p::uvarint_len(self.unknown_tagged_fields.len() as u32)
                + unknown_tags_len(&self.unknown_tagged_fields);
        }
        len
    }

    /// Parses a header of `header_version`, returning the rest (the body).
    pub fn decode(input: &[u8], header_version: i16) -> Result<(&[u8], Self), DecodeError> {
        Self::parse(input, header_version).map_err(|e| flatten(e, "RequestHeader", header_version))
    }

    fn parse(input: &[u8], header_version: i16) -> PResult<'_, Self> {
        let (rest, api_key) = p::get_i16(input)?;
        let (rest, api_version) = p::get_i16(rest)?;
        let (mut rest, correlation_id) = p::get_i32(rest)?;
        let mut header = Self::new(ApiKey(api_key), api_version, correlation_id, None);
        if header_version >= 1 {
            let (r, id) = String::decode_nullable(rest, CLASSIC)?;
            header.client_id = id;
            rest = r;
        }
        if header_version >= 2 {
            let (r, tags) = decode_raw_tags(rest)?;
            header.unknown_tagged_fields = tags;
            rest = r;
        }
        Ok((rest, header))
    }

    /// Reads only the API key and version at the front of a request, to pick the
    /// header and body versions before a full decode.
    pub fn peek_api(input: &[u8]) -> Result<(ApiKey, i16), DecodeError> {
        let parse = |i| -> PResult<'_, (i16, i16)> {
            let (r, k) = p::get_i16(i)?;
            let (r, v) = p::get_i16(r)?;
            Ok((r, (k, v)))
        };
        parse(input)
            .map(|(_, (k, v))| (ApiKey(k), v))
            .map_err(|e| flatten(e, "RequestHeader", -1))
    }
}

/// A response header.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
    /// Tagged fields (header v1).
    pub unknown_tagged_fields: TaggedFields,
}

impl ResponseHeader {
    /// A header with no tagged fields.
    pub fn new(correlation_id: i32) -> Self {
        Self {
            correlation_id,
            unknown_tagged_fields: TaggedFields::new(),
        }
    }

    /// Appends the header in header version `header_version` (0–1).
    pub fn encode<B: BufMut>(&self, buf: &mut B, header_version: i16) {
        buf.put_i32(self.correlation_id);
        if header_version >= 1 {
            p::put_uvarint(buf, self.unknown_tagged_fields.len() as u32);
            put_unknown_tags_below(buf, &mut self.unknown_tagged_fields.iter().peekable(), None);
        }
    }

    /// The exact size [`ResponseHeader::encode`] appends.
    pub fn encoded_len(&self, header_version: i16) -> usize {
        if header_version >= 1 {
            4 + p::uvarint_len(self.unknown_tagged_fields.len() as u32)
                + unknown_tags_len(&self.unknown_tagged_fields)
        } else {
            4
        }
    }

    /// Parses a header of `header_version`, returning the rest (the body).
    pub fn decode(input: &[u8], header_version: i16) -> Result<(&[u8], Self), DecodeError> {
        let parse = |i| -> PResult<'_, Self> {
            let (mut rest, correlation_id) = p::get_i32(i)?;
            let mut header = Self::new(correlation_id);
            if header_version >= 1 {
                let (r, tags) = decode_raw_tags(rest)?;
                header.unknown_tagged_fields = tags;
                rest = r;
            }
            Ok((rest, header))
        };
        parse(input).map_err(|e| flatten(e, "ResponseHeader", header_version))
    }
}

/// The request header version for an API version: 2 if flexible, else 1.
pub fn request_header_version(flexible: bool) -> i16 {
    if flexible { 2 } else { 1 }
}

/// The response header version: 1 if flexible, else 0; always 0 for ApiVersions.
pub fn response_header_version(api_key: ApiKey, flexible: bool) -> i16 {
    i16::from(flexible && api_key != ApiKey::API_VERSIONS)
}

fn decode_raw_tags(input: &[u8]) -> PResult<'_, TaggedFields> {
    let (mut rest, count) = p::get_uvarint(input)?;
    if (count as usize).saturating_mul(2) > rest.len() {
        return Err(nom::Err::Error(DecodeError::new(
            crate::error::DecodeErrorKind::InvalidLength(i64::from(count)),
        )));
    }
    let mut tags = TaggedFields::new();
    for _ in 0..count {
        let (r, tag) = p::get_uvarint(rest)?;
        let (r, size) = p::get_uvarint(r)?;
        let (r, data) = p::take(r, size as usize)?;
        tags.insert(tag, bytes::Bytes::copy_from_slice(data));
        rest = r;
    }
    Ok((rest, tags))
}

/// Turns a nom error into a located [`DecodeError`].
pub(crate) fn flatten(
    e: nom::Err<DecodeError>,
    structure: &'static str,
    version: i16,
) -> DecodeError {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.at(structure, version, "(header)"),
        nom::Err::Incomplete(_) => DecodeError::new(crate::error::DecodeErrorKind::Truncated)
            .at(structure, version, "(header)"),
    }
}
