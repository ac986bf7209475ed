//! The record and header model.
//!
//! Key and value are optional bytes: `None` (null, length -1 on the wire; a null value is a
//! tombstone) is different from `Some(empty)`. Headers are an ordered list; names may repeat and
//! values may be null, exactly as in the Java client's `RecordHeaders`.

use bytes::Bytes;

use crate::varint::Reader;

/// An owned record header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Header name (UTF-8; never null).
    pub key: String,
    /// Header value; `None` is null.
    pub value: Option<Bytes>,
}

impl Header {
    /// A header.
    pub fn new(key: impl Into<String>, value: Option<impl Into<Bytes>>) -> Self {
        Header {
            key: key.into(),
            value: value.map(Into::into),
        }
    }
}

/// An owned record, as a producer hands it in or as decoded into owned form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Timestamp in milliseconds (CreateTime, or LogAppendTime when read back from such a batch).
    pub timestamp: i64,
    /// Key; `None` is null.
    pub key: Option<Bytes>,
    /// Value; `None` is null (a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<Header>,
}

/// A header borrowed from a decoded batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderRef<'a> {
    /// Header name bytes (UTF-8 when written by a well-behaved client; not validated).
    pub key: &'a [u8],
    /// Header value; `None` is null.
    pub value: Option<&'a [u8]>,
}

impl<'a> HeaderRef<'a> {
    /// The name as UTF-8, if it is valid UTF-8.
    pub fn key_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.key).ok()
    }

    /// An owned copy (an invalid UTF-8 name is converted lossily, as Java does).
    pub fn to_owned_header(&self) -> Header {
        Header {
            key: String::from_utf8_lossy(self.key).into_owned(),
            value: self.value.map(Bytes::copy_from_slice),
        }
    }
}

/// The headers of a decoded record: validated when the record was read, iterated lazily without
/// allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Headers<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) count: u32,
}

impl<'a> Headers<'a> {
    /// Number of headers.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates the headers in wire order.
    pub fn iter(&self) -> HeadersIter<'a> {
        HeadersIter {
            reader: Reader::new(self.raw),
            left: self.count,
        }
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = HeaderRef<'a>;
    type IntoIter = HeadersIter<'a>;
    fn into_iter(self) -> HeadersIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Headers<'a> {
    type Item = HeaderRef<'a>;
    type IntoIter = HeadersIter<'a>;
    fn into_iter(self) -> HeadersIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Headers`].
#[derive(Debug, Clone)]
pub struct HeadersIter<'a> {
    reader: Reader<'a>,
    left: u32,
}

/// Reads one header; used both to validate (at record decode) and to iterate.
#[inline]
pub(crate) fn read_header<'a>(
    r: &mut Reader<'a>,
) -> Result<HeaderRef<'a>, crate::error::DecodeError> {
    use crate::error::DecodeError;
    let klen = r.varint()?;
    if klen < 0 {
        return Err(DecodeError::InvalidLength {
            field: "header key",
            length: klen,
        });
    }
    let key = r.take(klen as usize)?;
    let vlen = r.varint()?;
    let value = match vlen {
        -1 => None,
        n if n < 0 => {
            return Err(DecodeError::InvalidLength {
                field: "header value",
                length: n,
            });
        }
        n => Some(r.take(n as usize)?),
    };
    Ok(HeaderRef { key, value })
}

impl<'a> Iterator for HeadersIter<'a> {
    type Item = HeaderRef<'a>;

    fn next(&mut self) -> Option<HeaderRef<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Validated when the record was decoded, so this cannot fail; stop quietly if it did.
        read_header(&mut self.reader).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// A record decoded from a batch, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordRef<'a> {
    /// Absolute offset: base offset + offset delta.
    pub offset: i64,
    /// Offset delta within the batch.
    pub offset_delta: i32,
    /// Absolute timestamp: base timestamp + delta for CreateTime; the batch's max timestamp for
    /// LogAppendTime (as the Java client reports it).
    pub timestamp: i64,
    /// The timestamp delta as stored.
    pub timestamp_delta: i64,
    /// Sequence number (base sequence + offset delta, wrapping like the Java client), or -1.
    pub sequence: i32,
    /// Key; `None` is null.
    pub key: Option<&'a [u8]>,
    /// Value; `None` is null.
    pub value: Option<&'a [u8]>,
    /// Headers.
    pub headers: Headers<'a>,
}

impl RecordRef<'_> {
    /// An owned copy.
    pub fn to_owned_record(&self) -> Record {
        Record {
            timestamp: self.timestamp,
            key: self.key.map(Bytes::copy_from_slice),
            value: self.value.map(Bytes::copy_from_slice),
            headers: self.headers.iter().map(|h| h.to_owned_header()).collect(),
        }
    }
}
