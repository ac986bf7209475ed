//! Zigzag varints (protobuf `sint32` / `sint64`) as used inside v2 records, and a bounds-checked
//! reader. Framing varints elsewhere in the protocol are unsigned; record fields are all zigzag.

#[cfg(test)]
use bytes::BytesMut;

use crate::error::DecodeError;

#[inline(always)]
pub(crate) const fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

#[inline(always)]
pub(crate) const fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Bytes of the unsigned LEB128 encoding of `v`.
#[inline(always)]
pub(crate) const fn uvarint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Bytes of the zigzag encoding of a 32-bit value.
#[inline(always)]
pub(crate) const fn varint_len(v: i32) -> usize {
    uvarint_len(zigzag32(v) as u64)
}

/// Bytes of the zigzag encoding of a 64-bit value.
#[inline(always)]
pub(crate) const fn varlong_len(v: i64) -> usize {
    uvarint_len(zigzag64(v))
}

/// Appends the unsigned LEB128 encoding of `v`.
#[cfg(test)]
#[inline(always)]
pub(crate) fn put_uvarint(buf: &mut BytesMut, mut v: u64) {
    if v < 0x80 {
        buf.extend_from_slice(&[v as u8]);
        return;
    }
    let mut tmp = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        tmp[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    tmp[n] = v as u8;
    buf.extend_from_slice(&tmp[..=n]);
}

#[cfg(test)]
#[inline(always)]
pub(crate) fn put_varint(buf: &mut BytesMut, v: i32) {
    put_uvarint(buf, zigzag32(v) as u64);
}

#[cfg(test)]
#[inline(always)]
pub(crate) fn put_varlong(buf: &mut BytesMut, v: i64) {
    put_uvarint(buf, zigzag64(v));
}

/// A cursor over untrusted bytes. Every read checks the bytes left first.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[inline(always)]
    pub(crate) const fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline(always)]
    pub(crate) const fn position(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                needed: n,
                available: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(DecodeError::Truncated {
                needed: 1,
                available: 0,
            }),
        }
    }

    /// Reads an unsigned LEB128 value of at most `max_bytes` bytes.
    #[inline(always)]
    fn uvarint(&mut self, max_bytes: usize) -> Result<u64, DecodeError> {
        // Fast path: one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(b as u64);
        }
        let mut v = 0u64;
        for i in 0..max_bytes {
            let b = self.u8()?;
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError::InvalidVarint)
    }

    /// A zigzag `sint32`: at most 5 bytes, like the Java client's `ByteUtils.readVarint`.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Result<i32, DecodeError> {
        let raw = self.uvarint(5)?;
        if raw > u32::MAX as u64 {
            return Err(DecodeError::InvalidVarint);
        }
        let raw = raw as u32;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// A zigzag `sint64`: at most 10 bytes.
    #[inline(always)]
    pub(crate) fn varlong(&mut self) -> Result<i64, DecodeError> {
        let raw = self.uvarint(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc32(v: i32) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_varint(&mut b, v);
        assert_eq!(b.len(), varint_len(v));
        b.to_vec()
    }

    fn enc64(v: i64) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_varlong(&mut b, v);
        assert_eq!(b.len(), varlong_len(v));
        b.to_vec()
    }

    /// Vectors from Kafka's `ByteUtilsTest` (zigzag varint / varlong).
    #[test]
    fn kafka_zigzag_vectors() {
        let cases32: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7E]),
            (-64, &[0x7F]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
            (8191, &[0xFE, 0x7F]),
            (-8192, &[0xFF, 0x7F]),
            (8192, &[0x80, 0x80, 0x01]),
            (-8193, &[0x81, 0x80, 0x01]),
            (134_217_728, &[0x80, 0x80, 0x80, 0x80, 0x01]),
            (i32::MAX, &[0xFE, 0xFF, 0xFF, 0xFF, 0x0F]),
            (i32::MIN, &[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ];
        for &(v, bytes) in cases32 {
            assert_eq!(enc32(v), bytes, "encode {v}");
            assert_eq!(Reader::new(bytes).varint(), Ok(v), "decode {v}");
            assert_eq!(enc64(v as i64), bytes, "varlong encode {v}");
        }
        let cases64: &[(i64, &[u8])] = &[
            (17_179_869_183, &[0xFE, 0xFF, 0xFF, 0xFF, 0x7F]),
            (-17_179_869_184, &[0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            (17_179_869_184, &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            (-17_179_869_185, &[0x81, 0x80, 0x80, 0x80, 0x80, 0x01]),
        ];
        for &(v, bytes) in cases64 {
            assert_eq!(enc64(v), bytes, "encode {v}");
            assert_eq!(Reader::new(bytes).varlong(), Ok(v), "decode {v}");
        }
        for v in [i64::MIN, i64::MAX, 0, -1] {
            assert_eq!(Reader::new(&enc64(v)).varlong(), Ok(v));
        }
    }

    #[test]
    fn overlong_and_truncated_varints_are_errors() {
        assert_eq!(
            Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).varint(),
            Err(DecodeError::InvalidVarint)
        );
        // Five bytes but more than 32 bits of payload.
        assert_eq!(
            Reader::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0x7F]).varint(),
            Err(DecodeError::InvalidVarint)
        );
        assert!(matches!(
            Reader::new(&[0x80, 0x80]).varint(),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            Reader::new(&[0xFF; 11]).varlong(),
            Err(DecodeError::InvalidVarint)
        );
    }
}
