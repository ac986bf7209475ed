//! Kafka RecordBatch v2 (magic 2) encoding and decoding, with CRC-32C and compression.
//!
//! This crate turns records into the exact bytes a broker stores, and back. It knows nothing of
//! requests or connections (the wire crate carries a closed batch as opaque [`bytes::Bytes`]).
//!
//! * [`BatchBuilder`] appends records directly in their final v2 wire form into one growing
//!   buffer, with no per-record allocation, and tracks its size so that a caller can decide when
//!   a batch is full (`batch.size`) or a record too large (`max.request.size`).
//! * [`BatchBuilder::close`] compresses the records section, fills the 61-byte header and computes
//!   the CRC-32C. The resulting [`ClosedBatch`] can be re-stamped (producer id, epoch, base
//!   sequence, transactional flag) without re-encoding its records.
//! * [`batches`] iterates over one or more batches in a buffer, checking magic and CRC,
//!   decompressing into a buffer bounded by a caller-given limit, and yielding records that borrow
//!   from the input when the batch is uncompressed.
//! * [`split_batch`] splits a closed-but-unsent batch under a size limit (for `MESSAGE_TOO_LARGE`).
//!
//! Codecs (see [`compression`]): gzip (flate2), snappy (snap, written with the xerial framing the
//! Java client uses; raw and framed both read), lz4 (lz4_flex, standard LZ4 frame) and zstd.
//! zstd batches need Produce v7 or later; choosing the request version is the wire crate's job.
//!
//! Layout reference: KIP-98 (message format v2) and the Java client's `DefaultRecordBatch` /
//! `DefaultRecord`. The byte layout is summarised in [`header`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
pub mod compression;
mod control;
mod decode;
mod error;
pub mod header;
mod record;
mod split;
mod stamp;
mod varint;

pub use builder::{BatchBuilder, ClosedBatch, record_size, record_size_upper_bound, write_record};
pub use compression::{Compression, CompressionType, compress, decompress};
pub use control::{ControlRecord, ControlRecordType};
pub use decode::{Batch, BatchIter, DecodeOptions, Records, batches};
pub use error::{AppendError, ConfigError, DecodeError, DecompressError, EncodeError};
pub use header::{BatchHeader, RECORD_BATCH_OVERHEAD, TimestampType};
pub use record::{Header, HeaderRef, Headers, HeadersIter, Record, RecordRef};
pub use split::{SplitError, split_batch};
pub use stamp::{ProducerStamp, increment_sequence, restamp_in_place};
