//! Building a batch: records go straight into their final v2 wire form in one growing buffer.
//!
//! The buffer starts with 61 reserved header bytes; each [`BatchBuilder::append`] computes the
//! record's exact size first (so "is the batch full?" never re-encodes), then writes the length,
//! attributes, timestamp delta, offset delta, key, value and headers as zigzag varints and raw
//! bytes. Nothing is allocated per record beyond the buffer's own growth. [`BatchBuilder::close`]
//! compresses the records section if asked, fills the header and computes the CRC-32C.

use bytes::{Bytes, BytesMut};

use crate::compression::{Compression, CompressionType, compress};
use crate::error::{EncodeError, RecordError};
use crate::header::{
    BatchHeader, CRC_START, LOG_OVERHEAD, NO_PARTITION_LEADER_EPOCH, NO_TIMESTAMP,
    RECORD_BATCH_OVERHEAD,
};
use crate::record::{Header, RecordRef};
use crate::stamp::{ProducerStamp, write_stamp};
use crate::varint::varint_len;

mod encode;
mod plain;

use encode::{header_parts, measure_record, write_measured, write_record_iter};
pub use encode::{record_size, record_size_upper_bound, write_record};

/// Java's `COMPRESSION_RATE_ESTIMATION_FACTOR`: estimates of compressed size are padded by 5%.
const COMPRESSION_ESTIMATION_FACTOR: f32 = 1.05;

/// What [`BatchBuilder::try_append_within`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAppend {
    /// Appended, at this offset delta (its index in the batch).
    Appended(i32),
    /// Not written: the batch has no room under `batch_size`.
    Full,
    /// Not written: the buffer would be this long, past `max_bytes`.
    NeedsBytes(usize),
}

/// An open batch that records are appended to.
///
/// Identity (producer id, epoch, sequence) is not known at append time; it is stamped at
/// [`close`](BatchBuilder::close) and can be changed later with [`ClosedBatch::restamp`].
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    /// 61 reserved header bytes, then the uncompressed records.
    buf: BytesMut,
    compression: Compression,
    base_timestamp: i64,
    max_timestamp: i64,
    count: i32,
    ratio_estimate: f32,
}

impl BatchBuilder {
    /// A new, empty batch; `capacity` is the buffer to reserve up front (e.g. `batch.size`).
    pub fn new(compression: Compression, capacity: usize) -> Self {
        Self::with_buffer(
            compression,
            BytesMut::with_capacity(capacity.max(RECORD_BATCH_OVERHEAD)),
        )
    }

    /// A new, empty batch written into `buf` (emptied first; its capacity is kept), e.g. the
    /// buffer of a batch that was sent and answered, so that a new batch need not allocate.
    pub fn with_buffer(compression: Compression, mut buf: BytesMut) -> Self {
        buf.clear();
        buf.resize(RECORD_BATCH_OVERHEAD, 0);
        BatchBuilder {
            buf,
            compression,
            base_timestamp: NO_TIMESTAMP,
            max_timestamp: NO_TIMESTAMP,
            count: 0,
            ratio_estimate: 1.0,
        }
    }

    /// Sets the expected compressed/uncompressed ratio used by
    /// [`estimated_size_in_bytes`](Self::estimated_size_in_bytes). The Java client keeps one per
    /// topic and codec, starting at 1.0 and updated from each closed batch's
    /// [`ClosedBatch::compression_ratio`].
    pub fn set_compression_ratio_estimate(&mut self, ratio: f32) {
        if ratio.is_finite() && ratio > 0.0 {
            self.ratio_estimate = ratio;
        }
    }

    /// The codec this batch will be closed with.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Number of records appended.
    pub fn record_count(&self) -> i32 {
        self.count
    }

    /// Whether no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Timestamp of the first record (the batch's base timestamp), or -1.
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// Exact size of the batch if closed uncompressed now: header plus records.
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The uncompressed records section written so far.
    pub fn records_section(&self) -> &[u8] {
        &self.buf[RECORD_BATCH_OVERHEAD..]
    }

    /// Estimated size once closed: exact when uncompressed; otherwise header plus records ×
    /// ratio estimate × 1.05, as the Java client's `MemoryRecordsBuilder.estimatedBytesWritten`.
    #[allow(clippy::cast_precision_loss)] // an estimate; f32 is plenty
    pub fn estimated_size_in_bytes(&self) -> usize {
        if self.compression.kind == CompressionType::None {
            return self.buf.len();
        }
        let records = (self.buf.len() - RECORD_BATCH_OVERHEAD) as f32;
        RECORD_BATCH_OVERHEAD
            + (records * self.ratio_estimate * COMPRESSION_ESTIMATION_FACTOR).ceil() as usize
    }

    /// Exact bytes [`append`](Self::append) would add for this record.
    pub fn next_record_size(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        let base = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        record_size(
            self.count,
            timestamp.wrapping_sub(base),
            key,
            value,
            headers,
        )
    }

    /// Whether this record fits under `batch_size` (estimated, for compressed batches). The
    /// first record always fits, as in the Java client: a record larger than `batch.size` gets a
    /// batch of its own (the `max.request.size` check is [`record_size_upper_bound`]).
    pub fn has_room_for(
        &self,
        batch_size: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> bool {
        if self.count == 0 {
            return true;
        }
        // Like Java's `MemoryRecordsBuilder.hasRoomFor`: the estimate so far plus the new record's
        // uncompressed size.
        let add = self.next_record_size(timestamp, key, value, headers);
        self.estimated_size_in_bytes() + add <= batch_size
    }

    /// Appends a record and returns its offset delta (its index in the batch).
    ///
    /// `timestamp` must be `>= 0` or `-1` (no timestamp). Timestamps need not be increasing: the
    /// delta from the first record's timestamp is a signed varlong.
    #[inline]
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<i32, RecordError> {
        self.append_iter(timestamp, key, value, headers.iter().map(header_parts))
    }

    /// Appends the record if it fits under `batch_size` — [`has_room_for`](Self::has_room_for)
    /// and [`append`](Self::append) in one, measuring the record once: `Ok(Some(offset
    /// delta))` when appended, `Ok(None)` (nothing written) when the batch has no room.
    #[inline]
    pub fn try_append(
        &mut self,
        batch_size: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<Option<i32>, RecordError> {
        match self.try_append_within(batch_size, usize::MAX, timestamp, key, value, headers)? {
            TryAppend::Appended(index) => Ok(Some(index)),
            TryAppend::Full | TryAppend::NeedsBytes(_) => Ok(None),
        }
    }

    /// [`try_append`](Self::try_append) that also keeps the buffer within `max_bytes` (the
    /// memory its owner reserved for it): a record that fits under `batch_size` but would take
    /// the buffer past `max_bytes` is not written, and [`TryAppend::NeedsBytes`] says how
    /// long the buffer would then be, so the owner can reserve more and call again.
    #[inline]
    pub fn try_append_within(
        &mut self,
        batch_size: usize,
        max_bytes: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<TryAppend, RecordError> {
        let (base, offset_delta) = self.next_record(timestamp)?;
        if headers.is_empty() {
            return self.try_append_plain(
                batch_size,
                max_bytes,
                (base, offset_delta),
                timestamp,
                key,
                value,
            );
        }
        let timestamp_delta = timestamp.wrapping_sub(base);
        let parts = headers.iter().map(header_parts);
        let measured = measure_record(offset_delta, timestamp_delta, key, value, parts.clone())?;
        let total = varint_len(measured.0 as i32) + measured.0;
        if self.count > 0 && self.estimated_size_in_bytes() + total > batch_size {
            return Ok(TryAppend::Full);
        }
        let needed = self.buf.len() + total;
        if needed > max_bytes {
            return Ok(TryAppend::NeedsBytes(needed));
        }
        write_measured(
            &mut self.buf,
            measured,
            offset_delta,
            timestamp_delta,
            key,
            value,
            parts,
        );
        self.appended(base, timestamp);
        Ok(TryAppend::Appended(offset_delta))
    }

    /// For the next record at `timestamp`: the batch's base timestamp and the record's offset
    /// delta, or why it cannot be appended.
    #[inline(always)]
    fn next_record(&self, timestamp: i64) -> Result<(i64, i32), RecordError> {
        if timestamp < NO_TIMESTAMP {
            return Err(RecordError::InvalidTimestamp(timestamp));
        }
        if self.count == i32::MAX {
            return Err(RecordError::TooManyRecords);
        }
        let base = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        Ok((base, self.count))
    }

    /// A record at `timestamp` was written, [`next_record`](Self::next_record) gave `base`.
    #[inline(always)]
    fn appended(&mut self, base: i64, timestamp: i64) {
        self.base_timestamp = base;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.count += 1;
    }

    /// Appends a decoded record (used when splitting or re-batching).
    pub fn append_ref(&mut self, record: &RecordRef<'_>) -> Result<i32, RecordError> {
        self.append_iter(
            record.timestamp,
            record.key,
            record.value,
            record.headers.iter().map(|h| (h.key, h.value)),
        )
    }

    #[inline(always)]
    fn append_iter<'h, I>(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: I,
    ) -> Result<i32, RecordError>
    where
        I: Iterator<Item = (&'h [u8], Option<&'h [u8]>)> + Clone,
    {
        let (base, offset_delta) = self.next_record(timestamp)?;
        write_record_iter(
            &mut self.buf,
            offset_delta,
            timestamp.wrapping_sub(base),
            key,
            value,
            headers,
        )?;
        self.appended(base, timestamp);
        Ok(offset_delta)
    }

    /// Closes the batch: compresses the records section (if a codec is set), writes the header
    /// with `stamp`, and computes the CRC-32C.
    pub fn close(self, stamp: ProducerStamp) -> Result<ClosedBatch, EncodeError> {
        self.close_reusing(stamp).map(|(closed, _)| closed)
    }

    /// [`close`](Self::close), also handing back the buffer the records were written to when
    /// they were compressed into another one (for a later batch to write into); `None` when
    /// the closed batch is that buffer.
    pub fn close_reusing(
        self,
        stamp: ProducerStamp,
    ) -> Result<(ClosedBatch, Option<BytesMut>), EncodeError> {
        let records_len = self.buf.len() - RECORD_BATCH_OVERHEAD;
        let (mut out, spent) = if self.compression.kind == CompressionType::None {
            (self.buf, None)
        } else {
            let mut out = BytesMut::with_capacity(RECORD_BATCH_OVERHEAD + records_len / 2 + 64);
            out.resize(RECORD_BATCH_OVERHEAD, 0);
            compress(
                self.compression,
                &self.buf[RECORD_BATCH_OVERHEAD..],
                &mut out,
            )?;
            (out, Some(self.buf))
        };
        if out.len() - LOG_OVERHEAD > i32::MAX as usize {
            return Err(EncodeError::BatchTooLarge(out.len()));
        }
        let mut header = BatchHeader {
            base_offset: 0,
            batch_length: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            crc: 0,
            attributes: self.compression.kind.id() as i16,
            last_offset_delta: self.count - 1,
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            producer_id: stamp.producer_id,
            producer_epoch: stamp.producer_epoch,
            base_sequence: stamp.base_sequence,
            record_count: self.count,
        };
        if stamp.transactional {
            header.attributes |= crate::header::TRANSACTIONAL_BIT;
        }
        header.write_with_crc(&mut out);
        let closed = ClosedBatch {
            bytes: out.freeze(),
            header,
            uncompressed_records_size: records_len,
        };
        Ok((closed, spent))
    }
}

/// A closed batch: the exact bytes to put in a Produce request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedBatch {
    bytes: Bytes,
    header: BatchHeader,
    uncompressed_records_size: usize,
}

impl ClosedBatch {
    /// The batch bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The batch bytes, consuming the batch.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a closed batch has at least its header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The header as written.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// Number of records.
    pub fn record_count(&self) -> i32 {
        self.header.record_count
    }

    /// Compressed records size / uncompressed records size (1.0 when uncompressed or empty):
    /// feed it back into [`BatchBuilder::set_compression_ratio_estimate`].
    #[allow(clippy::cast_precision_loss)] // a ratio for estimates; f32 is plenty
    pub fn compression_ratio(&self) -> f32 {
        if self.uncompressed_records_size == 0 {
            return 1.0;
        }
        (self.bytes.len() - RECORD_BATCH_OVERHEAD) as f32 / self.uncompressed_records_size as f32
    }

    /// Rewrites producer id, epoch, base sequence and the transactional flag (after a retry or an
    /// epoch bump) and recomputes the CRC, without re-encoding the records. The bytes are patched
    /// in place when this batch holds the only reference to them, and copied once otherwise.
    pub fn restamp(&mut self, stamp: ProducerStamp) {
        let bytes = std::mem::take(&mut self.bytes);
        let mut m = bytes
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        write_stamp(&mut m, stamp);
        self.header.producer_id = stamp.producer_id;
        self.header.producer_epoch = stamp.producer_epoch;
        self.header.base_sequence = stamp.base_sequence;
        if stamp.transactional {
            self.header.attributes |= crate::header::TRANSACTIONAL_BIT;
        } else {
            self.header.attributes &= !crate::header::TRANSACTIONAL_BIT;
        }
        self.header.crc = u32::from_be_bytes([m[17], m[18], m[19], m[20]]);
        debug_assert_eq!(self.header.crc, crc32c::crc32c(&m[CRC_START..]));
        self.bytes = m.freeze();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::varint::Reader;

    #[test]
    fn computed_size_matches_written_size() {
        let headers = vec![
            Header::new("a", Some(&b"1"[..])),
            Header::new("a", None::<Bytes>),
            Header::new("", Some(&b""[..])),
        ];
        for (od, td) in [(0, 0), (1, -1), (300, 1 << 40), (i32::MAX, i64::MIN)] {
            let mut buf = BytesMut::new();
            let n = write_record(&mut buf, od, td, Some(b"k"), None, &headers).unwrap();
            assert_eq!(n, buf.len());
            assert_eq!(n, record_size(od, td, Some(b"k"), None, &headers));
            assert!(
                n + RECORD_BATCH_OVERHEAD <= record_size_upper_bound(Some(b"k"), None, &headers)
            );
            // The length prefix counts the rest.
            let mut r = Reader::new(&buf);
            let len = r.varint().unwrap();
            assert_eq!(len as usize, r.remaining());
        }
    }

    /// A batch written into a used buffer is the batch a new buffer gets, and the buffer's
    /// allocation is kept.
    #[test]
    fn a_batch_in_a_reused_buffer_is_the_same_batch() {
        let fill = |mut b: BatchBuilder| {
            for i in 0..3u8 {
                b.append(100 + i64::from(i), Some(&[i]), Some(&[7; 20]), &[])
                    .unwrap();
            }
            b.close(ProducerStamp::NONE).unwrap().into_bytes()
        };
        let fresh = fill(BatchBuilder::new(Compression::NONE, 0));
        let mut used = BytesMut::with_capacity(4096);
        used.extend_from_slice(&[0xee; 300]);
        let at = used.as_ptr();
        let reused = fill(BatchBuilder::with_buffer(Compression::NONE, used));
        assert_eq!(reused, fresh);
        assert_eq!(reused.as_ptr(), at, "written where the buffer was");
    }

    #[test]
    fn first_record_always_fits_then_size_limits() {
        let mut b = BatchBuilder::new(Compression::NONE, 0);
        let v = [0u8; 100];
        assert!(b.has_room_for(10, 0, None, Some(&v), &[]));
        b.append(0, None, Some(&v), &[]).unwrap();
        let next = b.next_record_size(0, None, Some(&v), &[]);
        let limit = b.size_in_bytes() + next;
        assert!(b.has_room_for(limit, 0, None, Some(&v), &[]));
        assert!(!b.has_room_for(limit - 1, 0, None, Some(&v), &[]));
        assert_eq!(b.estimated_size_in_bytes(), b.size_in_bytes());
    }

    /// `try_append` decides as `has_room_for` and writes what `append` writes, for plain and
    /// compressed batches, records of varied sizes, timestamps and headers.
    #[test]
    fn try_append_is_has_room_for_then_append() {
        let headers = [
            Header::new("h", Some(&b"v"[..])),
            Header::new("n", None::<Bytes>),
        ];
        for codec in [
            Compression::NONE,
            Compression::new(CompressionType::Lz4, None).unwrap(),
        ] {
            for limit in [0, 150, 1000, 4096] {
                let mut twice = BatchBuilder::new(codec, 0);
                let mut once = BatchBuilder::new(codec, 0);
                twice.set_compression_ratio_estimate(0.5);
                once.set_compression_ratio_estimate(0.5);
                let mut appended = 0;
                for i in 0..200usize {
                    let value = vec![b'x'; (i * 37) % 120];
                    let key = (i % 3 != 0).then_some(&b"key"[..]);
                    let hs = &headers[..i % 3];
                    let ts = 1_000 + (i as i64 % 7) - 3;
                    let room = twice.has_room_for(limit, ts, key, Some(&value), hs);
                    let expected = room.then(|| twice.append(ts, key, Some(&value), hs).unwrap());
                    let got = once.try_append(limit, ts, key, Some(&value), hs).unwrap();
                    assert_eq!(got, expected, "record {i}, limit {limit}");
                    assert_eq!(once.records_section(), twice.records_section());
                    appended += usize::from(got.is_some());
                }
                assert!(appended >= 1, "the first record always fits");
                if limit == 4096 {
                    assert!(appended > 1 && appended < 200, "{appended}");
                }
            }
        }
        let mut b = BatchBuilder::new(Compression::NONE, 0);
        assert_eq!(
            b.try_append(100, -2, None, None, &[]),
            Err(RecordError::InvalidTimestamp(-2))
        );
        assert!(b.is_empty());
    }

    #[test]
    fn invalid_timestamps_are_rejected() {
        let mut b = BatchBuilder::new(Compression::NONE, 0);
        assert_eq!(
            b.append(-2, None, None, &[]),
            Err(RecordError::InvalidTimestamp(-2))
        );
        assert_eq!(b.append(-1, None, None, &[]), Ok(0));
        assert_eq!(b.append(5, None, None, &[]), Ok(1));
    }

    #[test]
    fn restamp_changes_crc_and_keeps_records() {
        let mut b = BatchBuilder::new(Compression::of(CompressionType::Lz4), 0);
        b.append(10, Some(b"k"), Some(b"v"), &[]).unwrap();
        let mut closed = b.close(ProducerStamp::NONE).unwrap();
        let before = closed.bytes().clone();
        closed.restamp(ProducerStamp {
            producer_id: 42,
            producer_epoch: 3,
            base_sequence: 7,
            transactional: true,
        });
        let after = closed.bytes();
        assert_ne!(before[17..21], after[17..21]);
        assert_eq!(before[61..], after[61..]);
        assert_eq!(after[43..51], 42i64.to_be_bytes());
        assert_eq!(after[21..23], [0x00, 0x13]);
        assert_eq!(crc32c::crc32c(&after[21..]).to_be_bytes(), after[17..21]);
    }
}
