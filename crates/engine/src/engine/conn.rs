//! Connections and requests: opening, negotiating (ApiVersions), timing out and dropping
//! connections; encoding requests and queueing them as `Io::Send`.

use std::time::Instant;

use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::frame::encode_request_parts;
use ferrokafka_wire::messages::{
    ApiVersionsRequest, InitProducerIdRequest, MetadataRequest, RequestBody,
};

use super::{BrokerConn, ConnState, Engine, Pending, TxnCtx, bootstrap_node, duration_ms_i32};

/// Which deadline of a connection [`Engine::conn_deadline`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    /// `socket.connection.setup.timeout.ms`.
    Setup,
    /// `request.timeout.ms` of the oldest unanswered request.
    Request,
}
use crate::event::{ConnId, Frames, Io};
use ferrokafka_txn::FailureReason;
use ferrokafka_wire::ApiKey;

impl Engine {
    // ---------------------------------------------------------------- requests

    pub(super) fn send_api_versions(&mut self, conn: ConnId, version: i16, now: Instant) {
        let body = RequestBody::ApiVersions(ApiVersionsRequest::new(
            "ferrokafka",
            env!("CARGO_PKG_VERSION"),
        ));
        let _ = self.send_request_with(conn, &body, version, Pending::ApiVersions { version }, now);
    }

    pub(super) fn send_metadata(&mut self, conn: ConnId, req: MetadataRequest, now: Instant) {
        let version = match self.conns.get(&conn).map(|c| &c.state) {
            Some(ConnState::Ready(v)) => v.metadata.clone(),
            _ => return,
        };
        match version {
            Ok(v) if v >= 1 => {
                if self
                    .send_request_with(conn, &RequestBody::Metadata(req), v, Pending::Metadata, now)
                    .is_err()
                {
                    self.metadata.handle_failure(now);
                }
            }
            _ => self.metadata.handle_failure(now),
        }
    }

    pub(super) fn send_init_producer_id(&mut self, conn: ConnId, now: Instant) {
        let version = match self.conns.get(&conn).map(|c| &c.state) {
            Some(ConnState::Ready(v)) => v.init_producer_id.clone(),
            _ => return,
        };
        let Ok(version) = version else {
            self.fail_fatal(FailureReason::Unsupported {
                api: ApiKey::INIT_PRODUCER_ID,
            });
            return;
        };
        let req = InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: duration_ms_i32(self.config.transaction_timeout),
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        if self
            .send_request_with(
                conn,
                &RequestBody::InitProducerId(req),
                version,
                Pending::InitProducerId,
                now,
            )
            .is_ok()
        {
            self.init_in_flight = true;
        }
    }

    /// Encodes and queues a request expecting an answer. On failure hands the context back.
    pub(super) fn send_request_with(
        &mut self,
        conn: ConnId,
        body: &RequestBody,
        version: i16,
        pending: Pending,
        now: Instant,
    ) -> Result<(), Pending> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Err(pending);
        };
        let api = body.api_key();
        let id = c.correlator.register(api, version, true, pending);
        if let Ok(parts) = encode_request_parts(id, Some(&self.config.client_id), body, version) {
            let data = Frames::from(parts);
            let span = tracing::debug_span!(
                parent: &c.span,
                "kafka_request",
                api = %api,
                version,
                correlation_id = id
            );
            tracing::trace!(parent: &span, bytes = data.len(), "request queued");
            let node = c.node;
            note_request(&mut self.counters, node, data.len());
            c.queued_answered(span, now);
            self.io.push_back(Io::Send { conn, data });
            return Ok(());
        }
        // Encoding failed (a bug, or a value out of the version's range): the correlation id
        // is spent, so the connection cannot stay in step. Hand this request's context back
        // and fail the others as if the connection broke.
        let mut all = c.correlator.fail_all();
        let mine = all.pop().expect("just registered");
        c.sent_at.clear();
        c.request_spans.clear();
        tracing::warn!(parent: &c.span, api = %api, version, "request could not be encoded");
        for other in all {
            self.fail_pending(other, now);
        }
        self.drop_conn(conn, now, true);
        Err(mine)
    }

    /// Encodes and queues a request that gets no answer (acks=0 Produce).
    pub(super) fn send_unanswered(
        &mut self,
        conn: ConnId,
        body: &RequestBody,
        version: i16,
        now: Instant,
    ) -> Option<u64> {
        let c = self.conns.get_mut(&conn)?;
        // Not remembered: `expects_response = false`.
        let id = c
            .correlator
            .register(body.api_key(), version, false, Pending::Metadata);
        let Ok(parts) = encode_request_parts(id, Some(&self.config.client_id), body, version)
        else {
            return None;
        };
        let data = Frames::from(parts);
        tracing::trace!(
            parent: &c.span,
            api = %body.api_key(),
            version,
            correlation_id = id,
            "request queued (no answer expected)"
        );
        let send_no = c.queued_unanswered(id, now);
        let node = c.node;
        note_request(&mut self.counters, node, data.len());
        self.io.push_back(Io::Send { conn, data });
        Some(send_no)
    }

    // ---------------------------------------------------------------- connections

    pub(super) fn throttle(&mut self, conn: ConnId, ms: i32, now: Instant) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.throttle(ms, now);
        }
    }

    pub(super) fn ready_conn(&self, node: i32) -> Option<ConnId> {
        let conn = self.nodes.get(&node)?.conn?;
        self.conns.get(&conn).filter(|c| c.is_ready()).map(|_| conn)
    }

    pub(super) fn least_loaded_ready(&self, now: Instant) -> Option<ConnId> {
        self.least_loaded_ready_where(now, |_| true)
    }

    /// [`least_loaded_ready`](Self::least_loaded_ready) among the connections `usable` accepts.
    pub(super) fn least_loaded_ready_where(
        &self,
        now: Instant,
        usable: impl Fn(&BrokerConn) -> bool,
    ) -> Option<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| usable(c))
            .filter(|(_, c)| c.is_ready() && c.throttled_until.is_none_or(|t| t <= now))
            .filter(|(_, c)| c.in_flight() < self.config.max_in_flight_per_connection)
            .min_by_key(|(id, c)| (c.in_flight(), **id))
            .map(|(id, _)| *id)
    }

    /// Makes sure some connection is opening, for metadata or InitProducerId.
    pub(super) fn connect_any(&mut self, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        // Every usable connection may be throttled (client quotas throttle them all): look
        // again when the first throttle ends.
        if let Some(t) = self
            .conns
            .values()
            .filter_map(|c| c.throttled_until)
            .filter(|t| *t > now)
            .min()
        {
            wake_at(t);
        }
        // While rebootstrapping only a bootstrap server will do: a broker of the old metadata
        // that is still connecting (or ready) does not count.
        let rebootstrapping = self.rebootstrapping;
        if self
            .conns
            .values()
            .any(|c| !c.is_ready() && (!rebootstrapping || c.node < 0))
        {
            return; // one is on its way
        }
        let bootstrap: Vec<i32> = (0..self.config.bootstrap.len())
            .map(bootstrap_node)
            .collect();
        let mut candidates: Vec<i32> = self.metadata.cluster().brokers().map(|b| b.id).collect();
        if candidates.is_empty() || self.rebootstrapping {
            candidates.clone_from(&bootstrap);
        } else if self.config.rebootstrap
            && self.conns.is_empty()
            // Brokers that refuse our credentials are reachable: starting over from the
            // bootstrap servers would only add a second reconnect schedule.
            && self.auth_failure.is_none()
            && candidates.iter().all(|node| {
                self.nodes
                    .get(node)
                    .is_some_and(|s| s.failures > 0 && s.retry_at.is_some_and(|t| t > now))
            })
        {
            // KIP-899: no broker of the last known metadata can be reached (each failed and
            // waits for its backoff): start over from the bootstrap servers.
            self.start_rebootstrap("no broker of the known metadata is reachable");
            candidates = bootstrap;
        }
        let n = candidates.len();
        let mut earliest: Option<Instant> = None;
        for k in 0..n {
            let node = candidates[(self.bootstrap_cursor + k) % n];
            let retry_at = self.nodes.get(&node).and_then(|s| s.retry_at);
            if retry_at.is_none_or(|t| t <= now) {
                self.bootstrap_cursor = (self.bootstrap_cursor + k + 1) % n;
                self.ensure_connecting(node, now);
                return;
            }
            earliest =
                Some(earliest.map_or(retry_at.unwrap(), |e: Instant| e.min(retry_at.unwrap())));
        }
        if let Some(t) = earliest {
            wake_at(t);
        }
    }

    pub(super) fn ensure_connecting(&mut self, node: i32, now: Instant) {
        let addr = if node < 0 {
            self.config
                .bootstrap
                .get((-node - 1) as usize)
                .map(|b| (b.host.clone(), b.port))
        } else {
            self.metadata
                .cluster()
                .broker(node)
                .map(|b| (b.host.clone(), b.port))
                .or_else(|| self.extra_addresses.get(&node).cloned())
        };
        let Some((host, port)) = addr else {
            return;
        };
        let state = self.nodes.entry(node).or_default();
        if state.conn.is_some() || state.retry_at.is_some_and(|t| t > now) {
            return;
        }
        self.next_conn += 1;
        self.counters.connections_created += 1;
        let id = ConnId(self.next_conn);
        state.conn = Some(id);
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let span =
            tracing::debug_span!("kafka_connection", broker = node, addr = %addr, conn = id.0);
        tracing::debug!(parent: &span, "connecting");
        self.conns
            .insert(id, BrokerConn::new(node, addr, span, now));
        self.io.push_back(Io::Connect {
            conn: id,
            host,
            port,
        });
    }

    /// Closes connections past a deadline (see [`conn_deadline`](Self::conn_deadline)) and
    /// idle ones. The wakes for the deadlines still ahead are set at the end of the round
    /// ([`wake_for_conn_deadlines`](Self::wake_for_conn_deadlines)).
    pub(super) fn check_timeouts(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut idle = Vec::new();
        for (&id, c) in &self.conns {
            // `connections.max.idle.ms`: nothing in flight, nothing unwritten, no request since.
            if c.idle_deadline(self.config.connections_max_idle)
                .is_some_and(|deadline| deadline <= now)
            {
                idle.push(id);
                continue;
            }
            if let Some((deadline, which)) = self.conn_deadline(c)
                && deadline <= now
            {
                expired.push((id, which));
            }
        }
        for (id, which) in expired {
            let what = match which {
                Deadline::Setup => format!(
                    "connection not set up within socket.connection.setup.timeout.ms ({} ms)",
                    self.config.connection_setup_timeout.as_millis()
                ),
                Deadline::Request => {
                    match self.conns.get(&id).and_then(|c| c.correlator.oldest()) {
                        Some((api, version)) => format!(
                            "no answer to {api} v{version} within request.timeout.ms ({} ms)",
                            self.config.request_timeout.as_millis()
                        ),
                        None => format!(
                            "no answer within request.timeout.ms ({} ms)",
                            self.config.request_timeout.as_millis()
                        ),
                    }
                }
            };
            self.note_problem(id, &what);
            self.drop_conn(id, now, true);
        }
        for id in idle {
            self.close_idle(id);
        }
    }

    /// When `c` is given up on unless something happens first: the end of its setup while it
    /// connects, else `request.timeout.ms` after its oldest unanswered request was queued.
    fn conn_deadline(&self, c: &BrokerConn) -> Option<(Instant, Deadline)> {
        match c.state {
            ConnState::Connecting => Some((
                c.opened_at + self.config.connection_setup_timeout,
                Deadline::Setup,
            )),
            _ => c
                .sent_at
                .front()
                .map(|&sent| (sent + self.config.request_timeout, Deadline::Request)),
        }
    }

    /// Wakes for every connection's deadlines as they stand at the end of a round (a request
    /// queued or a connection opened during the round starts its clock after
    /// [`check_timeouts`](Self::check_timeouts) looked, and nothing else may come to run a
    /// round before that deadline: a broker that never answers).
    pub(super) fn wake_for_conn_deadlines(&self, wake_at: &mut impl FnMut(Instant)) {
        for c in self.conns.values() {
            if let Some(deadline) = c.idle_deadline(self.config.connections_max_idle) {
                wake_at(deadline);
            }
            if let Some((deadline, _)) = self.conn_deadline(c) {
                wake_at(deadline);
            }
        }
    }

    /// Closes a connection idle for `connections.max.idle.ms`. Unlike a broken one it costs its
    /// broker no reconnect backoff and says nothing about leaders: the next request to the
    /// broker simply opens a new one.
    fn close_idle(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        tracing::debug!(
            parent: &c.span,
            idle_ms = self.config.connections_max_idle.as_millis(),
            "closing an idle connection (connections.max.idle.ms)"
        );
        self.counters.connections_closed += 1;
        self.io.push_back(Io::Close { conn });
        if let Some(node) = self.nodes.get_mut(&c.node)
            && node.conn == Some(conn)
        {
            node.conn = None;
        }
        self.dirty = true;
    }

    /// Remembers why the engine gave up on `conn` (the broker and what went wrong), for the
    /// errors of records that could not be sent because of it.
    pub(super) fn note_problem(&mut self, conn: ConnId, what: &str) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        tracing::info!(parent: &c.span, problem = %what, "giving up on the connection");
        self.last_problem = Some(format!("{}: {what}", c.describe()));
    }

    /// Forgets a connection: its unanswered requests fail (retriable), its node backs off.
    pub(super) fn drop_conn(&mut self, conn: ConnId, now: Instant, close: bool) {
        let Some(mut c) = self.conns.remove(&conn) else {
            return;
        };
        tracing::debug!(
            parent: &c.span,
            unanswered = c.sent_at.len(),
            "connection closed"
        );
        self.counters.connections_closed += 1;
        self.dirty = true;
        if close {
            self.io.push_back(Io::Close { conn });
        }
        let never_ready = !c.is_ready();
        if let Some(node) = self.nodes.get_mut(&c.node)
            && node.conn == Some(conn)
        {
            node.conn = None;
            if never_ready {
                node.failures = node.failures.saturating_add(1);
            }
            let exp = node.failures.saturating_sub(1).min(20);
            let backoff = self
                .config
                .reconnect_backoff
                .saturating_mul(1u32 << exp.min(16))
                .min(self.config.reconnect_backoff_max);
            node.retry_at = Some(now + backoff);
        }
        for pending in c.correlator.fail_all() {
            self.fail_pending(pending, now);
        }
        for (_, batches) in c.acks0.drain(..) {
            // Never written: sent again like any batch of a broken connection.
            self.requeue_or_fail(batches, ErrorCode::NETWORK_EXCEPTION, None, now);
        }
        if let Some(t) = self.mode.txn_mut() {
            // A coordinator that cannot be reached is looked up again (it may have moved).
            t.forget_coordinator_node(c.node);
        }
        // Any disconnect may mean the leader moved.
        self.metadata.request_update();
    }

    pub(super) fn fail_pending(&mut self, pending: Pending, now: Instant) {
        match pending {
            Pending::ApiVersions { .. } => {}
            Pending::Metadata => self.metadata.handle_failure(now),
            Pending::InitProducerId => {
                self.init_in_flight = false;
                if self.mode.is_transactional() {
                    self.txn_request_lost(None, now);
                }
            }
            Pending::Produce(batches) => {
                self.requeue_or_fail(batches, ErrorCode::NETWORK_EXCEPTION, None, now);
            }
            Pending::FindCoordinator(_) | Pending::EndTxn { .. } | Pending::AddOffsets => {
                self.txn_request_lost(None, now);
            }
            // The connection is dropped with them; the next one authenticates again.
            Pending::SaslHandshake | Pending::SaslAuthenticate => {}
            Pending::AddPartitions => {
                // The partitions are asked for again.
                if let Some(m) = self.mode.manager_mut() {
                    let _ = m.handle_add_partitions([ErrorCode::NOT_COORDINATOR]);
                }
                self.txn_request_lost(None, now);
            }
            Pending::TxnOffsetCommit => {
                let group = self
                    .mode
                    .txn()
                    .and_then(TxnCtx::offsets_group)
                    .map(str::to_owned);
                self.txn_request_lost(group.as_deref(), now);
            }
        }
    }
}

/// Counts a request of `bytes` (size prefix included) to `node`, overall and per node.
fn note_request(counters: &mut crate::metrics::Counters, node: i32, bytes: usize) {
    let bytes = bytes as u64;
    for n in [
        &mut counters.network,
        counters.by_node.entry(node).or_default(),
    ] {
        n.requests += 1;
        n.outgoing_bytes += bytes;
        n.request_bytes_max = n.request_bytes_max.max(bytes);
    }
}
