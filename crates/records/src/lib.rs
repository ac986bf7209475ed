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
//!
//! # When to use this crate alone
//!
//! The crate depends on no protocol code and does no I/O: bytes in, bytes out. Pick it without
//! the rest of ferrokafka when record batches are what you handle, not requests:
//!
//! * a consumer, log reader or dump tool that decodes the `Records` field of a Fetch answer or
//!   the contents of a log segment, with CRC checks and bounded decompression;
//! * a proxy, mirror or test broker that checks batches, assigns their base offset or re-stamps
//!   producer identity without touching the records (the fake cluster of `ferrokafka-fake`
//!   is built on it);
//! * another client, or a test, that needs byte-exact v2 batches with the Java client's codecs
//!   and compression levels.
//!
//! Building a batch, then reading it back as a consumer would:
//!
//! ```
//! use ferrokafka_records::{
//!     BatchBuilder, Compression, CompressionType, DecodeOptions, Header, ProducerStamp, batches,
//! };
//!
//! // Two records in one zstd batch (16 KiB reserved up front, like `batch.size`).
//! let mut builder = BatchBuilder::new(Compression::of(CompressionType::Zstd), 16 * 1024);
//! let headers = [Header::new("source", Some("web"))];
//! builder.append(1_700_000_000_000, Some(b"user-1"), Some(b"clicked"), &headers)?;
//! builder.append(1_700_000_000_007, None, Some(b"tick"), &[])?;
//!
//! // Closing compresses, writes the 61-byte header and the CRC-32C; the stamp is the producer
//! // identity (here an idempotent producer: id 42, epoch 0, first sequence 0).
//! let batch = builder.close(ProducerStamp::idempotent(42, 0, 0))?;
//! assert_eq!(batch.record_count(), 2);
//!
//! // `batch.bytes()` is what goes into a Produce request; decoding checks CRC and magic.
//! let mut read = Vec::new();
//! for decoded in batches(batch.bytes(), DecodeOptions::default()) {
//!     let decoded = decoded?;
//!     assert_eq!(decoded.compression(), CompressionType::Zstd);
//!     assert_eq!(decoded.header().producer_id, 42);
//!     // Records borrow from the batch (from its decompressed buffer here).
//!     for record in decoded.records() {
//!         let record = record?;
//!         let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
//!         read.push((record.offset, record.sequence, text(record.key), text(record.value)));
//!     }
//! }
//! let s = |t: &str| Some(t.to_owned());
//! assert_eq!(read, [(0, 0, s("user-1"), s("clicked")), (1, 1, None, s("tick"))]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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

pub use builder::{
    BatchBuilder, ClosedBatch, TryAppend, record_size, record_size_upper_bound, write_record,
};
pub use compression::{Compression, CompressionType, compress, decompress};
pub use control::{ControlRecord, ControlRecordType};
pub use decode::{Batch, BatchIter, DecodeOptions, Records, batches};
pub use error::{ConfigError, DecodeError, DecompressError, EncodeError, RecordError};
pub use header::{BatchHeader, RECORD_BATCH_OVERHEAD, TimestampType};
pub use record::{Header, HeaderRef, Headers, HeadersIter, Record, RecordRef};
pub use split::{SplitError, split_batch};
pub use stamp::{ProducerStamp, increment_sequence, restamp_in_place};
