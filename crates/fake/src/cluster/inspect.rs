//! Inspection of the fake's state: leaders, offsets, stored records and markers, producer and
//! transaction state.

use bytes::Bytes;
use ferrokafka_records::{DecodeOptions, Header, batches};

use super::Cluster;
use crate::producer_state::ProducerEntry;
use crate::txn::TxnState;

/// A record as stored, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Offset.
    pub offset: i64,
    /// Timestamp (the append time on a LogAppendTime topic).
    pub timestamp: i64,
    /// Key.
    pub key: Option<Bytes>,
    /// Value.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<Header>,
    /// Producer id of its batch, or -1.
    pub producer_id: i64,
    /// Producer epoch of its batch.
    pub producer_epoch: i16,
    /// Sequence, or -1.
    pub sequence: i32,
    /// Whether its batch is transactional.
    pub transactional: bool,
}

/// A control record (transaction marker) as stored, for inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredMarker {
    /// Offset.
    pub offset: i64,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch the marker was written with.
    pub producer_epoch: i16,
    /// COMMIT (true) or ABORT (false).
    pub commit: bool,
}

impl Cluster {
    /// The partition's leader and leader epoch.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<(i32, i32)> {
        self.partition(topic, partition)
            .map(|p| (p.leader, p.leader_epoch))
    }

    /// The partition's high watermark.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partition(topic, partition)
            .map(|p| p.log.high_watermark())
    }

    /// The partition's last stable offset.
    pub fn last_stable_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partition(topic, partition)
            .map(|p| p.log.last_stable_offset())
    }

    /// Every data record of a partition (control records excluded), in offset order, whether
    /// committed, aborted or open.
    pub fn records(&self, topic: &str, partition: i32) -> Vec<StoredRecord> {
        let mut out = Vec::new();
        let Some(p) = self.partition(topic, partition) else {
            return out;
        };
        for stored in p.log.batches() {
            for batch in batches(&stored.bytes, DecodeOptions::default()).flatten() {
                if batch.is_control() {
                    continue;
                }
                let h = *batch.header();
                for r in batch.records().flatten() {
                    out.push(StoredRecord {
                        offset: r.offset,
                        timestamp: r.timestamp,
                        key: r.key.map(Bytes::copy_from_slice),
                        value: r.value.map(Bytes::copy_from_slice),
                        headers: r.headers.iter().map(|h| h.to_owned_header()).collect(),
                        producer_id: h.producer_id,
                        producer_epoch: h.producer_epoch,
                        sequence: r.sequence,
                        transactional: h.is_transactional(),
                    });
                }
            }
        }
        out
    }

    /// The records a read_committed consumer sees: committed transactional records and
    /// non-transactional ones, below the last stable offset.
    pub fn committed_records(&self, topic: &str, partition: i32) -> Vec<StoredRecord> {
        let Some(p) = self.partition(topic, partition) else {
            return Vec::new();
        };
        let lso = p.log.last_stable_offset();
        let aborted = p.log.aborted_between(0, lso);
        self.records(topic, partition)
            .into_iter()
            .filter(|r| r.offset < lso)
            .filter(|r| {
                !r.transactional
                    || !aborted.iter().any(|a| {
                        a.producer_id == r.producer_id
                            && a.first_offset <= r.offset
                            && r.offset < a.last_offset
                    })
            })
            .collect()
    }

    /// The transaction markers of a partition.
    pub fn markers(&self, topic: &str, partition: i32) -> Vec<StoredMarker> {
        let mut out = Vec::new();
        let Some(p) = self.partition(topic, partition) else {
            return out;
        };
        for stored in p.log.batches() {
            for batch in batches(&stored.bytes, DecodeOptions::default()).flatten() {
                let h = *batch.header();
                let Some(controls) = batch.control_records() else {
                    continue;
                };
                for (i, c) in controls.flatten().enumerate() {
                    out.push(StoredMarker {
                        offset: h.base_offset + i as i64,
                        producer_id: h.producer_id,
                        producer_epoch: h.producer_epoch,
                        commit: c.kind == ferrokafka_records::ControlRecordType::Commit,
                    });
                }
            }
        }
        out
    }

    /// What the partition's leader remembers of a producer id.
    pub fn producer_state(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
    ) -> Option<ProducerEntry> {
        self.partition(topic, partition)?
            .producers
            .get(&producer_id)
            .cloned()
    }

    /// The coordinator's state of a transactional id.
    pub fn transaction(&self, transactional_id: &str) -> Option<TxnState> {
        self.txns.get(transactional_id).cloned()
    }

    /// A group's committed offset for a partition.
    pub fn committed_offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        self.groups
            .get(group)?
            .get(&(topic.to_owned(), partition))
            .map(|c| c.offset)
    }
}
