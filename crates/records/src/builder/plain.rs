//! Appending a record without headers, which is nearly every record a producer sends.
//!
//! The general path measures a record (the length of each varint), then encodes it. Here each
//! varint is encoded once, into a small array, and its length is where the encoding ended; only
//! the record's length prefix, which comes first and depends on the rest, is measured. The
//! framing before the key (or, for a keyless record, before the value) then goes into the
//! buffer as one fixed-size block that the next write covers, rather than through a copy of a
//! length known only at run time.

use bytes::BytesMut;

use super::encode::{check_len, put_field_len, put_uvarint_at};
use super::{BatchBuilder, TryAppend};
use crate::error::RecordError;
use crate::varint::{uvarint_len, zigzag32, zigzag64};

/// Bytes before the framing in [`Framing::bytes`], where the length prefix (at most 5) is
/// written right-aligned once the body's size is known.
const PREFIX: usize = 5;

/// Bytes copied as one block: the framing is at most 31 (length 5, attributes 1, timestamp
/// delta 10, offset delta 5, key length 5, keyless value length 5).
const BLOCK: usize = 32;

/// A headerless record's framing, encoded: `bytes[start..end]` precedes the key (keyless: the
/// value); `after_key[..after_key_len]` (the value's length) follows a key.
struct Framing {
    bytes: [u8; PREFIX + BLOCK],
    start: usize,
    end: usize,
    after_key: [u8; 8],
    after_key_len: usize,
    /// Bytes of the whole record, length prefix included.
    total: usize,
}

impl Framing {
    #[inline(always)]
    fn encode(
        offset_delta: i32,
        timestamp_delta: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Self, RecordError> {
        let key_len = key.map_or(0, <[u8]>::len);
        let value_len = value.map_or(0, <[u8]>::len);
        check_len(key_len)?;
        check_len(value_len)?;
        let mut bytes = [0u8; PREFIX + BLOCK];
        // Attributes (always 0) at PREFIX, as the array holds it.
        let mut end = PREFIX + 1;
        end = put_uvarint_at(&mut bytes, end, zigzag64(timestamp_delta));
        end = put_uvarint_at(&mut bytes, end, u64::from(zigzag32(offset_delta)));
        end = put_field_len(&mut bytes, end, key);
        let mut after_key = [0u8; 8];
        let after_key_len = if key.is_some() {
            put_field_len(&mut after_key, 0, value)
        } else {
            end = put_field_len(&mut bytes, end, value);
            0
        };
        // Everything after the length prefix; the last byte is the header count, 0.
        let body = (end - PREFIX) + key_len + after_key_len + value_len + 1;
        check_len(body)?;
        let prefix = u64::from(zigzag32(body as i32));
        let start = PREFIX - uvarint_len(prefix);
        put_uvarint_at(&mut bytes, start, prefix);
        Ok(Framing {
            bytes,
            start,
            end,
            after_key,
            after_key_len,
            total: PREFIX - start + body,
        })
    }
}

/// Appends `block[..len]` to `buf`: the whole block, cut back to `len`, when the buffer has room
/// for it (a copy of a size known when compiling, no call), else just those bytes.
#[inline(always)]
fn put_head<const N: usize>(buf: &mut BytesMut, block: &[u8; N], len: usize) {
    let at = buf.len();
    if buf.capacity() - at >= N {
        buf.extend_from_slice(block);
        buf.truncate(at + len);
    } else {
        buf.extend_from_slice(&block[..len]);
    }
}

impl BatchBuilder {
    /// [`try_append_within`](Self::try_append_within) for a record without headers, whose
    /// `base` timestamp and `offset_delta` [`next_record`](Self::next_record) gave.
    #[allow(clippy::too_many_arguments)] // try_append_within's, as it has them
    #[inline(always)]
    pub(super) fn try_append_plain(
        &mut self,
        batch_size: usize,
        max_bytes: usize,
        (base, offset_delta): (i64, i32),
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<TryAppend, RecordError> {
        let framing = Framing::encode(offset_delta, timestamp.wrapping_sub(base), key, value)?;
        let total = framing.total;
        if self.count > 0 && self.estimated_size_in_bytes() + total > batch_size {
            return Ok(TryAppend::Full);
        }
        let needed = self.buf.len() + total;
        if needed > max_bytes {
            return Ok(TryAppend::NeedsBytes(needed));
        }
        let buf = &mut self.buf;
        buf.reserve(total);
        let mut block = [0u8; BLOCK];
        block.copy_from_slice(&framing.bytes[framing.start..framing.start + BLOCK]);
        put_head(buf, &block, framing.end - framing.start);
        if let Some(k) = key {
            buf.extend_from_slice(k);
            put_head(buf, &framing.after_key, framing.after_key_len);
        }
        if let Some(v) = value {
            buf.extend_from_slice(v);
        }
        buf.extend_from_slice(&[0]);
        debug_assert_eq!(buf.len(), needed);
        self.appended(base, timestamp);
        Ok(TryAppend::Appended(offset_delta))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::compression::{Compression, CompressionType};
    use crate::header::RECORD_BATCH_OVERHEAD;
    use crate::{BatchBuilder, TryAppend};

    type Rec = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

    /// The records section `try_append_within` writes for `records` (the headerless path)
    /// into a builder of `capacity`, and what the general path (`append`) writes.
    fn both_ways(records: &[Rec], capacity: usize) -> (Vec<u8>, Vec<u8>) {
        let mut plain = BatchBuilder::new(Compression::of(CompressionType::None), capacity);
        let mut general = BatchBuilder::new(Compression::of(CompressionType::None), capacity);
        for (i, (ts, key, value)) in records.iter().enumerate() {
            let (k, v) = (key.as_deref(), value.as_deref());
            let got = plain.try_append_within(usize::MAX, usize::MAX, *ts, k, v, &[]);
            assert_eq!(got.unwrap(), TryAppend::Appended(i as i32));
            assert_eq!(general.append(*ts, k, v, &[]).unwrap(), i as i32);
            assert_eq!(plain.size_in_bytes(), general.size_in_bytes());
        }
        (
            plain.records_section().to_vec(),
            general.records_section().to_vec(),
        )
    }

    /// Lengths on each side of where a varint takes another byte (a length's zigzag encoding
    /// passes 127, 16,383, 2,097,151 at 64, 8,192 and 1,048,576 bytes), for keys, values and
    /// whole records.
    #[test]
    fn every_varint_width_is_written_as_the_general_path_writes_it() {
        let lens = [
            0, 1, 40, 55, 56, 57, 62, 63, 64, 65, 100, 8_150, 8_191, 8_192, 8_193,
        ];
        let mut records = Vec::new();
        for &k in &[None, Some(0), Some(10), Some(63), Some(64)] {
            for &v in &lens {
                let key = k.map(|n| vec![b'k'; n]);
                records.push((1_700_000_000_000, key.clone(), Some(vec![b'v'; v])));
                records.push((1_700_000_000_000 + v as i64 * 1_000_003, key, None));
            }
        }
        records.push((-1, None, Some(vec![7; 1_048_500])));
        records.push((0, Some(vec![1; 3]), Some(vec![7; 1_048_600])));
        for capacity in [RECORD_BATCH_OVERHEAD, 4096, 8 << 20] {
            let (plain, general) = both_ways(&records, capacity);
            assert!(plain == general, "capacity {capacity}");
        }
    }

    /// A batch the size limits refuse is left as it was, by either answer.
    #[test]
    fn a_refused_record_writes_nothing() {
        let mut b = BatchBuilder::new(Compression::of(CompressionType::None), 0);
        b.try_append_within(200, usize::MAX, 5, None, Some(&[1; 100]), &[])
            .unwrap();
        let before = b.records_section().to_vec();
        let full = b.try_append_within(200, usize::MAX, 5, None, Some(&[1; 100]), &[]);
        assert_eq!(full.unwrap(), TryAppend::Full);
        let len = b.size_in_bytes();
        let needs = b.try_append_within(1 << 20, len + 10, 5, Some(b"k"), Some(&[1; 20]), &[]);
        assert_eq!(needs.unwrap(), TryAppend::NeedsBytes(len + 1 + 27));
        assert_eq!(b.records_section(), before.as_slice());
        assert_eq!(b.record_count(), 1);
    }

    fn record() -> impl Strategy<Value = Rec> {
        (
            prop_oneof![Just(-1i64), 0i64..4_000_000_000_000, Just(i64::MAX)],
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..80)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        )
    }

    proptest! {
        #[test]
        fn headerless_records_are_written_as_the_general_path_writes_them(
            records in proptest::collection::vec(record(), 1..24),
            capacity in prop_oneof![Just(RECORD_BATCH_OVERHEAD), 61usize..2_000, Just(1 << 16)],
        ) {
            let (plain, general) = both_ways(&records, capacity);
            prop_assert_eq!(plain, general);
        }
    }
}
