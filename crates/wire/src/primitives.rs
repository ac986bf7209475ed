//! Protocol primitives: varints, fixed-width integers and length prefixes.
//!
//! Encoders append to a [`BufMut`] and cannot fail; `*_len` functions compute
//! sizes without encoding. Decoders are nom parsers over `&[u8]` returning
//! [`DecodeError`], and every length they read is checked against the bytes left
//! before anything is allocated.
//!
//! Two varint flavours exist (see the Kafka protocol guide): the framing uses
//! *unsigned* LEB128 varints (compact lengths, tags); record fields use
//! *zigzag* signed varints. Both are here so that `ferrokafka-records` and this
//! crate agree, although `records` keeps its own copy to stay a leaf.

use bytes::BufMut;
use nom::IResult;

use crate::error::{DecodeError, DecodeErrorKind};

/// Result of a primitive parser.
pub type PResult<'a, T> = IResult<&'a [u8], T, DecodeError>;

fn fail<T>(kind: DecodeErrorKind) -> Result<T, nom::Err<DecodeError>> {
    Err(nom::Err::Error(DecodeError::new(kind)))
}

/// Takes exactly `n` bytes.
pub fn take(input: &[u8], n: usize) -> PResult<'_, &[u8]> {
    if input.len() < n {
        return fail(DecodeErrorKind::Truncated);
    }
    let (head, rest) = input.split_at(n);
    Ok((rest, head))
}

macro_rules! fixed {
    ($get:ident, $t:ty) => {
        /// Reads a big-endian fixed-width integer.
        pub fn $get(input: &[u8]) -> PResult<'_, $t> {
            const N: usize = std::mem::size_of::<$t>();
            let (rest, bytes) = take(input, N)?;
            let mut arr = [0u8; N];
            arr.copy_from_slice(bytes);
            Ok((rest, <$t>::from_be_bytes(arr)))
        }
    };
}

fixed!(get_i8, i8);
fixed!(get_i16, i16);
fixed!(get_i32, i32);
fixed!(get_i64, i64);
fixed!(get_u16, u16);
fixed!(get_u32, u32);

/// Reads a big-endian IEEE 754 double.
pub fn get_f64(input: &[u8]) -> PResult<'_, f64> {
    let (rest, bits) = get_i64(input)?;
    Ok((rest, f64::from_bits(bits as u64)))
}

/// Reads a boolean byte (0 or 1; anything else is an error, as in the Java client).
pub fn get_bool(input: &[u8]) -> PResult<'_, bool> {
    let (rest, b) = get_i8(input)?;
    match b {
        0 => Ok((rest, false)),
        1 => Ok((rest, true)),
        other => fail(DecodeErrorKind::InvalidBool(other as u8)),
    }
}

/// Reads an unsigned LEB128 varint of at most 5 bytes (32 bits).
pub fn get_uvarint(input: &[u8]) -> PResult<'_, u32> {
    let mut value: u32 = 0;
    for (i, &b) in input.iter().enumerate().take(5) {
        let part = u32::from(b & 0x7f);
        if i == 4 && part > 0x0f {
            return fail(DecodeErrorKind::VarintOverflow);
        }
        value |= part << (7 * i);
        if b & 0x80 == 0 {
            return Ok((&input[i + 1..], value));
        }
    }
    if input.len() < 5 {
        fail(DecodeErrorKind::Truncated)
    } else {
        fail(DecodeErrorKind::VarintOverflow)
    }
}

/// Reads an unsigned LEB128 varint of at most 10 bytes (64 bits).
pub fn get_uvarlong(input: &[u8]) -> PResult<'_, u64> {
    let mut value: u64 = 0;
    for (i, &b) in input.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && part > 0x01 {
            return fail(DecodeErrorKind::VarintOverflow);
        }
        value |= part << (7 * i);
        if b & 0x80 == 0 {
            return Ok((&input[i + 1..], value));
        }
    }
    if input.len() < 10 {
        fail(DecodeErrorKind::Truncated)
    } else {
        fail(DecodeErrorKind::VarintOverflow)
    }
}

/// Reads a zigzag-encoded signed 32-bit varint.
pub fn get_varint(input: &[u8]) -> PResult<'_, i32> {
    let (rest, raw) = get_uvarint(input)?;
    Ok((rest, ((raw >> 1) as i32) ^ -((raw & 1) as i32)))
}

/// Reads a zigzag-encoded signed 64-bit varint.
pub fn get_varlong(input: &[u8]) -> PResult<'_, i64> {
    let (rest, raw) = get_uvarlong(input)?;
    Ok((rest, ((raw >> 1) as i64) ^ -((raw & 1) as i64)))
}

/// Reads a UUID (16 raw bytes).
pub fn get_uuid(input: &[u8]) -> PResult<'_, [u8; 16]> {
    let (rest, bytes) = take(input, 16)?;
    let mut out = [0u8; 16];
    out.copy_from_slice(bytes);
    Ok((rest, out))
}

/// Appends an unsigned LEB128 varint.
pub fn put_uvarint(buf: &mut impl BufMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Appends an unsigned LEB128 varint of 64 bits.
pub fn put_uvarlong(buf: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Appends a zigzag signed 32-bit varint.
pub fn put_varint(buf: &mut impl BufMut, v: i32) {
    put_uvarint(buf, ((v << 1) ^ (v >> 31)) as u32);
}

/// Appends a zigzag signed 64-bit varint.
pub fn put_varlong(buf: &mut impl BufMut, v: i64) {
    put_uvarlong(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Size of an unsigned varint.
pub const fn uvarint_len(v: u32) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// Size of an unsigned 64-bit varint.
pub const fn uvarlong_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Size of a zigzag signed 32-bit varint.
pub const fn varint_len(v: i32) -> usize {
    uvarint_len(((v << 1) ^ (v >> 31)) as u32)
}

/// Size of a zigzag signed 64-bit varint.
pub const fn varlong_len(v: i64) -> usize {
    uvarlong_len(((v << 1) ^ (v >> 63)) as u64)
}

/// Reads a length or count prefix in classic (int16/int32, -1 = null) or compact
/// (uvarint N+1, 0 = null) form. Returns `None` for null. The length is checked
/// against the bytes left, assuming each unit takes at least `min_unit` bytes.
pub fn get_length(
    input: &[u8],
    flexible: bool,
    wide: bool,
    min_unit: usize,
) -> PResult<'_, Option<usize>> {
    let (rest, len): (&[u8], i64) = if flexible {
        let (rest, raw) = get_uvarint(input)?;
        (rest, i64::from(raw) - 1)
    } else if wide {
        let (rest, raw) = get_i32(input)?;
        (rest, i64::from(raw))
    } else {
        let (rest, raw) = get_i16(input)?;
        (rest, i64::from(raw))
    };
    if len == -1 {
        return Ok((rest, None));
    }
    if len < 0 {
        return fail(DecodeErrorKind::InvalidLength(len));
    }
    let needed = (len as u64).saturating_mul(min_unit as u64);
    if needed > rest.len() as u64 {
        // Either truncated or a hostile length: refuse before allocating.
        return fail(DecodeErrorKind::InvalidLength(len));
    }
    Ok((rest, Some(len as usize)))
}

/// Appends a length prefix (classic int16/int32 or compact uvarint N+1); `None` is null.
pub fn put_length(buf: &mut impl BufMut, len: Option<usize>, flexible: bool, wide: bool) {
    match (flexible, len) {
        (true, None) => put_uvarint(buf, 0),
        (true, Some(n)) => put_uvarint(buf, compact_len(n)),
        (false, None) if wide => buf.put_i32(-1),
        (false, None) => buf.put_i16(-1),
        (false, Some(n)) if wide => buf.put_i32(n as i32),
        (false, Some(n)) => buf.put_i16(n as i16),
    }
}

/// The compact form of a length (N+1), saturating; lengths that large are
/// refused before encoding, this only keeps sizing from overflowing.
const fn compact_len(n: usize) -> u32 {
    if n >= u32::MAX as usize {
        u32::MAX
    } else {
        n as u32 + 1
    }
}

/// Size of a length prefix.
pub const fn length_len(len: Option<usize>, flexible: bool, wide: bool) -> usize {
    if flexible {
        match len {
            None => 1,
            Some(n) => uvarint_len(compact_len(n)),
        }
    } else if wide {
        4
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_u(v: u32) -> Vec<u8> {
        let mut b = Vec::new();
        put_uvarint(&mut b, v);
        b
    }
    fn enc_z(v: i32) -> Vec<u8> {
        let mut b = Vec::new();
        put_varint(&mut b, v);
        b
    }
    fn enc_zl(v: i64) -> Vec<u8> {
        let mut b = Vec::new();
        put_varlong(&mut b, v);
        b
    }

    // Vectors from Kafka's ByteUtilsTest.
    #[test]
    fn unsigned_varint_vectors() {
        let cases: &[(u32, &[u8])] = &[
            (0, &[0x00]),
            (1, &[0x01]),
            (63, &[0x3f]),
            (64, &[0x40]),
            (8191, &[0xff, 0x3f]),
            (8192, &[0x80, 0x40]),
            (1_048_575, &[0xff, 0xff, 0x3f]),
            (1_048_576, &[0x80, 0x80, 0x40]),
            (i32::MAX as u32, &[0xff, 0xff, 0xff, 0xff, 0x07]),
            (u32::MAX, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN as u32, &[0x80, 0x80, 0x80, 0x80, 0x08]),
        ];
        for &(v, bytes) in cases {
            assert_eq!(enc_u(v), bytes, "encode {v}");
            assert_eq!(uvarint_len(v), bytes.len());
            assert_eq!(get_uvarint(bytes).unwrap(), (&[][..], v), "decode {v}");
        }
    }

    #[test]
    fn zigzag_varint_vectors() {
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
            (8191, &[0xfe, 0x7f]),
            (-8192, &[0xff, 0x7f]),
            (8192, &[0x80, 0x80, 0x01]),
            (-8193, &[0x81, 0x80, 0x01]),
            (134_217_728, &[0x80, 0x80, 0x80, 0x80, 0x01]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for &(v, bytes) in cases {
            assert_eq!(enc_z(v), bytes, "encode {v}");
            assert_eq!(varint_len(v), bytes.len());
            assert_eq!(get_varint(bytes).unwrap().1, v, "decode {v}");
        }
        let long: &[(i64, &[u8])] = &[
            (17_179_869_183, &[0xfe, 0xff, 0xff, 0xff, 0x7f]),
            (-17_179_869_184, &[0xff, 0xff, 0xff, 0xff, 0x7f]),
            (17_179_869_184, &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            (-17_179_869_185, &[0x81, 0x80, 0x80, 0x80, 0x80, 0x01]),
            (
                i64::MIN,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for &(v, bytes) in long {
            assert_eq!(enc_zl(v), bytes, "encode {v}");
            assert_eq!(varlong_len(v), bytes.len());
            assert_eq!(get_varlong(bytes).unwrap().1, v, "decode {v}");
        }
    }

    #[test]
    fn varint_overflow_and_truncation_are_errors() {
        assert!(get_uvarint(&[0xff, 0xff, 0xff, 0xff, 0x1f]).is_err());
        assert!(get_uvarint(&[0xff, 0xff]).is_err());
        assert!(get_uvarlong(&[0xff; 11]).is_err());
        assert!(get_uvarint(&[]).is_err());
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocation() {
        // int32 count of 2^31-1 with 3 bytes left.
        let input = [0x7f, 0xff, 0xff, 0xff, 1, 2, 3];
        assert!(get_length(&input, false, true, 1).is_err());
        // -2 is not the null marker.
        let input = [0xff, 0xfe];
        assert!(get_length(&input, false, false, 1).is_err());
        // compact null.
        assert_eq!(get_length(&[0], true, true, 1).unwrap().1, None);
    }
}
