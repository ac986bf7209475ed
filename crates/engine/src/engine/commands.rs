//! Commands: what the application asks of the engine (append a record, flush, close, abort),
//! and the types they take and return.

use std::time::{Duration, Instant};

use ferrokafka_accumulator::{AppendError, BatchId, FlushId};
use ferrokafka_metadata::MetadataError;
use ferrokafka_partition::Appended as PartitionAppended;
use ferrokafka_records::Header;
use ferrokafka_wire::Topic;

use super::{BrokerConn, Engine};
use crate::event::{ConnId, DeliveryError, Io, Reason, TxnFailure};

/// A record handed to [`Engine::append`]. Key and value are already serialized.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingRecord<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// Key bytes.
    pub key: Option<&'a [u8]>,
    /// Value bytes.
    pub value: Option<&'a [u8]>,
    /// Headers, in order.
    pub headers: &'a [Header],
    /// Create time in milliseconds since the epoch (the engine has no clock).
    pub timestamp: i64,
}

/// Where an appended record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// Its batch: delivery events name it.
    pub batch: BatchId,
    /// Its index in the batch (offset = base offset + index).
    pub index: i32,
    /// The chosen partition.
    pub partition: i32,
    /// Whether the sender has new work (a batch became full or a new one started): the
    /// driver should pump the engine soon.
    pub wake_sender: bool,
    /// For a record that started a new batch: about how many records that batch will hold
    /// (from its partition's last batches; 0 when unknown), to size what is kept per record
    /// of it.
    pub expected_records: usize,
}

/// Why [`Engine::append`] did not take a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The topic's metadata is not known yet; it has been requested. Retry after the engine
    /// progressed, and ask [`Engine::check_topic`] whether to keep waiting.
    #[error("metadata for topic `{0}` not available yet")]
    TopicPending(String),
    /// `buffer.memory` is exhausted; retry after deliveries freed memory, up to `max.block.ms`.
    #[error("buffer.memory exhausted")]
    WouldBlock,
    /// The record can never be sent.
    #[error(
        "record of {size} bytes is larger than {setting} = {limit}; it was not sent (RecordTooLargeException)"
    )]
    RecordTooLarge {
        /// Upper bound of the record's size in a batch of its own.
        size: usize,
        /// The limit.
        limit: usize,
        /// The setting.
        setting: &'static str,
    },
    /// The producer is closing.
    #[error("producer is closed")]
    Closed,
    /// The explicit partition does not exist, or the partitioner failed.
    #[error(transparent)]
    Partition(#[from] ferrokafka_partition::Error),
    /// The record itself is invalid (e.g. a timestamp below -1).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// Waiting for the topic's metadata failed (not available within `max.block.ms`, or a
    /// non-retriable topic error such as authorization).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The idempotent producer is in a fatal state.
    #[error("idempotent producer failed: {0}")]
    Fatal(Reason),
    /// The transaction state does not allow sending (no transaction begun, abortable or
    /// fatal error).
    #[error("{0}")]
    Transaction(TxnFailure),
    /// SASL authentication with the cluster failed (Java's `AuthenticationException`): the
    /// message names the broker, the mechanism and what the broker said.
    #[error("{0}")]
    Authentication(String),
}

impl Engine {
    /// Partitions and appends one record. On `Err(TopicPending | WouldBlock)` nothing was
    /// appended: retry once the engine made progress.
    pub fn append(
        &mut self,
        record: &OutgoingRecord<'_>,
        now: Instant,
    ) -> Result<Appended, SendError> {
        // The state is checked inline; the reason is built only for a producer that failed.
        if self
            .mode
            .manager()
            .is_some_and(|m| matches!(m.state(), ferrokafka_txn::TxnState::FatalError(_)))
            && let Some(reason) = self.fatal_reason()
        {
            return Err(SendError::Fatal(reason));
        }
        if self.mode.is_transactional()
            && let Some(m) = self.mode.manager()
        {
            // Refused before waiting for metadata: no transaction is open, or it failed (a
            // fatal error names its cause rather than the shutdown it causes).
            m.send()
                .map_err(|e| SendError::Transaction(TxnFailure::from_error(&e)))?;
        }
        if self.acc.is_closing() {
            return Err(SendError::Closed);
        }
        let Some(cache) = self.topics.get(record.topic) else {
            if self.metadata.add_topic(record.topic, now) {
                self.dirty = true;
            }
            // The metadata may already know it (added earlier, answer arrived).
            if self
                .metadata
                .cluster()
                .partition_count(record.topic)
                .is_some()
            {
                self.refresh_topic_cache(record.topic);
                return self.append(record, now);
            }
            return Err(SendError::TopicPending(record.topic.to_owned()));
        };
        let partitions = cache.available.as_ref().map_err(Clone::clone)?.view();
        let mut precord = ferrokafka_partition::Record::new(record.topic, record.key)
            .with_value_len(record.value.map_or(0, <[u8]>::len));
        if let Some(p) = record.partition {
            precord = precord.with_partition(p);
        }
        let partition =
            ferrokafka_partition::select_partition(&mut self.partitioner, &precord, &partitions)?;
        let Some((tp, slot)) = usize::try_from(partition)
            .ok()
            .and_then(|p| cache.partitions.get(p).zip(cache.slots.get(p)))
        else {
            return Err(SendError::InvalidRecord(format!(
                "partition {partition} of `{}` is not in its metadata",
                record.topic
            )));
        };
        if self.mode.is_transactional()
            && let Some(m) = self.mode.manager_mut()
        {
            m.add_partition(tp)
                .map_err(|e| SendError::Transaction(TxnFailure::from_error(&e)))?;
        }
        let mut hint = slot.get();
        let result = self.acc.append_via(
            &mut hint,
            tp,
            record.timestamp,
            record.key,
            record.value,
            record.headers,
            now,
        );
        slot.set(hint);
        let result = result.map_err(|e| match e {
            AppendError::WouldBlock { .. } => SendError::WouldBlock,
            AppendError::RecordTooLarge {
                size,
                limit,
                setting,
            } => SendError::RecordTooLarge {
                size,
                limit,
                setting,
            },
            AppendError::Closed => SendError::Closed,
            other => SendError::InvalidRecord(other.to_string()),
        })?;
        let bytes = record.key.map_or(0, <[u8]>::len) + record.value.map_or(0, <[u8]>::len);
        let size = (bytes
            + record
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.as_ref().map_or(0, |v| v.len()))
                .sum::<usize>()) as u64;
        self.counters.records_appended += 1;
        self.counters.record_bytes_total += size;
        self.counters.record_bytes_max = self.counters.record_bytes_max.max(size);
        self.partitioner.on_append(
            &precord,
            &PartitionAppended::new(partition, bytes, result.batch_is_full),
        );
        if result.batch_is_full {
            self.partitioner.on_batch_closed(record.topic, partition);
        }
        // A head batch that just became sendable by size needs a round; one that already was
        // is waiting for an answer to free its partition, and that answer brings a round. A
        // new batch needs a round only if nothing is planned before it can be ready: the
        // round planned at the engine's next wake sees it (with many partitions a round per new
        // batch would cost a pass over every partition each time).
        let wake =
            result.became_full || (result.new_batch_created && self.new_batch_needs_round(now));
        if wake {
            self.dirty = true;
        }
        Ok(Appended {
            batch: result.handle.batch,
            index: result.handle.index,
            partition,
            wake_sender: wake,
            expected_records: result.expected_records,
        })
    }

    /// Whether a batch created now would be ready before the engine's next planned round
    /// (no `linger.ms`, batches draining regardless of it, or no round planned by then).
    fn new_batch_needs_round(&self, now: Instant) -> bool {
        let linger = self.config.accumulator.linger;
        linger.is_zero()
            || self.acc.drains_regardless_of_linger()
            || self.next_wake.is_none_or(|w| w > now + linger)
    }

    /// Whether `topic`'s partitions are known (a `send` to it waits for memory, not metadata).
    pub fn has_topic(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    /// The engine's shared name of `topic` once its partitions are known: delivery reports
    /// hold this one instead of a copy of the name per batch.
    pub fn topic(&self, topic: &str) -> Option<Topic> {
        self.topic_ref(topic).cloned()
    }

    /// [`topic`](Self::topic), borrowed: a caller that keeps the name only if it is not the
    /// one it has ([`Topic::same`]) takes no reference to it.
    pub fn topic_ref(&self, topic: &str) -> Option<&Topic> {
        self.topics.get_key_value(topic).map(|(name, _)| name)
    }

    /// For a `send` that has waited for `topic` since `since` and may wait `max_wait` in all
    /// (the caller's `max.block.ms`: blocking is the caller's, the engine only judges):
    /// `Ok(true)` when its metadata is known (append again), `Ok(false)` to keep waiting, or
    /// the error to fail the send with (`max_wait` passed, or a non-retriable topic error).
    pub fn check_topic(
        &mut self,
        topic: &str,
        since: Instant,
        max_wait: Duration,
        now: Instant,
    ) -> Result<bool, SendError> {
        if self.topics.contains_key(topic) {
            return Ok(true);
        }
        if let Some(failure) = &self.auth_failure {
            return Err(SendError::Authentication(failure.clone()));
        }
        match self.metadata.check_wait(topic, since, max_wait, now)? {
            Some(_) => {
                self.refresh_topic_cache(topic);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Starts a flush: every batch existing now becomes ready regardless of `linger.ms`.
    /// Returns a token for [`flush_complete`](Self::flush_complete).
    pub fn begin_flush(&mut self) -> u64 {
        self.dirty = true;
        self.acc.begin_flush().get()
    }

    /// Whether every batch that existed when flush `token` began is finished. A finished
    /// flush is ended (so `linger.ms` applies again once no other flush runs).
    pub fn flush_complete(&mut self, token: u64) -> bool {
        self.acc.flush_finished(FlushId::from_raw(token))
    }

    /// Abandons flush `token` (its caller timed out).
    pub fn cancel_flush(&mut self, token: u64) {
        self.acc.end_flush(FlushId::from_raw(token));
    }

    /// Starts closing: no more appends; everything queued is sent at once.
    pub fn close(&mut self) {
        // Java aborts an open transaction on close rather than leave it to the coordinator's
        // timeout (which would hold read_committed consumers at the last stable offset).
        if self.mode.is_transactional()
            && matches!(
                self.transaction_state(),
                Some(
                    ferrokafka_txn::StateKind::InTransaction
                        | ferrokafka_txn::StateKind::AbortableError
                )
            )
        {
            let _ = self.abort_transaction();
        }
        self.closed = true;
        self.acc.close();
        self.dirty = true;
    }

    /// Whether anything is still to be done before a close can end: records queued or in
    /// flight, or a transaction completing.
    pub fn has_pending_work(&self) -> bool {
        self.acc.has_incomplete()
            || matches!(
                self.transaction_state(),
                Some(
                    ferrokafka_txn::StateKind::CommittingTransaction
                        | ferrokafka_txn::StateKind::AbortingTransaction
                )
            )
    }

    /// Whether a request handed to the driver (`Io::Send`) is not yet reported written
    /// ([`handle_written`](Self::handle_written)) on a connection that is still open: a
    /// closing driver lets the sockets finish these before it closes them.
    pub fn has_unwritten(&self) -> bool {
        self.conns.values().any(BrokerConn::has_unwritten)
    }

    /// Whether records are still queued or in flight.
    pub fn has_incomplete(&self) -> bool {
        self.acc.has_incomplete()
    }

    /// Fails every queued and in-flight batch with [`DeliveryError::Aborted`] (close timed out
    /// or the producer was dropped) and closes every connection.
    pub fn abort(&mut self) {
        for failed in self.acc.abort_all() {
            // A request still out, or an earlier one whose answer was lost, may have been
            // written: say so, distinct from "never sent".
            let error = if failed.maybe_written {
                DeliveryError::ClosedInFlight
            } else {
                DeliveryError::Aborted
            };
            let expired = failed.expired_in_flight;
            self.push_failed(failed.id, failed.tp, failed.record_count, error, expired);
        }
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.conns.remove(&id);
            self.io.push_back(Io::Close { conn: id });
        }
        for node in self.nodes.values_mut() {
            node.conn = None;
        }
    }
}
