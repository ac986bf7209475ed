//! Encoding one record in v2 wire form: its exact size, an upper bound for a batch of it alone,
//! and writing it (measured first, so "is the batch full?" never re-encodes).

use bytes::{Bytes, BytesMut};

use crate::error::RecordError;
use crate::header::RECORD_BATCH_OVERHEAD;
use crate::record::Header;
use crate::varint::{varint_len, varlong_len, zigzag32, zigzag64};

/// Largest encoding of a record's framing: length (5) + attributes (1) + timestamp delta (10) +
/// offset delta (5) + key length (5) + value length (5) + header count (5)
/// (Java `DefaultRecord.MAX_RECORD_OVERHEAD` is 21 because it bounds the deltas differently).
const MAX_RECORD_FRAMING: usize = 5 + 1 + 10 + 5 + 5 + 5 + 5;

#[inline(always)]
fn bytes_field_len(b: Option<&[u8]>) -> usize {
    match b {
        None => 1,
        Some(b) => varint_len(b.len() as i32) + b.len(),
    }
}

/// Size of a record body (everything after its length varint).
#[inline(always)]
fn body_size<'h>(
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: impl Iterator<Item = (&'h [u8], Option<&'h [u8]>)>,
) -> (usize, i32) {
    let mut size = 1
        + varlong_len(timestamp_delta)
        + varint_len(offset_delta)
        + bytes_field_len(key)
        + bytes_field_len(value);
    let mut count = 0i32;
    for (k, v) in headers {
        size += varint_len(k.len() as i32) + k.len() + bytes_field_len(v);
        count = count.saturating_add(1);
    }
    size += varint_len(count);
    (size, count)
}

/// Exact encoded size of one record, including its length prefix.
pub fn record_size(
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> usize {
    let (body, _) = body_size(
        offset_delta,
        timestamp_delta,
        key,
        value,
        headers.iter().map(header_parts),
    );
    varint_len(body as i32) + body
}

/// An upper bound on the size of a batch holding only this record (Java
/// `AbstractRecords.estimateSizeInBytesUpperBound`), for the `max.request.size` check before a
/// record is accepted. Compression is assumed not to help.
pub fn record_size_upper_bound(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> usize {
    let mut size = RECORD_BATCH_OVERHEAD
        + MAX_RECORD_FRAMING
        + key.map_or(0, <[u8]>::len)
        + value.map_or(0, <[u8]>::len);
    for h in headers {
        size += 10 + h.key.len() + h.value.as_ref().map_or(0, Bytes::len);
    }
    size
}

#[inline(always)]
pub(super) fn header_parts(h: &Header) -> (&[u8], Option<&[u8]>) {
    (h.key.as_bytes(), h.value.as_deref())
}

/// Writes `v` as an unsigned LEB128 varint at `dst[pos..]`, returning the new position.
#[inline(always)]
pub(super) fn put_uvarint_at(dst: &mut [u8], mut pos: usize, mut v: u64) -> usize {
    // One and two bytes (lengths and deltas of ordinary records) without the loop.
    if v < 0x80 {
        dst[pos] = v as u8;
        return pos + 1;
    }
    if v < 0x4000 {
        dst[pos..pos + 2].copy_from_slice(&[(v as u8) | 0x80, (v >> 7) as u8]);
        return pos + 2;
    }
    while v >= 0x80 {
        dst[pos] = (v as u8) | 0x80;
        v >>= 7;
        pos += 1;
    }
    dst[pos] = v as u8;
    pos + 1
}

/// Writes a bytes field's length varint (-1 for null) at `pos`; returns the next position.
#[inline(always)]
pub(super) fn put_field_len(dst: &mut [u8], pos: usize, b: Option<&[u8]>) -> usize {
    put_uvarint_at(dst, pos, zigzag32(b.map_or(-1, |b| b.len() as i32)) as u64)
}

pub(super) fn check_len(n: usize) -> Result<(), RecordError> {
    if n > i32::MAX as usize {
        Err(RecordError::RecordTooLarge(n))
    } else {
        Ok(())
    }
}

/// Appends one record in v2 wire form to `buf` and returns the bytes written.
///
/// This is the primitive [`BatchBuilder`](super::BatchBuilder) uses; it is public so that
/// tests and tools can lay out records with arbitrary deltas.
pub fn write_record(
    buf: &mut BytesMut,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> Result<usize, RecordError> {
    write_record_iter(
        buf,
        offset_delta,
        timestamp_delta,
        key,
        value,
        headers.iter().map(header_parts),
    )
}

/// Checks a record's fields and measures it: its body size (everything after the length
/// varint) and header count.
#[inline(always)]
pub(super) fn measure_record<'h, I>(
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: I,
) -> Result<(usize, i32), RecordError>
where
    I: Iterator<Item = (&'h [u8], Option<&'h [u8]>)> + Clone,
{
    check_len(key.map_or(0, <[u8]>::len))?;
    check_len(value.map_or(0, <[u8]>::len))?;
    for (k, v) in headers.clone() {
        check_len(k.len())?;
        check_len(v.map_or(0, <[u8]>::len))?;
    }
    let (body, header_count) = body_size(offset_delta, timestamp_delta, key, value, headers);
    check_len(body)?;
    Ok((body, header_count))
}

/// Writes a record measured by [`measure_record`] (`body`, `header_count`) at the end of
/// `buf`; returns the bytes written.
#[allow(clippy::too_many_arguments)] // the record's parts, as measured
#[inline(always)]
pub(super) fn write_measured<'h, I>(
    buf: &mut BytesMut,
    (body, header_count): (usize, i32),
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: I,
) -> usize
where
    I: Iterator<Item = (&'h [u8], Option<&'h [u8]>)>,
{
    let total = varint_len(body as i32) + body;
    let start = buf.len();
    // One growth per record, then appends that fit: the varints go through a small array
    // and the key and value are copied once (no zero-filling of the space first).
    buf.reserve(total);
    // Length (5), attributes (1), timestamp delta (10), offset delta (5), key length (5),
    // and for a keyless record the value's length (5).
    let mut head = [0u8; 31];
    let mut pos = put_uvarint_at(&mut head, 0, zigzag32(body as i32) as u64);
    head[pos] = 0; // record attributes: unused, always 0
    pos += 1;
    pos = put_uvarint_at(&mut head, pos, zigzag64(timestamp_delta));
    pos = put_uvarint_at(&mut head, pos, zigzag32(offset_delta) as u64);
    pos = put_field_len(&mut head, pos, key);
    if let Some(k) = key {
        buf.extend_from_slice(&head[..pos]);
        buf.extend_from_slice(k);
        pos = put_field_len(&mut head, 0, value);
    } else {
        pos = put_field_len(&mut head, pos, value);
    }
    buf.extend_from_slice(&head[..pos]);
    if let Some(v) = value {
        buf.extend_from_slice(v);
    }
    if header_count == 0 {
        buf.extend_from_slice(&[0]);
    } else {
        let pos = put_uvarint_at(&mut head, 0, zigzag32(header_count) as u64);
        buf.extend_from_slice(&head[..pos]);
        for (k, v) in headers {
            for field in [Some(k), v] {
                let pos = put_field_len(&mut head, 0, field);
                buf.extend_from_slice(&head[..pos]);
                if let Some(f) = field {
                    buf.extend_from_slice(f);
                }
            }
        }
    }
    debug_assert_eq!(buf.len() - start, total);
    total
}

#[inline(always)]
pub(super) fn write_record_iter<'h, I>(
    buf: &mut BytesMut,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: I,
) -> Result<usize, RecordError>
where
    I: Iterator<Item = (&'h [u8], Option<&'h [u8]>)> + Clone,
{
    let measured = measure_record(offset_delta, timestamp_delta, key, value, headers.clone())?;
    Ok(write_measured(
        buf,
        measured,
        offset_delta,
        timestamp_delta,
        key,
        value,
        headers,
    ))
}
