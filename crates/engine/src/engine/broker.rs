//! One broker connection as a state machine of its own ([`BrokerConn`]): connecting →
//! ApiVersions → (SASL) → ready. It owns its correlator (the requests awaiting an answer and
//! their contexts, [`Pending`]), their send times and tracing spans, the acks=0 bookkeeping
//! (ids whose stray answers are skipped, batches delivered once written), the broker's throttle
//! and the SASL re-authentication timer; the engine asks it rather than reach into its fields.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ferrokafka_wire::frame::Correlator;

use super::txn::CoordinatorKind;
use super::{SentBatch, Versions, auth};

/// How many acks=0 correlation ids a connection remembers (see `BrokerConn::unanswered`).
pub(super) const MAX_UNANSWERED_IDS: usize = 4096;

#[derive(Debug)]
pub(super) enum ConnState {
    Connecting,
    Negotiating,
    /// SaslHandshake and SaslAuthenticate rounds (first authentication or KIP-368
    /// re-authentication); nothing else is sent meanwhile.
    Authenticating(Box<auth::Auth>),
    Ready(Box<Versions>),
}

#[derive(Debug)]
pub(super) struct BrokerConn {
    pub(super) node: i32,
    /// `host:port`, for error messages.
    pub(super) addr: String,
    pub(super) state: ConnState,
    pub(super) correlator: Correlator<Pending>,
    /// Send times of the requests awaiting an answer, oldest first (parallel to the
    /// correlator's queue).
    pub(super) sent_at: VecDeque<Instant>,
    /// When a request was last queued or an answer last arrived (`connections.max.idle.ms`).
    pub(super) last_used: Instant,
    /// The tracing span of each request awaiting an answer (parallel to `sent_at`): its answer
    /// is handled inside it.
    pub(super) request_spans: VecDeque<tracing::Span>,
    /// The connection's tracing span (broker id and address).
    pub(super) span: tracing::Span,
    pub(super) opened_at: Instant,
    pub(super) throttled_until: Option<Instant>,
    /// Correlation ids of requests sent expecting no answer (acks=0 Produce), newest last.
    /// Some brokers (Tansu) answer them anyway; such answers are skipped, not treated as a
    /// protocol violation.
    pub(super) unanswered: VecDeque<i32>,
    /// When the SASL session ends (KIP-368 `session_lifetime_ms`): re-authenticate before.
    pub(super) reauth_at: Option<Instant>,
    /// `reauth_at` passed: no new requests until the connection re-authenticated.
    pub(super) reauth_due: bool,
    /// `Io::Send`s queued on this connection, and how many the driver reported written.
    pub(super) sends_queued: u64,
    pub(super) sends_written: u64,
    /// acks=0 requests not yet written, with the number of their `Io::Send`: their batches
    /// are delivered when the driver reports the write (and count as in flight until then).
    pub(super) acks0: VecDeque<(u64, Vec<SentBatch>)>,
}

impl BrokerConn {
    /// A connection to `node` at `addr` being opened now.
    pub(super) fn new(node: i32, addr: String, span: tracing::Span, now: Instant) -> Self {
        BrokerConn {
            node,
            addr,
            span,
            request_spans: VecDeque::new(),
            last_used: now,
            state: ConnState::Connecting,
            correlator: Correlator::new(),
            sent_at: VecDeque::new(),
            opened_at: now,
            throttled_until: None,
            reauth_at: None,
            reauth_due: false,
            unanswered: VecDeque::new(),
            sends_queued: 0,
            sends_written: 0,
            acks0: VecDeque::new(),
        }
    }

    /// Requests awaiting an answer or (acks=0) their write.
    pub(super) fn in_flight(&self) -> usize {
        self.correlator.in_flight() + self.acks0.len()
    }

    /// Negotiated (and authenticated), with no re-authentication due: it can take requests.
    pub(super) fn is_ready(&self) -> bool {
        matches!(self.state, ConnState::Ready(_)) && !self.reauth_due
    }

    /// Who is at the other end, for error messages.
    pub(super) fn describe(&self) -> String {
        if self.node < 0 {
            format!("bootstrap broker {}", self.addr)
        } else {
            format!("broker {} ({})", self.node, self.addr)
        }
    }

    /// A request expecting an answer was queued now, to be answered inside `span`.
    pub(super) fn queued_answered(&mut self, span: tracing::Span, now: Instant) {
        self.request_spans.push_back(span);
        self.sent_at.push_back(now);
        self.last_used = now;
        self.sends_queued += 1;
    }

    /// Whether a request queued on this connection is not yet reported written.
    pub(super) fn has_unwritten(&self) -> bool {
        self.sends_queued > self.sends_written
    }

    /// A request expecting no answer (acks=0), with correlation id `id`, was queued now.
    /// Returns the number of its `Io::Send` on this connection.
    pub(super) fn queued_unanswered(&mut self, id: i32, now: Instant) -> u64 {
        self.unanswered.push_back(id);
        if self.unanswered.len() > MAX_UNANSWERED_IDS {
            self.unanswered.pop_front();
        }
        self.sends_queued += 1;
        self.last_used = now;
        self.sends_queued
    }

    /// Whether `frame` answers an acks=0 request (some brokers answer them anyway): nothing
    /// waits for it, and it is skipped.
    pub(super) fn skip_unanswered(&mut self, frame: &[u8]) -> bool {
        let Some(id) = ferrokafka_wire::frame::response_correlation_id(frame) else {
            return false;
        };
        match self.unanswered.iter().position(|&u| u == id) {
            Some(pos) => {
                self.unanswered.drain(..=pos);
                true
            }
            None => false,
        }
    }

    /// The oldest request's answer arrived now: its send time and tracing span.
    pub(super) fn answered(&mut self, now: Instant) -> (Option<Instant>, tracing::Span) {
        self.last_used = now;
        let sent = self.sent_at.pop_front();
        let span = self
            .request_spans
            .pop_front()
            .unwrap_or_else(tracing::Span::none);
        (sent, span)
    }

    /// The driver wrote one more `Io::Send` of this connection: the acks=0 batches now written.
    pub(super) fn written(&mut self) -> Vec<SentBatch> {
        self.sends_written += 1;
        let written = self.sends_written;
        let mut done = Vec::new();
        while self.acks0.front().is_some_and(|(n, _)| *n <= written) {
            done.extend(self.acks0.pop_front().expect("front checked").1);
        }
        done
    }

    /// The broker asked for `ms` of quiet (throttle_time_ms).
    pub(super) fn throttle(&mut self, ms: i32, now: Instant) {
        if ms > 0 {
            tracing::debug!(parent: &self.span, throttle_ms = ms, "throttled by the broker");
            self.throttled_until = Some(now + Duration::from_millis(ms as u64));
        }
    }

    /// When it may be closed as idle (`connections.max.idle.ms`): ready, nothing in flight or
    /// unwritten; `None` while it is busy.
    pub(super) fn idle_deadline(&self, max_idle: Duration) -> Option<Instant> {
        (self.is_ready()
            && self.sent_at.is_empty()
            && self.acks0.is_empty()
            && self.sends_written >= self.sends_queued)
            .then(|| self.last_used + max_idle)
    }
}

#[derive(Debug)]
pub(super) enum Pending {
    ApiVersions {
        version: i16,
    },
    Metadata,
    InitProducerId,
    Produce(Vec<SentBatch>),
    FindCoordinator(CoordinatorKind),
    AddPartitions,
    AddOffsets,
    TxnOffsetCommit,
    EndTxn {
        commit: bool,
        returns_identity: bool,
    },
    SaslHandshake,
    SaslAuthenticate,
}
