//! Control records: the transaction markers a broker writes into control batches (attributes
//! bit 5). Producers never write them, but a reader of the log must recognise them.
//!
//! Key: `version int16 (0), type int16` (0 = ABORT, 1 = COMMIT, other values are KRaft records).
//! Value of an ABORT/COMMIT marker: `version int16 (0), coordinator_epoch int32`
//! (Java `ControlRecordType`, `EndTransactionMarker`).

use crate::error::DecodeError;
use crate::record::RecordRef;

/// The type of a control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// The transaction was aborted (type 0).
    Abort,
    /// The transaction was committed (type 1).
    Commit,
    /// Another control type (2–6 are KRaft metadata records), kept as its code.
    Other(i16),
}

impl ControlRecordType {
    /// From the key's type field.
    pub fn from_code(code: i16) -> Self {
        match code {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            other => ControlRecordType::Other(other),
        }
    }

    /// The key's type field.
    pub fn code(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::Other(c) => c,
        }
    }
}

/// A decoded control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlRecord {
    /// Version from the key (0 today).
    pub version: i16,
    /// What the record marks.
    pub kind: ControlRecordType,
    /// For commit/abort markers, the transaction coordinator's epoch.
    pub coordinator_epoch: Option<i32>,
}

impl ControlRecord {
    /// Parses a record from a control batch.
    pub fn parse(record: &RecordRef<'_>) -> Result<Self, DecodeError> {
        let key = record
            .key
            .ok_or(DecodeError::InvalidControlRecord("null key"))?;
        let Some(k) = key.first_chunk::<4>() else {
            return Err(DecodeError::InvalidControlRecord(
                "key shorter than 4 bytes",
            ));
        };
        let version = i16::from_be_bytes([k[0], k[1]]);
        let kind = ControlRecordType::from_code(i16::from_be_bytes([k[2], k[3]]));
        let coordinator_epoch = match kind {
            ControlRecordType::Abort | ControlRecordType::Commit => {
                let value = record
                    .value
                    .ok_or(DecodeError::InvalidControlRecord("null marker value"))?;
                let Some(v) = value.first_chunk::<6>() else {
                    return Err(DecodeError::InvalidControlRecord(
                        "marker value shorter than 6 bytes",
                    ));
                };
                Some(i32::from_be_bytes([v[2], v[3], v[4], v[5]]))
            }
            ControlRecordType::Other(_) => None,
        };
        Ok(ControlRecord {
            version,
            kind,
            coordinator_epoch,
        })
    }

    /// The key and value bytes of an end-transaction marker (as a broker writes them).
    pub fn marker_bytes(commit: bool, coordinator_epoch: i32) -> ([u8; 4], [u8; 6]) {
        let kind = i16::from(commit);
        let mut key = [0u8; 4];
        key[2..].copy_from_slice(&kind.to_be_bytes());
        let mut value = [0u8; 6];
        value[2..].copy_from_slice(&coordinator_epoch.to_be_bytes());
        (key, value)
    }
}
