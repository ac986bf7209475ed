//! I/O inputs: what the driver reports (a connection opened, broke, answered, wrote, a timer
//! fired), each routed to the state machine it concerns.

use std::time::Instant;

use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::frame::EarlyAnswer;
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::{ApiVersionsRequest, ResponseBody};

use super::{ConnState, Engine, Pending};
use crate::event::ConnId;

impl Engine {
    /// The TCP connection `conn` is open.
    pub fn handle_connected(&mut self, conn: ConnId, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.state = ConnState::Negotiating;
        // The reconnect backoff resets once the connection is ready (negotiated, and
        // authenticated with SASL), not when TCP connects: a broker that refuses the handshake
        // must not be hammered.
        self.send_api_versions(conn, <ApiVersionsRequest as Message>::MAX_VERSION, now);
        self.dirty = true;
    }

    /// The connection failed to open, broke, or was closed by the peer.
    pub fn handle_disconnect(&mut self, conn: ConnId, now: Instant) {
        self.drop_conn(conn, now, false);
    }

    /// Like [`handle_disconnect`](Self::handle_disconnect), with what the driver saw (the
    /// connect error, a frame over the size limit, the peer closing), kept for error messages
    /// ([`last_connection_problem`](Self::last_connection_problem)).
    pub fn handle_broken(&mut self, conn: ConnId, reason: &str, now: Instant) {
        self.note_problem(conn, reason);
        self.drop_conn(conn, now, false);
    }

    /// One complete response frame (without its size prefix) arrived on `conn`.
    pub fn handle_frame(&mut self, conn: ConnId, frame: &[u8], now: Instant) {
        self.handle_frame_with(conn, frame, None, now);
    }

    /// [`handle_frame`](Self::handle_frame) with the frame perhaps decoded already, where the
    /// connection was read ([`EarlyAnswer`]: from the request frames this connection wrote): the
    /// decoding is used if it was made for the request the frame answers, else the frame is
    /// decoded here. A driver that hands frames in under a lock decodes outside it this way.
    pub fn handle_frame_with(
        &mut self,
        conn: ConnId,
        frame: &[u8],
        early: Option<EarlyAnswer>,
        now: Instant,
    ) {
        self.dirty = true;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.skip_unanswered(frame) {
            // An answer to an acks=0 request: nothing waits for it.
            return;
        }
        let matched = match c.correlator.match_response_with(frame, early) {
            Ok(m) => m,
            Err(e) => {
                self.note_problem(conn, &format!("answered out of step: {e}"));
                self.drop_conn(conn, now, true);
                return;
            }
        };
        let node = c.node;
        let (sent, request_span) = c.answered(now);
        let rtt = sent.map(|t| now.saturating_duration_since(t));
        for n in [
            &mut self.counters.network,
            self.counters.by_node.entry(node).or_default(),
        ] {
            n.responses += 1;
            n.incoming_bytes += frame.len() as u64 + 4;
            if let Some(rtt) = rtt {
                n.latency_total += rtt;
                n.latency_max = n.latency_max.max(rtt);
                n.latencies += 1;
            }
        }
        let _entered = request_span.enter();
        if let Some(sent) = sent {
            let rtt = now.saturating_duration_since(sent);
            self.counters.request_latency_total += rtt;
            self.counters.request_latency_max = self.counters.request_latency_max.max(rtt);
            self.counters.requests_timed += 1;
        }
        tracing::debug!(
            rtt_ms = sent.map(|t| now.saturating_duration_since(t).as_millis()),
            "answer received"
        );
        let body = match matched.response {
            Ok((_, body)) => body,
            Err(e) => {
                self.note_problem(
                    conn,
                    &format!(
                        "its {} v{} answer did not decode: {e}",
                        matched.api_key, matched.version
                    ),
                );
                // Its request is lost; treat it like a broken connection for it and
                // everything behind it.
                self.fail_pending(matched.context, now);
                self.drop_conn(conn, now, true);
                return;
            }
        };
        match (matched.context, body) {
            (Pending::ApiVersions { version }, ResponseBody::ApiVersions(resp)) => {
                self.handle_api_versions(conn, version, &resp, now);
            }
            (Pending::Metadata, ResponseBody::Metadata(resp)) => {
                if ErrorCode(resp.error_code) == ErrorCode::REBOOTSTRAP_REQUIRED {
                    // KIP-1102 (Metadata v13): this broker says our metadata is too stale.
                    self.metadata.handle_failure(now);
                    if self.config.rebootstrap {
                        self.start_rebootstrap("a broker answered REBOOTSTRAP_REQUIRED");
                    }
                    return;
                }
                let before = self.leaders_snapshot();
                self.metadata_wanted_since = None;
                self.counters.last_metadata_at = Some(now);
                if self.rebootstrapping {
                    tracing::info!(brokers = resp.brokers.len(), "rebootstrapped");
                    self.rebootstrapping = false;
                }
                self.metadata.handle_response_owned(resp, now);
                self.on_metadata_updated(&before);
            }
            (Pending::InitProducerId, ResponseBody::InitProducerId(resp)) => {
                self.init_in_flight = false;
                self.throttle(conn, resp.throttle_time_ms, now);
                if self.mode.is_transactional() {
                    self.handle_txn_init_producer_id(
                        resp.error_code,
                        resp.producer_id,
                        resp.producer_epoch,
                        now,
                    );
                } else {
                    self.handle_init_producer_id(
                        resp.error_code,
                        resp.producer_id,
                        resp.producer_epoch,
                    );
                }
            }
            (Pending::FindCoordinator(kind), ResponseBody::FindCoordinator(resp)) => {
                self.handle_find_coordinator(kind, &resp, now);
            }
            (Pending::AddPartitions, ResponseBody::AddPartitionsToTxn(resp)) => {
                self.handle_add_partitions(&resp, now);
            }
            (Pending::AddOffsets, ResponseBody::AddOffsetsToTxn(resp)) => {
                self.handle_add_offsets(&resp, now);
            }
            (Pending::TxnOffsetCommit, ResponseBody::TxnOffsetCommit(resp)) => {
                self.handle_txn_offset_commit(&resp, now);
            }
            (
                Pending::EndTxn {
                    commit,
                    returns_identity,
                },
                ResponseBody::EndTxn(resp),
            ) => {
                self.handle_end_txn(commit, returns_identity, &resp, now);
            }
            (Pending::SaslHandshake, ResponseBody::SaslHandshake(resp)) => {
                self.handle_sasl_handshake(conn, &resp, now);
            }
            (Pending::SaslAuthenticate, ResponseBody::SaslAuthenticate(resp)) => {
                self.handle_sasl_authenticate(conn, &resp, now);
            }
            (Pending::Produce(batches), ResponseBody::Produce(resp)) => {
                self.counters.produce_requests += 1;
                // Java's produce-throttle-time sensor records every Produce response's
                // throttle_time_ms (0 included); before v6 the broker delayed the answer instead.
                let throttle_ms = u64::try_from(resp.throttle_time_ms).unwrap_or(0);
                self.counters.produce_responses += 1;
                self.counters.produce_throttle_time_total_ms += throttle_ms;
                self.counters.produce_throttle_time_max_ms =
                    self.counters.produce_throttle_time_max_ms.max(throttle_ms);
                if matched.version >= 6 {
                    self.throttle(conn, resp.throttle_time_ms, now);
                }
                self.handle_produce_response(batches, resp, now);
            }
            (ctx, body) => {
                self.note_problem(
                    conn,
                    &format!(
                        "answered a {} request with {}",
                        matched.api_key,
                        body.api_key()
                    ),
                );
                self.fail_pending(ctx, now);
                self.drop_conn(conn, now, true);
            }
        }
    }

    /// The driver wrote one `Io::Send` of `conn` completely to its socket (reported in the
    /// order the sends were given). acks=0 batches are delivered here.
    pub fn handle_written(&mut self, conn: ConnId, now: Instant) {
        let _ = now;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let done = c.written();
        if done.is_empty() {
            return;
        }
        self.dirty = true;
        for b in done {
            self.sequence_done(&b, true);
            let expired = self.acc.complete(b.id).is_ok_and(|f| f.expired_in_flight);
            self.push_delivered(b.id, b.tp, None, None, b.record_count, expired);
        }
    }

    /// A timer armed at [`poll_timeout`](Self::poll_timeout) fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        self.dirty = true;
    }
}
