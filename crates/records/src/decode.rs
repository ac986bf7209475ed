//! Decoding one or more batches from a buffer.
//!
//! [`batches`] yields each batch after checking its length, magic and CRC-32C and decompressing
//! its records section (bounded by [`DecodeOptions::max_decompressed_size`]). Records are parsed
//! lazily by [`Batch::records`], which borrows from the input buffer when the batch is
//! uncompressed and from the batch's own decompressed buffer otherwise. Every length read from the
//! input is checked against the bytes left before it is used; nothing is allocated from an
//! untrusted length except the decompression output, which the limit bounds.

use std::borrow::Cow;

use crate::compression::{CompressionType, decompress};
use crate::control::ControlRecord;
use crate::error::DecodeError;
use crate::header::{
    BatchHeader, CRC_START, LOG_OVERHEAD, NO_SEQUENCE, RECORD_BATCH_OVERHEAD, TimestampType,
};
use crate::record::{Headers, RecordRef, read_header};
use crate::stamp::increment_sequence;
use crate::varint::Reader;

/// The smallest possible record: length, attributes, timestamp delta, offset delta, key length,
/// value length and header count, one byte each.
const MIN_RECORD_SIZE: usize = 7;

/// Decoding options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest decompressed records section accepted per batch, in bytes.
    pub max_decompressed_size: usize,
    /// Whether to verify each batch's CRC-32C (on by default; off only for fuzzing and tools).
    pub verify_crc: bool,
}

impl Default for DecodeOptions {
    /// 64 MiB decompression limit, CRC checked.
    fn default() -> Self {
        DecodeOptions {
            max_decompressed_size: 64 << 20,
            verify_crc: true,
        }
    }
}

impl DecodeOptions {
    /// Default options with the given decompression limit.
    pub fn with_limit(max_decompressed_size: usize) -> Self {
        DecodeOptions {
            max_decompressed_size,
            ..Self::default()
        }
    }
}

/// Iterates the batches in `buf` (e.g. the `Records` field of a request or response).
pub fn batches(buf: &[u8], options: DecodeOptions) -> BatchIter<'_> {
    BatchIter {
        buf,
        pos: 0,
        options,
        failed: false,
    }
}

/// Iterator over the batches of a buffer. After the first error it yields nothing more.
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
    options: DecodeOptions,
    failed: bool,
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<Batch<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        match Batch::parse(rest, self.options) {
            Ok(batch) => {
                self.pos += batch.raw.len();
                Some(Ok(batch))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for BatchIter<'_> {}

/// One decoded batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<'a> {
    header: BatchHeader,
    compression: CompressionType,
    raw: &'a [u8],
    records: Cow<'a, [u8]>,
}

impl<'a> Batch<'a> {
    /// Decodes the batch at the start of `buf` (trailing bytes after it are ignored).
    pub fn parse(buf: &'a [u8], options: DecodeOptions) -> Result<Self, DecodeError> {
        let header = BatchHeader::parse(buf)?;
        let min_len = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32;
        if header.batch_length < min_len {
            return Err(DecodeError::InvalidBatchLength(header.batch_length));
        }
        let size = header.batch_length as usize + LOG_OVERHEAD;
        if size > buf.len() {
            return Err(DecodeError::Truncated {
                needed: size,
                available: buf.len(),
            });
        }
        let raw = &buf[..size];
        if options.verify_crc {
            let computed = crc32c::crc32c(&raw[CRC_START..]);
            if computed != header.crc {
                return Err(DecodeError::CrcMismatch {
                    stored: header.crc,
                    computed,
                });
            }
        }
        let compression = header.compression()?;
        let section = &raw[RECORD_BATCH_OVERHEAD..];
        let records = if compression == CompressionType::None {
            Cow::Borrowed(section)
        } else {
            Cow::Owned(decompress(
                compression,
                section,
                options.max_decompressed_size,
            )?)
        };
        let count = header.record_count;
        if count < 0 || count as usize > records.len() / MIN_RECORD_SIZE {
            return Err(DecodeError::InvalidRecordCount(count));
        }
        Ok(Batch {
            header,
            compression,
            raw,
            records,
        })
    }

    /// The header fields.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The codec of the records section.
    pub fn compression(&self) -> CompressionType {
        self.compression
    }

    /// The whole batch as it appeared in the input.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the records section was decompressed into an owned buffer.
    pub fn is_decompressed(&self) -> bool {
        matches!(self.records, Cow::Owned(_))
    }

    /// The (decompressed) records section.
    pub fn records_section(&self) -> &[u8] {
        &self.records
    }

    /// Number of records the header declares.
    pub fn record_count(&self) -> i32 {
        self.header.record_count
    }

    /// Whether this is a control batch (transaction markers and the like).
    pub fn is_control(&self) -> bool {
        self.header.is_control()
    }

    /// Whether the batch is transactional.
    pub fn is_transactional(&self) -> bool {
        self.header.is_transactional()
    }

    /// Iterates the records. Yields an error (and then stops) on a malformed record, if the
    /// section holds fewer or more records than declared, or if bytes remain after the last one.
    pub fn records(&self) -> Records<'_> {
        Records {
            reader: Reader::new(&self.records),
            header: &self.header,
            index: 0,
            done: false,
        }
    }

    /// For a control batch, its control records (commit / abort markers); `None` otherwise.
    pub fn control_records(
        &self,
    ) -> Option<impl Iterator<Item = Result<ControlRecord, DecodeError>> + '_> {
        if !self.is_control() {
            return None;
        }
        Some(
            self.records()
                .map(|r| r.and_then(|r| ControlRecord::parse(&r))),
        )
    }
}

/// Iterator over the records of a [`Batch`].
#[derive(Debug, Clone)]
pub struct Records<'b> {
    reader: Reader<'b>,
    header: &'b BatchHeader,
    index: usize,
    done: bool,
}

impl<'b> Records<'b> {
    fn read_record(&mut self) -> Result<RecordRef<'b>, DecodeError> {
        let length = self.reader.varint()?;
        if length < 0 || length as usize > self.reader.remaining() {
            return Err(DecodeError::InvalidRecordLength(length));
        }
        let body = self.reader.take(length as usize)?;
        let mut r = Reader::new(body);
        let _attributes = r.u8()?;
        let timestamp_delta = r.varlong()?;
        let offset_delta = r.varint()?;
        let key = read_bytes(&mut r, "key")?;
        let value = read_bytes(&mut r, "value")?;
        let header_count = r.varint()?;
        // Each header takes at least two bytes (two length varints).
        if header_count < 0 || header_count as usize > r.remaining() / 2 {
            return Err(DecodeError::InvalidHeaderCount(header_count));
        }
        let headers_start = r.position();
        for _ in 0..header_count {
            read_header(&mut r)?;
        }
        let headers_raw = &body[headers_start..r.position()];
        if r.remaining() != 0 {
            return Err(DecodeError::RecordLengthMismatch {
                declared: length,
                actual: r.position(),
            });
        }
        let h = self.header;
        let timestamp = match h.timestamp_type() {
            TimestampType::LogAppendTime => h.max_timestamp,
            TimestampType::CreateTime => h.base_timestamp.wrapping_add(timestamp_delta),
        };
        let sequence = if h.base_sequence == NO_SEQUENCE || offset_delta < 0 {
            NO_SEQUENCE
        } else {
            increment_sequence(h.base_sequence, offset_delta)
        };
        Ok(RecordRef {
            offset: h.base_offset.wrapping_add(offset_delta as i64),
            offset_delta,
            timestamp,
            timestamp_delta,
            sequence,
            key,
            value,
            headers: Headers {
                raw: headers_raw,
                count: header_count as u32,
            },
        })
    }
}

#[inline(always)]
fn read_bytes<'b>(
    r: &mut Reader<'b>,
    field: &'static str,
) -> Result<Option<&'b [u8]>, DecodeError> {
    match r.varint()? {
        -1 => Ok(None),
        n if n < 0 => Err(DecodeError::InvalidLength { field, length: n }),
        n => Ok(Some(r.take(n as usize)?)),
    }
}

impl<'b> Iterator for Records<'b> {
    type Item = Result<RecordRef<'b>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let declared = self.header.record_count;
        if self.index == declared as usize {
            self.done = true;
            let left = self.reader.remaining();
            return (left != 0).then_some(Err(DecodeError::TrailingBytes(left)));
        }
        if self.reader.remaining() == 0 {
            self.done = true;
            return Some(Err(DecodeError::RecordCountMismatch {
                declared,
                actual: self.index,
            }));
        }
        let item = self.read_record();
        match item {
            Ok(_) => self.index += 1,
            Err(_) => self.done = true,
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.header.record_count as usize).saturating_sub(self.index);
        (0, Some(left + 1))
    }
}

impl std::iter::FusedIterator for Records<'_> {}
