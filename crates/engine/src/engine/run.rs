//! The sender's round (`Engine::run`, called by `poll_io` when anything changed): the poll order
//! of expiry, metadata, producer identity, transactions, sequences and drain, and the next wake.

use std::time::{Duration, Instant};

use ferrokafka_txn::TransactionManager;

use super::Engine;
use crate::event::{DeliveryError, Reason};

impl Engine {
    pub(super) fn run(&mut self, now: Instant) {
        let mut wake: Option<Instant> = None;
        // A wake in the past would make the driver spin: whatever could run now just ran, so
        // anything "due" is waiting on something else (a connection, a backoff) that has its
        // own wake. Such a wake moves a millisecond ahead; one still ahead is kept as it is (a
        // batch whose linger.ms ends in a fraction of a millisecond is sent then, not later).
        let floor = now + Duration::from_millis(1);
        let mut wake_at = |t: Instant| {
            let t = if t <= now { floor } else { t };
            wake = Some(wake.map_or(t, |w: Instant| w.min(t)));
        };

        self.check_timeouts(now);
        self.reauthenticate_due(now, &mut wake_at);

        self.expire_queued(now);
        self.expire_in_flight(now);

        // Metadata.
        if let Some(t) = self.metadata.poll_timeout().filter(|t| *t > now) {
            wake_at(t);
        }
        let wants_metadata = self.metadata.update_due(now) && !self.metadata.is_in_flight();
        if wants_metadata && self.config.rebootstrap && !self.rebootstrapping {
            let since = *self.metadata_wanted_since.get_or_insert(now);
            let due = since + self.config.rebootstrap_trigger;
            if due <= now {
                self.start_rebootstrap(
                    "no Metadata answer within metadata.recovery.rebootstrap.trigger.ms",
                );
            } else {
                wake_at(due);
            }
        }
        if wants_metadata {
            // While rebootstrapping, metadata comes from a bootstrap server only.
            let ready = if self.rebootstrapping {
                self.least_loaded_ready_where(now, |c| c.node < 0)
            } else {
                self.least_loaded_ready(now)
            };
            if let Some(conn) = ready {
                if let Some(req) = self.metadata.poll_request(now) {
                    self.send_metadata(conn, req, now);
                }
            } else {
                self.connect_any(now, &mut wake_at);
            }
        }

        // Idempotence: a producer id before anything is drained.
        let mut can_drain = true;
        if self.mode.is_transactional() {
            self.drive_txn(now, &mut wake_at);
        }
        if let Some(idem) = self.mode.manager()
            && !idem.producer().is_valid()
        {
            can_drain = false;
            if !self.mode.is_transactional()
                && !self.init_in_flight
                && self.fatal_reason().is_none()
            {
                if let Some(conn) = self.least_loaded_ready(now) {
                    self.send_init_producer_id(conn, now);
                } else {
                    self.connect_any(now, &mut wake_at);
                }
            }
        }
        if let Some(reason) = self.fatal_reason() {
            for failed in self.acc.abort_all() {
                self.push_failed(
                    failed.id,
                    failed.tp,
                    failed.record_count,
                    DeliveryError::Fatal(reason.clone()),
                    failed.expired_in_flight,
                );
            }
            can_drain = false;
        }

        if let Some(ferrokafka_txn::TxnState::AbortableError(reason)) =
            self.mode.manager().map(TransactionManager::state)
            && self.mode.is_transactional()
        {
            // Java `abortUndrainedBatches`: nothing more of a failed transaction is sent.
            let reason = Reason::from_failure(*reason);
            for failed in self.acc.abort_queued() {
                self.push_failed(
                    failed.id,
                    failed.tp,
                    failed.record_count,
                    DeliveryError::TransactionAbortable(reason.clone()),
                    false,
                );
            }
        }
        if can_drain {
            self.resolve_sequences();
            self.drain(now, &mut wake_at);
        }
        if self.mode.is_transactional() {
            // Deliveries or errors during this run may have decided a pending call.
            self.resolve_txn_calls();
        }
        for t in self.nodes.values().filter_map(|n| n.retry_at) {
            if t > now {
                wake_at(t);
            }
        }
        self.wake_for_conn_deadlines(&mut wake_at);
        if let Some(m) = self.mode.manager()
            && self.traced_state != Some(m.state().kind())
        {
            let to = m.state().kind();
            if matches!(to, ferrokafka_txn::StateKind::FatalError) {
                tracing::error!(state = ?m.state(), "the producer is in a fatal state");
            } else {
                tracing::debug!(from = ?self.traced_state, to = ?to, "producer state changed");
            }
            self.traced_state = Some(to);
        }
        self.next_wake = wake;
    }
}
