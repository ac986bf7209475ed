//! Delivery outcomes: the one event per batch (delivered or failed), expiry at
//! `delivery.timeout.ms` (queued and in flight), and the bookkeeping a finished batch ends.

use std::time::Instant;

use ferrokafka_accumulator::{BatchId, TopicPartition};
use ferrokafka_wire::ErrorCode;

use super::{BrokerConn, Engine};
use crate::event::{DeliveryError, Event};

impl Engine {
    pub(super) fn push_delivered(
        &mut self,
        batch: BatchId,
        tp: TopicPartition,
        base_offset: Option<i64>,
        log_append_time: Option<i64>,
        record_count: i32,
        expired_in_flight: bool,
    ) {
        if expired_in_flight {
            self.settle_expired(batch, &tp);
            return;
        }
        self.counters.records_sent += record_count as u64;
        crate::metrics::topic_counters(&mut self.counters.by_topic, &tp.topic).records_sent +=
            record_count as u64;
        self.finish(batch);
        self.events.push_back(Event::Delivered {
            batch,
            tp,
            base_offset,
            log_append_time,
            record_count,
        });
    }

    pub(super) fn push_failed(
        &mut self,
        batch: BatchId,
        tp: TopicPartition,
        record_count: i32,
        error: DeliveryError,
        expired_in_flight: bool,
    ) {
        if expired_in_flight {
            self.settle_expired(batch, &tp);
            return;
        }
        tracing::warn!(
            topic = %tp.topic,
            partition = tp.partition,
            records = record_count,
            error = %error,
            "delivery failed"
        );
        self.counters.records_errored += record_count as u64;
        crate::metrics::topic_counters(&mut self.counters.by_topic, &tp.topic).records_errored +=
            record_count as u64;
        self.finish(batch);
        self.events.push_back(Event::Failed {
            batch,
            tp,
            record_count,
            error,
        });
    }

    /// `delivery.timeout.ms` for queued batches: their records fail, naming the last error and
    /// attempts of a retried batch, or why it was never answered.
    pub(super) fn expire_queued(&mut self, now: Instant) {
        for failed in self.acc.expire(now) {
            let last_error = failed.last_error;
            let error = DeliveryError::DeliveryTimeout {
                topic: failed.tp.topic.to_string(),
                partition: failed.tp.partition,
                attempts: failed.attempts,
                last_error,
                // NETWORK_EXCEPTION is ours (a lost connection), never a broker's answer: say
                // what was lost.
                reason: match last_error {
                    Some(ErrorCode::NETWORK_EXCEPTION) => self.last_problem.clone(),
                    Some(_) => None,
                    None => Some(self.unsent_reason(&failed.tp.topic, failed.tp.partition)),
                },
                // One of its requests was lost rather than refused: it may be in the log.
                maybe_written: failed.ever_sent && failed.maybe_written,
            };
            self.note_expired();
            self.push_failed(failed.id, failed.tp, failed.record_count, error, false);
        }
    }

    /// `delivery.timeout.ms` bounds in-flight batches too (Java's `getExpiredInflightBatches`):
    /// their records fail now, with an outcome-unknown error, while the batch stays in flight
    /// until its request is answered or lost. An idempotent producer sends nothing more to the
    /// partition until then (its sequence is unresolved: the answer decides whether the epoch
    /// must be bumped); in a transaction the expiry makes the transaction abortable.
    pub(super) fn expire_in_flight(&mut self, now: Instant) {
        for failed in self.acc.expire_in_flight(now) {
            let (last_error, attempts) = (failed.last_error, failed.attempts);
            let leader = self
                .metadata
                .cluster()
                .leader_broker(&failed.tp.topic, failed.tp.partition)
                .map_or_else(
                    || "its leader".to_owned(),
                    |b| format!("broker {} ({}:{})", b.id, b.host, b.port),
                );
            let problem = self
                .last_problem
                .as_deref()
                .map(|p| format!(" (last connection problem: {p})"))
                .unwrap_or_default();
            let error = DeliveryError::DeliveryTimeout {
                topic: failed.tp.topic.to_string(),
                partition: failed.tp.partition,
                attempts: attempts + 1,
                last_error,
                reason: Some(format!(
                    "its request to {leader} was not answered in time{problem}"
                )),
                maybe_written: true,
            };
            if self.mode.is_transactional() {
                if let Some(m) = self.mode.manager_mut() {
                    let _ = m.handle_batch_expired();
                }
            } else if self.mode.manager().is_some() {
                self.acc.hold(&failed.tp);
            }
            self.counters.records_errored += failed.record_count as u64;
            self.events.push_back(Event::Failed {
                batch: failed.id,
                tp: failed.tp,
                record_count: failed.record_count,
                error,
            });
        }
    }

    /// For a batch whose records were already failed by
    /// [`expire_in_flight`](Self::expire_in_flight): its answer came (or its request was lost,
    /// or it was aborted) and the accumulator let it go; finish its bookkeeping silently.
    fn settle_expired(&mut self, batch: BatchId, tp: &TopicPartition) {
        self.finish(batch);
        if !self.acc.has_expired_in_flight(tp) {
            self.acc.release(tp);
        }
        self.dirty = true;
    }

    pub(super) fn finish(&mut self, batch: BatchId) {
        if let Some((tp, base)) = self.batches.finish(batch)
            && let Some(m) = self.mode.manager_mut()
        {
            // Already gone if the batch was answered; otherwise (aborted, expired) it leaves a
            // gap that the next epoch bump closes.
            let _ = m.sequences_mut().fail(&tp, base);
        }
    }

    /// In a transaction an expired batch makes it abortable. (An idempotent producer's sent
    /// batch leaves a gap instead, marked by the tracker when the batch is finished:
    /// `resolve_sequences` bumps the epoch once the partition is quiet.)
    pub(super) fn note_expired(&mut self) {
        if self.mode.is_transactional()
            && let Some(m) = self.mode.manager_mut()
        {
            let _ = m.handle_batch_expired();
        }
    }

    /// Why a batch of `topic`-`partition` is still unacknowledged when no Kafka error says it.
    pub(super) fn unsent_reason(&self, topic: &str, partition: i32) -> String {
        let problem = self
            .last_problem
            .as_deref()
            .map(|p| format!(" (last connection problem: {p})"))
            .unwrap_or_default();
        if self
            .mode
            .manager()
            .is_some_and(|idem| !idem.producer().is_valid())
        {
            return format!("no producer id yet (InitProducerId not answered){problem}");
        }
        let Some(leader) = self.metadata.cluster().leader_for(topic, partition) else {
            return format!("the partition has no known leader{problem}");
        };
        let ready = self
            .nodes
            .get(&leader)
            .and_then(|n| n.conn)
            .is_some_and(|c| self.conns.get(&c).is_some_and(BrokerConn::is_ready));
        if ready {
            format!("sent to its leader (broker {leader}) without an answer in time{problem}")
        } else {
            format!("its leader (broker {leader}) could not be reached{problem}")
        }
    }
}
