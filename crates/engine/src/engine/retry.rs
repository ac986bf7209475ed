//! Retry decisions: a batch a broker refused (or whose request was lost) goes back to its
//! queue, triggers an epoch bump, or fails for good, with its sequences settled accordingly.

use std::time::Instant;

use ferrokafka_accumulator::Retry;
use ferrokafka_wire::ErrorCode;

use super::{Engine, SentBatch};
use crate::event::DeliveryError;

impl Engine {
    /// Retriable errors go back to the queue (order kept); the rest fail their records.
    pub(super) fn requeue_or_fail(
        &mut self,
        batches: Vec<SentBatch>,
        code: ErrorCode,
        message: Option<String>,
        now: Instant,
    ) {
        for b in batches {
            self.metadata
                .handle_partition_error(&b.tp.topic, b.tp.partition, code, now);
            // Its records already failed at delivery.timeout.ms: no retry, only the bookkeeping.
            let expired = self.acc.is_expired(b.id);
            let sequence_retry = !expired
                && self.mode.manager().is_some()
                && matches!(
                    code,
                    ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID
                )
                && self.is_behind_earlier_batch(&b);
            // Java (KIP-360): UNKNOWN_PRODUCER_ID for the partition's next batch means the broker
            // lost the producer's state (e.g. retention removed it); an idempotent producer
            // bumps its epoch, restarting the partition's sequences, and resends.
            // The same for OUT_OF_ORDER_SEQUENCE_NUMBER on the next batch: a real gap, closed by
            // the bump (Java `canRetry` retries every sequence error of an idempotent producer).
            let reset_retry = !expired
                && self.mode.manager().is_some()
                && !self.mode.is_transactional()
                && matches!(
                    code,
                    ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                )
                && !sequence_retry
                && b.attempts < self.config.retries;
            if reset_retry && !self.pending_bumps.contains(&b.tp) {
                // The broker refused this head batch, so nothing of the partition behind it can
                // have been appended either: renumbering its in-flight batches is safe. One bump
                // for every partition that asks in this round (`resolve_sequences`, before the
                // next drain), not one each: a second bump would leave the first one's
                // renumbered batches under an epoch already passed.
                self.pending_bumps.push(b.tp.clone());
                self.dirty = true;
            }
            let retriable = code.is_retriable() || sequence_retry || reset_retry;
            if retriable && !expired && b.attempts < self.config.retries {
                tracing::info!(
                    topic = %b.tp.topic,
                    partition = b.tp.partition,
                    error = ?code,
                    attempt = b.attempts + 1,
                    "retrying a batch"
                );
                let maybe_written = matches!(
                    code,
                    ErrorCode::REQUEST_TIMED_OUT
                        | ErrorCode::NETWORK_EXCEPTION
                        | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                );
                let retry = Retry::after(code, maybe_written, self.next_jitter());
                if self.acc.retry(b.id, retry, now).is_ok() {
                    self.dirty = true;
                }
                continue;
            }
            // A batch the broker refused was never appended: its sequences are given back and
            // the batches behind it renumbered (Java `adjustSequencesDueToFailedBatch`). One
            // that may have been appended (timeouts, lost connection) leaves a gap instead.
            // An earlier attempt counts too: a batch appended once and then refused on a retry
            // (NOT_ENOUGH_REPLICAS after NOT_ENOUGH_REPLICAS_AFTER_APPEND, or after a lost
            // answer) is in the log, and its sequences must not be given to another batch.
            let maybe_appended = self.acc.maybe_written(b.id)
                || matches!(
                    code,
                    ErrorCode::REQUEST_TIMED_OUT
                        | ErrorCode::NETWORK_EXCEPTION
                        | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                );
            let released = !maybe_appended && self.release_refused(&b);
            if !released {
                self.sequence_done(&b, false);
            }
            if self.mode.is_transactional() {
                // Inside a transaction a lost batch makes the transaction abortable (or the
                // producer fatal); the epoch bump, if any, follows the abort.
                if let Some(m) = self.mode.manager_mut() {
                    let _ = m.handle_produce_error(code);
                }
            }
            // Otherwise the gap it left is closed by an epoch bump once nothing of the partition
            // is in flight any more (`resolve_sequences`).
            let expired = self.acc.fail(b.id).is_ok_and(|f| f.expired_in_flight);
            let error = DeliveryError::Broker {
                topic: b.tp.topic.to_string(),
                partition: b.tp.partition,
                code,
                message: message.clone(),
            };
            self.push_failed(b.id, b.tp, b.record_count, error, expired);
        }
    }
    /// The next retry-jitter sample in `[-1, 1]` (0 without a seed).
    fn next_jitter(&mut self) -> f64 {
        self.jitter.as_mut().map_or(0.0, jitter_sample)
    }
}

/// A sample in `[-1, 1]` from a splitmix64 generator at `state` (advanced): enough for spreading
/// retries, and deterministic for a given seed.
fn jitter_sample(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    #[allow(clippy::cast_precision_loss)] // 53 bits: exact in an f64
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    unit * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::jitter_sample;

    #[test]
    fn jitter_samples_are_in_range_spread_and_reproducible() {
        let (mut a, mut b) = (7_u64, 7_u64);
        let xs: Vec<f64> = (0..1000).map(|_| jitter_sample(&mut a)).collect();
        let ys: Vec<f64> = (0..1000).map(|_| jitter_sample(&mut b)).collect();
        assert_eq!(xs, ys, "same seed, same samples");
        assert!(xs.iter().all(|x| (-1.0..=1.0).contains(x)));
        assert!(xs.iter().any(|&x| x < -0.5) && xs.iter().any(|&x| x > 0.5));
    }
}
