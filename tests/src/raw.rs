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
        let v = self.uvarint();
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

/// The header of a v2 record batch, as the broker stored it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Codec (bits 0-2), timestamp type (bit 3), transactional (bit 4), control (bit 5).
    pub attributes: i16,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp of the batch.
    pub max_timestamp: i64,
    /// Producer id (-1 without idempotence).
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Sequence number of the first record (-1 without idempotence).
    pub base_sequence: i32,
    /// Number of records.
    pub count: i32,
}

/// Splits a Fetch records section into v2 batches (a trailing partial batch is ignored): each
/// batch's header and its records section (still compressed if the batch is). Checks the magic
/// byte and the CRC-32C; a failure names `context` (the partition, say) and the base offset.
///
/// # Panics
/// If a batch is not v2 or its CRC does not match.
#[must_use]
pub fn split_batches<'a>(mut buf: &'a [u8], context: &str) -> Vec<(BatchHeader, &'a [u8])> {
    let mut out = Vec::new();
    while buf.len() >= 12 {
        let batch_len = usize::try_from(i32::from_be_bytes(buf[8..12].try_into().unwrap()))
            .expect("batch length");
        if buf.len() < 12 + batch_len {
            break;
        }
        let (batch, rest) = buf.split_at(12 + batch_len);
        buf = rest;
        let mut c = Cursor::new(batch);
        let base_offset = c.i64();
        c.i32(); // batch length
        c.i32(); // partition leader epoch
        assert_eq!(
            c.take(1)[0],
            2,
            "magic of the batch at {context}{base_offset}"
        );
        let crc = u32::from_be_bytes(c.take(4).try_into().unwrap());
        assert_eq!(
            crc32c(&batch[c.at..]),
            crc,
            "batch CRC-32C at {context}{base_offset}"
        );
        let header = BatchHeader {
            base_offset,
            attributes: c.i16(),
            last_offset_delta: c.i32(),
            base_timestamp: c.i64(),
            max_timestamp: c.i64(),
            producer_id: c.i64(),
            producer_epoch: c.i16(),
            base_sequence: c.i32(),
            count: c.i32(),
        };
        out.push((header, &batch[c.at..]));
    }
    out
}

/// What a Fetch v4 answered for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchAnswer {
    /// The partition's error code (0: none; 6: NOT_LEADER_OR_FOLLOWER).
    pub error: i16,
    /// The high watermark.
    pub high_watermark: i64,
    /// The last stable offset.
    pub last_stable_offset: i64,
    /// `(producer id, first offset)` of each aborted transaction; `None` for a null array.
    pub aborted: Option<Vec<(i64, i64)>>,
    /// The records section (v2 batches; see [`split_batches`]).
    pub records: Vec<u8>,
}

/// Sends a hand-encoded Fetch v4 for one partition of `topic` from `offset` to the broker at
/// `addr` (`read_committed` sets the isolation level; up to 8 MiB) and decodes the answer,
/// waiting at most `timeout` for it: no ferrokafka or librdkafka code involved.
///
/// # Panics
/// If the broker cannot be reached, does not answer in time, or answers for another topic or
/// partition.
#[must_use]
pub fn fetch_v4(
    addr: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    read_committed: bool,
    timeout: std::time::Duration,
) -> FetchAnswer {
    use std::io::{Read, Write};
    const CORRELATION: i32 = 9;
    const MAX_BYTES: i32 = 8 << 20;
    let mut body = Vec::new();
    body.extend_from_slice(&1i16.to_be_bytes()); // api key Fetch
    body.extend_from_slice(&4i16.to_be_bytes()); // version 4
    body.extend_from_slice(&CORRELATION.to_be_bytes());
    body.extend_from_slice(&1i16.to_be_bytes());
    body.push(b'r'); // client id "r"
    body.extend_from_slice(&(-1i32).to_be_bytes()); // replica id
    body.extend_from_slice(&100i32.to_be_bytes()); // max wait ms
    body.extend_from_slice(&0i32.to_be_bytes()); // min bytes
    body.extend_from_slice(&MAX_BYTES.to_be_bytes());
    body.push(u8::from(read_committed)); // isolation level
    body.extend_from_slice(&1i32.to_be_bytes()); // one topic
    body.extend_from_slice(&i16::try_from(topic.len()).unwrap().to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(&1i32.to_be_bytes()); // one partition
    body.extend_from_slice(&partition.to_be_bytes());
    body.extend_from_slice(&offset.to_be_bytes());
    body.extend_from_slice(&MAX_BYTES.to_be_bytes()); // partition max bytes
    let mut stream = std::net::TcpStream::connect(addr).expect("connect for fetch");
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream
        .write_all(&u32::try_from(body.len()).unwrap().to_be_bytes())
        .unwrap();
    stream.write_all(&body).unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut resp = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut resp).unwrap();
    let mut c = Cursor::new(&resp);
    assert_eq!(c.i32(), CORRELATION, "correlation id");
    c.i32(); // throttle
    assert_eq!(c.i32(), 1, "one topic");
    let name_len = usize::try_from(c.i16()).expect("topic name length");
    assert_eq!(c.take(name_len), topic.as_bytes());
    assert_eq!(c.i32(), 1, "one partition");
    assert_eq!(c.i32(), partition);
    let error = c.i16();
    let high_watermark = c.i64();
    let last_stable_offset = c.i64();
    let n = c.i32();
    let aborted = (n >= 0).then(|| (0..n).map(|_| (c.i64(), c.i64())).collect());
    let len = c.i32();
    let records = if len < 0 {
        Vec::new()
    } else {
        c.take(usize::try_from(len).expect("records length"))
            .to_vec()
    };
    FetchAnswer {
        error,
        high_watermark,
        last_stable_offset,
        aborted,
        records,
    }
}
