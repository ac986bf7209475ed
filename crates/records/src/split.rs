//! Splitting a closed-but-unsent batch for `MESSAGE_TOO_LARGE` (Java `ProducerBatch.split`).
//!
//! The records are decoded and re-appended, in order, into new batches whose estimated size stays
//! under the limit. A record that is alone larger than the limit gets a batch of its own (the
//! broker will reject it, and the producer then fails that record alone). Timestamps, keys, values
//! and headers are kept exactly. The new batches keep the original producer id, epoch and
//! transactional flag; if the original had a base sequence, the new batches continue from it
//! (first batch at the original base sequence, the next at that plus the first's record count,
//! and so on), so an idempotent producer can send them in place of the original.

use crate::builder::{BatchBuilder, ClosedBatch};
use crate::compression::Compression;
use crate::decode::{Batch, DecodeOptions};
use crate::error::{DecodeError, EncodeError, RecordError};
use crate::header::NO_SEQUENCE;
use crate::stamp::{ProducerStamp, increment_sequence};

/// Why a split failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// The input batch did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Closing a new batch failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A decoded record could not be re-appended (e.g. a timestamp below -1).
    #[error(transparent)]
    Append(#[from] RecordError),
}

/// Splits `batch` (one complete closed batch) into batches no larger than `max_size` bytes where
/// possible, compressed with `compression`. `options` bounds the decompression of the input.
///
/// Sizes of compressed output batches are estimated from the uncompressed size (compression is
/// assumed to save nothing), so each output fits unless a single record is over the limit.
pub fn split_batch(
    batch: &[u8],
    max_size: usize,
    compression: Compression,
    options: DecodeOptions,
) -> Result<Vec<ClosedBatch>, SplitError> {
    let input = Batch::parse(batch, options)?;
    let h = *input.header();
    let mut out = Vec::new();
    let mut builder = BatchBuilder::new(compression, max_size.min(batch.len()));
    let mut sequence = h.base_sequence;
    let mut close = |builder: BatchBuilder, out: &mut Vec<ClosedBatch>| -> Result<(), SplitError> {
        let count = builder.record_count();
        let stamp = ProducerStamp {
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: sequence,
            transactional: h.is_transactional(),
        };
        out.push(builder.close(stamp)?);
        if sequence != NO_SEQUENCE {
            sequence = increment_sequence(sequence, count);
        }
        Ok(())
    };
    for record in input.records() {
        let record = record?;
        let fits = builder.is_empty() || {
            let add = builder.next_record_size(record.timestamp, record.key, record.value, &[])
                + headers_size(&record);
            builder.size_in_bytes() + add <= max_size
        };
        if !fits {
            let full = std::mem::replace(
                &mut builder,
                BatchBuilder::new(compression, max_size.min(batch.len())),
            );
            close(full, &mut out)?;
        }
        builder.append_ref(&record)?;
    }
    if !builder.is_empty() || out.is_empty() {
        close(builder, &mut out)?;
    }
    Ok(out)
}

/// Encoded size of a decoded record's headers (the part `next_record_size(.., &[])` leaves out,
/// apart from the header-count varint, which grows by at most 4 bytes: counted here too).
fn headers_size(record: &crate::record::RecordRef<'_>) -> usize {
    record.headers.raw.len() + 4
}
