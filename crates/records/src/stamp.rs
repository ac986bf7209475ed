//! Producer identity stamped into a batch header at drain time (or later, after a retry or an
//! epoch bump): producer id, epoch, base sequence and the transactional flag.
//!
//! These live at bytes 43..61 and in attributes bit 4, all inside the CRC's coverage, so a
//! re-stamp patches them in place and recomputes the CRC over `[21, end)`. The records section
//! (compressed or not) is never touched.

use crate::error::DecodeError;
use crate::header::{
    ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, CRC_OFFSET, CRC_START, LOG_OVERHEAD, MAGIC,
    MAGIC_OFFSET, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, PRODUCER_ID_OFFSET,
    RECORD_BATCH_OVERHEAD, TRANSACTIONAL_BIT,
};

/// Producer identity for a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerStamp {
    /// Producer id (-1 when not idempotent).
    pub producer_id: i64,
    /// Producer epoch (-1 when not idempotent).
    pub producer_epoch: i16,
    /// Sequence of the batch's first record (-1 when not idempotent).
    pub base_sequence: i32,
    /// Whether the batch is part of a transaction (attributes bit 4).
    pub transactional: bool,
}

impl ProducerStamp {
    /// A non-idempotent producer: -1 / -1 / -1, not transactional.
    pub const NONE: ProducerStamp = ProducerStamp {
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
        base_sequence: NO_SEQUENCE,
        transactional: false,
    };

    /// An idempotent (non-transactional) stamp.
    pub const fn idempotent(producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        ProducerStamp {
            producer_id,
            producer_epoch,
            base_sequence,
            transactional: false,
        }
    }
}

impl Default for ProducerStamp {
    fn default() -> Self {
        ProducerStamp::NONE
    }
}

/// `sequence + increment` with the Java client's wrap: the sequence after `i32::MAX` is 0
/// (`DefaultRecordBatch.incrementSequence`). `increment` must be non-negative.
pub const fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// Writes the stamp into a complete, closed v2 batch and recomputes its CRC.
///
/// Checks that `batch` is at least a header long, has magic 2, and that its `batchLength`
/// matches `batch.len()`; otherwise returns an error and leaves the bytes unchanged.
pub fn restamp_in_place(batch: &mut [u8], stamp: ProducerStamp) -> Result<(), DecodeError> {
    if batch.len() < RECORD_BATCH_OVERHEAD {
        return Err(DecodeError::Truncated {
            needed: RECORD_BATCH_OVERHEAD,
            available: batch.len(),
        });
    }
    let magic = batch[MAGIC_OFFSET] as i8;
    if magic != MAGIC {
        return Err(DecodeError::UnsupportedMagic(magic));
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&batch[BATCH_LENGTH_OFFSET..BATCH_LENGTH_OFFSET + 4]);
    let declared = i32::from_be_bytes(len);
    if declared < 0 || declared as usize + LOG_OVERHEAD != batch.len() {
        return Err(DecodeError::InvalidBatchLength(declared));
    }
    write_stamp(batch, stamp);
    Ok(())
}

/// Patches bytes 43..61, the transactional bit and the CRC. `batch` must be a whole batch.
pub(crate) fn write_stamp(batch: &mut [u8], stamp: ProducerStamp) {
    let p = PRODUCER_ID_OFFSET;
    batch[p..p + 8].copy_from_slice(&stamp.producer_id.to_be_bytes());
    batch[p + 8..p + 10].copy_from_slice(&stamp.producer_epoch.to_be_bytes());
    batch[p + 10..p + 14].copy_from_slice(&stamp.base_sequence.to_be_bytes());
    let mut attrs = i16::from_be_bytes([batch[ATTRIBUTES_OFFSET], batch[ATTRIBUTES_OFFSET + 1]]);
    if stamp.transactional {
        attrs |= TRANSACTIONAL_BIT;
    } else {
        attrs &= !TRANSACTIONAL_BIT;
    }
    batch[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[CRC_OFFSET..CRC_START].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_like_java() {
        assert_eq!(increment_sequence(0, 5), 5);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(increment_sequence(i32::MAX, 0), i32::MAX);
    }

    #[test]
    fn restamp_rejects_short_or_foreign_input() {
        let mut short = [0u8; 60];
        assert!(matches!(
            restamp_in_place(&mut short, ProducerStamp::NONE),
            Err(DecodeError::Truncated { .. })
        ));
        let mut bad_magic = [0u8; 61];
        bad_magic[16] = 1;
        assert_eq!(
            restamp_in_place(&mut bad_magic, ProducerStamp::NONE),
            Err(DecodeError::UnsupportedMagic(1))
        );
        let mut bad_len = [0u8; 61];
        bad_len[16] = 2;
        assert_eq!(
            restamp_in_place(&mut bad_len, ProducerStamp::NONE),
            Err(DecodeError::InvalidBatchLength(0))
        );
    }
}
