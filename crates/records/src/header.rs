//! The 61-byte RecordBatch v2 header (KIP-98; Java `DefaultRecordBatch`). Big-endian throughout.
//!
//! | offset | size | field | notes |
//! |---|---|---|---|
//! | 0 | 8 | baseOffset | the producer writes 0; the broker assigns |
//! | 8 | 4 | batchLength | total batch bytes − 12 |
//! | 12 | 4 | partitionLeaderEpoch | producer writes -1; not covered by the CRC |
//! | 16 | 1 | magic | 2 |
//! | 17 | 4 | crc | CRC-32C over bytes `[21, end)` |
//! | 21 | 2 | attributes | bits 0–2 codec, 3 timestamp type, 4 transactional, 5 control, 6 delete horizon |
//! | 23 | 4 | lastOffsetDelta | record count − 1 |
//! | 27 | 8 | baseTimestamp | first record's timestamp |
//! | 35 | 8 | maxTimestamp | largest record timestamp |
//! | 43 | 8 | producerId | -1 if not idempotent |
//! | 51 | 2 | producerEpoch | -1 if not idempotent |
//! | 53 | 4 | baseSequence | -1 if not idempotent |
//! | 57 | 4 | recordsCount | |
//! | 61 | … | records | compressed as a whole when the codec is not `none` |

use crate::compression::CompressionType;
use crate::error::DecodeError;

/// Size of the fixed batch header (`RECORD_BATCH_OVERHEAD`).
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// Bytes before `batchLength` counts: baseOffset and batchLength itself (`LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// The only magic this crate reads and writes.
pub const MAGIC: i8 = 2;

pub(crate) const BATCH_LENGTH_OFFSET: usize = 8;
pub(crate) const MAGIC_OFFSET: usize = 16;
pub(crate) const CRC_OFFSET: usize = 17;
/// The CRC covers the batch from here to its end.
pub const CRC_START: usize = 21;
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;
pub(crate) const PRODUCER_ID_OFFSET: usize = 43;

/// Attribute bits.
pub(crate) const CODEC_MASK: i16 = 0x07;
pub(crate) const TIMESTAMP_TYPE_BIT: i16 = 0x08;
pub(crate) const TRANSACTIONAL_BIT: i16 = 0x10;
pub(crate) const CONTROL_BIT: i16 = 0x20;
pub(crate) const DELETE_HORIZON_BIT: i16 = 0x40;

/// No producer id (`RecordBatch.NO_PRODUCER_ID`).
pub const NO_PRODUCER_ID: i64 = -1;
/// No producer epoch.
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// No sequence.
pub const NO_SEQUENCE: i32 = -1;
/// No partition leader epoch (what producers write).
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// No timestamp.
pub const NO_TIMESTAMP: i64 = -1;

/// What a batch's timestamps mean (attributes bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer (what producers always write).
    #[default]
    CreateTime,
    /// Set by the broker when appending; every record's timestamp is then the batch's
    /// `maxTimestamp`.
    LogAppendTime,
}

/// Every field of the 61-byte header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    /// Offset of the first record (0 from a producer).
    pub base_offset: i64,
    /// Total batch size minus 12.
    pub batch_length: i32,
    /// Leader epoch (-1 from a producer).
    pub partition_leader_epoch: i32,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Raw attributes.
    pub attributes: i16,
    /// Offset delta of the last record.
    pub last_offset_delta: i32,
    /// First record's timestamp (or the delete horizon when that flag is set).
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Sequence of the first record.
    pub base_sequence: i32,
    /// Declared number of records.
    pub record_count: i32,
}

impl BatchHeader {
    /// The codec named by the attributes, or an error for ids 5–7.
    pub fn compression(&self) -> Result<CompressionType, DecodeError> {
        let id = (self.attributes & CODEC_MASK) as u8;
        CompressionType::from_id(id).ok_or(DecodeError::UnknownCompression(id))
    }

    /// The timestamp type (attributes bit 3).
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether the batch belongs to a transaction (bit 4).
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records (bit 5).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Whether the log cleaner set a delete horizon (bit 6).
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & DELETE_HORIZON_BIT != 0
    }

    /// Total size of the batch in bytes (`batch_length + 12`).
    pub fn size_in_bytes(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Writes the header into `out`; the `crc` field is written as stored here (see
    /// [`BatchHeader::write_with_crc`] to compute it).
    pub fn write(&self, out: &mut [u8; RECORD_BATCH_OVERHEAD]) {
        out[0..8].copy_from_slice(&self.base_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.batch_length.to_be_bytes());
        out[12..16].copy_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out[16] = MAGIC as u8;
        out[17..21].copy_from_slice(&self.crc.to_be_bytes());
        out[21..23].copy_from_slice(&self.attributes.to_be_bytes());
        out[23..27].copy_from_slice(&self.last_offset_delta.to_be_bytes());
        out[27..35].copy_from_slice(&self.base_timestamp.to_be_bytes());
        out[35..43].copy_from_slice(&self.max_timestamp.to_be_bytes());
        out[43..51].copy_from_slice(&self.producer_id.to_be_bytes());
        out[51..53].copy_from_slice(&self.producer_epoch.to_be_bytes());
        out[53..57].copy_from_slice(&self.base_sequence.to_be_bytes());
        out[57..61].copy_from_slice(&self.record_count.to_be_bytes());
    }

    /// Writes the header at the front of `batch` (a complete batch whose records section follows),
    /// setting `batch_length` from `batch.len()` and computing the CRC over `[21, end)`.
    ///
    /// # Panics
    /// If `batch` is shorter than 61 bytes (a caller bug, never input-dependent).
    pub fn write_with_crc(&mut self, batch: &mut [u8]) {
        self.batch_length = (batch.len() - LOG_OVERHEAD) as i32;
        let head: &mut [u8; RECORD_BATCH_OVERHEAD] = (&mut batch[..RECORD_BATCH_OVERHEAD])
            .try_into()
            .expect("batch shorter than its header");
        self.crc = 0;
        self.write(head);
        self.crc = crc32c::crc32c(&batch[CRC_START..]);
        batch[CRC_OFFSET..CRC_START].copy_from_slice(&self.crc.to_be_bytes());
    }

    /// Parses the 61 header bytes (no CRC or length validation; see [`crate::batches`]).
    pub fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        let Some(b) = b.first_chunk::<RECORD_BATCH_OVERHEAD>() else {
            return Err(DecodeError::Truncated {
                needed: RECORD_BATCH_OVERHEAD,
                available: b.len(),
            });
        };
        let magic = b[MAGIC_OFFSET] as i8;
        if magic != MAGIC {
            return Err(DecodeError::UnsupportedMagic(magic));
        }
        let i16_at = |o: usize| i16::from_be_bytes([b[o], b[o + 1]]);
        let i32_at = |o: usize| i32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let i64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            i64::from_be_bytes(a)
        };
        Ok(BatchHeader {
            base_offset: i64_at(0),
            batch_length: i32_at(8),
            partition_leader_epoch: i32_at(12),
            crc: i32_at(17) as u32,
            attributes: i16_at(21),
            last_offset_delta: i32_at(23),
            base_timestamp: i64_at(27),
            max_timestamp: i64_at(35),
            producer_id: i64_at(43),
            producer_epoch: i16_at(51),
            base_sequence: i32_at(53),
            record_count: i32_at(57),
        })
    }
}
