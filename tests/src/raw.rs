//! Byte-level reading for the tests' hand-written protocol and record-batch decoders (an
//! independent check of what the broker stored, written without ferrokafka's codecs).
//! Malformed input panics: these are test helpers.

#![allow(clippy::missing_panics_doc)]

/// CRC-32C (Castagnoli), bit by bit.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub struct Cursor<'a> {
    buf: &'a [u8],
    /// Position of the next byte.
    pub at: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, at: 0 }
    }

    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let s = &self.buf[self.at..self.at + n];
        self.at += n;
        s
    }

    pub fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take(2).try_into().unwrap())
    }

    pub fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().unwrap())
    }

    pub fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.take(8).try_into().unwrap())
    }

    /// A zig-zag varint (varlong).
    pub fn varint(&mut self) -> i64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.take(1)[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        ((v >> 1) as i64) ^ -((v & 1) as i64)
    }

    /// An unsigned varint (compact lengths, tag counts).
    pub fn uvarint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.take(1)[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }

    /// A non-null string, compact when `flexible`.
    pub fn string(&mut self, flexible: bool) -> String {
        let len = if flexible {
            self.uvarint() as usize - 1
        } else {
            self.i16() as usize
        };
        String::from_utf8(self.take(len).to_vec()).expect("utf-8")
    }

    /// An array length, compact when `flexible`.
    pub fn array_len(&mut self, flexible: bool) -> usize {
        if flexible {
            self.uvarint() as usize - 1
        } else {
            self.i32() as usize
        }
    }

    pub fn skip_tags(&mut self) {
        for _ in 0..self.uvarint() {
            self.uvarint();
            let size = self.uvarint() as usize;
            self.take(size);
        }
    }

    /// Varint length (-1 = null) and bytes.
    pub fn nullable(&mut self) -> Option<Vec<u8>> {
        let n = self.varint();
        (n >= 0).then(|| self.take(n as usize).to_vec())
    }
}
