//! Typed errors. Decoders return these instead of panicking; none of them carries a boxed error.

use crate::compression::CompressionType;

/// A record batch (or a record inside one) could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a field or a declared length was complete.
    #[error("truncated input: needed {needed} bytes, {available} available")]
    Truncated {
        /// Bytes the field or length asked for.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The magic byte is not 2 (message formats v0/v1 are not supported).
    #[error("unsupported record batch magic {0} (only magic 2 is supported)")]
    UnsupportedMagic(i8),
    /// The stored CRC-32C does not match the bytes it covers.
    #[error("batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC read from the batch header.
        stored: u32,
        /// CRC computed over bytes `[21, end)`.
        computed: u32,
    },
    /// `batchLength` is smaller than the fixed header or negative.
    #[error("invalid batch length {0}")]
    InvalidBatchLength(i32),
    /// The attributes name a compression codec that does not exist (5, 6 or 7).
    #[error("unknown compression codec id {0}")]
    UnknownCompression(u8),
    /// `recordsCount` is negative or cannot fit in the records section.
    #[error("invalid record count {0}")]
    InvalidRecordCount(i32),
    /// The records section held a different number of records than the header declared.
    #[error("batch declares {declared} records but its records section holds {actual}")]
    RecordCountMismatch {
        /// `recordsCount` from the header.
        declared: i32,
        /// Records actually present.
        actual: usize,
    },
    /// Bytes were left in the records section after the declared number of records.
    #[error("{0} unexpected trailing bytes after the last record")]
    TrailingBytes(usize),
    /// A varint was longer than its type allows.
    #[error("malformed varint")]
    InvalidVarint,
    /// A record's length prefix is negative or exceeds the bytes left.
    #[error("invalid record length {0}")]
    InvalidRecordLength(i32),
    /// A record's fields did not add up to its length prefix.
    #[error("record length {declared} does not match its fields ({actual} bytes)")]
    RecordLengthMismatch {
        /// The record's length prefix.
        declared: i32,
        /// The bytes its fields took.
        actual: usize,
    },
    /// A key, value or header length is below -1 (or a header key is null).
    #[error("invalid {field} length {length}")]
    InvalidLength {
        /// Which field.
        field: &'static str,
        /// The length read.
        length: i32,
    },
    /// A header count is negative or larger than the record can hold.
    #[error("invalid header count {0}")]
    InvalidHeaderCount(i32),
    /// A control record's key or value is malformed.
    #[error("malformed control record: {0}")]
    InvalidControlRecord(&'static str),
    /// The compressed records section could not be decompressed.
    #[error(transparent)]
    Decompress(#[from] DecompressError),
}

/// A compressed buffer could not be decompressed within the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecompressError {
    /// The decompressed data would exceed the caller's limit.
    #[error("{codec} data decompresses to more than the {limit}-byte limit")]
    TooLarge {
        /// The codec.
        codec: CompressionType,
        /// The caller's limit in bytes.
        limit: usize,
    },
    /// The compressed data is corrupt or truncated.
    #[error("corrupt {codec} data: {detail}")]
    Corrupt {
        /// The codec.
        codec: CompressionType,
        /// What the codec library reported.
        detail: String,
    },
}

/// Closing a batch failed (compression failed or the batch is too large for the format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The codec library reported an error.
    #[error("{codec} compression failed: {detail}")]
    Compression {
        /// The codec.
        codec: CompressionType,
        /// What the codec library reported.
        detail: String,
    },
    /// The batch would exceed `i32::MAX` bytes.
    #[error("batch of {0} bytes exceeds the format's i32 length")]
    BatchTooLarge(usize),
}

/// A record the batch format cannot hold (the caller's record is invalid or too large).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Timestamps must be `>= 0`, or `-1` for "no timestamp" (as in the Java client).
    #[error("invalid negative timestamp {0}")]
    InvalidTimestamp(i64),
    /// The batch already holds `i32::MAX` records.
    #[error("batch is full: record count would overflow i32")]
    TooManyRecords,
    /// A key, value, header or the whole record is longer than `i32::MAX` bytes.
    #[error("record field of {0} bytes exceeds the format's i32 length")]
    RecordTooLarge(usize),
}

/// A configuration value is invalid: the one error below the facade for settings that do not
/// hold (this crate's compression settings, and the accumulator's sizes and timeouts). The
/// message names the Java setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The named Java setting has an invalid value.
    #[error("invalid value for {setting}: {reason}")]
    Invalid {
        /// The Java setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `compression.type` is not one of `none`, `gzip`, `snappy`, `lz4`, `zstd`.
    #[error("invalid value {0:?} for compression.type (expected none, gzip, snappy, lz4 or zstd)")]
    UnknownCompressionType(String),
    /// A level is outside the range the setting allows.
    #[error("invalid value {level} for {setting} (allowed: {allowed})")]
    InvalidLevel {
        /// The Java setting, e.g. `compression.gzip.level`.
        setting: &'static str,
        /// The rejected level.
        level: i32,
        /// The allowed values, in words.
        allowed: &'static str,
    },
    /// A level was given for a codec without a level setting (`none`, `snappy`).
    #[error("compression.type {0} has no level setting")]
    LevelNotSupported(CompressionType),
}
