//! SASL on a connection: after ApiVersions, a SaslHandshake (v1) naming the mechanism, then
//! SaslAuthenticate rounds carrying the mechanism's messages ([`crate::sasl`]); nothing else
//! is sent until they succeed. KIP-368: when the broker gives the session a lifetime, the
//! connection stops taking new requests shortly before it ends, lets its requests drain, and
//! authenticates again on the same connection.
//!
//! A failure (mechanism not enabled, bad credentials, a server signature that does not verify)
//! drops the connection, which backs off like any connection that never became ready (no
//! handshake storm), and is remembered: `send` reports it at once, and records that cannot be
//! sent name it when `delivery.timeout.ms` runs out.

use std::time::{Duration, Instant};

use ferrokafka_wire::messages::{
    RequestBody, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use ferrokafka_wire::negotiate::Negotiated;
use ferrokafka_wire::{ApiKey, ErrorCode};

use super::{ConnState, Engine, Pending, Versions};
use crate::event::ConnId;
use crate::sasl::{Exchange, Mechanism, Step};

/// Bytes of entropy one SCRAM client nonce takes.
const NONCE_BYTES: usize = 24;

/// A connection's authentication in progress.
#[derive(Debug)]
pub(super) struct Auth {
    /// The versions negotiated by ApiVersions, restored once authenticated.
    versions: Box<Versions>,
    /// SaslAuthenticate version (0..=2; v1+ carries the session lifetime).
    authenticate_version: i16,
    exchange: Option<Exchange>,
    /// A KIP-368 re-authentication rather than the first one.
    reauth: bool,
    /// OAUTHBEARER: the handshake is done but no token has come from the driver yet.
    awaiting_token: bool,
}

impl Engine {
    /// Random bytes for SCRAM client nonces. The driver calls this with fresh bytes from the
    /// operating system (the engine draws no randomness itself); a SCRAM exchange takes 24.
    pub fn add_entropy(&mut self, bytes: &[u8]) {
        // Bounded: a driver calling this on every connection cannot grow it without limit.
        if self.entropy.len() < 16 * NONCE_BYTES {
            self.entropy.extend_from_slice(bytes);
        }
    }

    /// The OAUTHBEARER token for the next authentications (the driver refreshes it before it
    /// expires; a connection already authenticated keeps its session until re-authentication).
    pub fn set_oauth_token(&mut self, token: String, now: Instant) {
        self.oauth_token = Some(token);
        self.dirty = true;
        if self
            .auth_failure
            .as_deref()
            .is_some_and(|f| f.contains("token provider failed"))
        {
            self.auth_failure = None;
        }
        // Connections whose handshake waited for the first token go on now.
        let waiting: Vec<ConnId> = self
            .conns
            .iter_mut()
            .filter_map(|(&id, c)| match &mut c.state {
                ConnState::Authenticating(a) if a.awaiting_token => {
                    a.awaiting_token = false;
                    Some(id)
                }
                _ => None,
            })
            .collect();
        for conn in waiting {
            if let Some(token) = self.oauth_token.clone() {
                self.continue_exchange(conn, Exchange::oauth_bearer(&token), None, now);
            }
        }
    }

    /// The OAUTHBEARER token provider failed: authentications fail with this until a token
    /// comes (`send` reports it).
    pub fn set_oauth_token_error(&mut self, error: &str, now: Instant) {
        let failure =
            format!("SASL authentication failed: the OAUTHBEARER token provider failed: {error}");
        self.auth_failure = Some(failure.clone());
        // Connections waiting for a token give up (and back off) with that reason.
        let waiting: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(&c.state, ConnState::Authenticating(a) if a.awaiting_token))
            .map(|(&id, _)| id)
            .collect();
        for conn in waiting {
            self.fail_authentication(conn, &failure, now);
        }
    }

    /// The TLS handshake on `conn` failed (an untrusted or mismatched certificate, a refused
    /// client certificate): an authentication failure like a SASL one (Java's
    /// `SslAuthenticationException`), remembered for `send` and backed off.
    pub fn handle_tls_failed(&mut self, conn: ConnId, reason: &str, now: Instant) {
        self.fail_authentication(conn, &format!("TLS handshake failed: {reason}"), now);
    }

    /// Whether a SCRAM exchange needs entropy the driver has not given yet.
    pub fn needs_entropy(&self) -> bool {
        matches!(
            self.config.sasl.as_ref().map(|s| s.mechanism),
            Some(Mechanism::ScramSha256 | Mechanism::ScramSha512)
        ) && self.entropy.len() < NONCE_BYTES
    }

    pub(super) fn start_authentication(
        &mut self,
        conn: ConnId,
        versions: Box<Versions>,
        negotiated: &Negotiated,
        now: Instant,
    ) {
        let handshake = negotiated.version(ApiKey::SASL_HANDSHAKE);
        let authenticate = negotiated.version(ApiKey::SASL_AUTHENTICATE);
        let (Ok(1), Ok(authenticate_version)) = (handshake, authenticate) else {
            self.authentication_failed(
                conn,
                "the broker does not offer SaslHandshake v1 and SaslAuthenticate (Kafka 1.0+), \
                 which SASL needs",
                now,
            );
            return;
        };
        self.begin_handshake(
            conn,
            Auth {
                versions,
                authenticate_version,
                exchange: None,
                reauth: false,
                awaiting_token: false,
            },
            now,
        );
    }

    fn begin_handshake(&mut self, conn: ConnId, auth: Auth, now: Instant) {
        let Some(sasl) = &self.config.sasl else {
            return;
        };
        let body = RequestBody::SaslHandshake(SaslHandshakeRequest {
            mechanism: sasl.mechanism.name().to_owned(),
            ..Default::default()
        });
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Authenticating(Box::new(auth));
        }
        let _ = self.send_request_with(conn, &body, 1, Pending::SaslHandshake, now);
    }

    pub(super) fn handle_sasl_handshake(
        &mut self,
        conn: ConnId,
        resp: &SaslHandshakeResponse,
        now: Instant,
    ) {
        let Some(mechanism) = self.config.sasl.as_ref().map(|s| s.mechanism) else {
            return;
        };
        let code = ErrorCode(resp.error_code);
        if !code.is_none() {
            let offered = resp.mechanisms.join(", ");
            self.authentication_failed(
                conn,
                &format!(
                    "{mechanism} is not enabled on the broker ({code:?}; it offers: {offered})"
                ),
                now,
            );
            return;
        }
        if mechanism == Mechanism::OAuthBearer && self.oauth_token.is_none() {
            // The driver's first token is on its way: wait for it rather than fail.
            if let Some(c) = self.conns.get_mut(&conn)
                && let ConnState::Authenticating(a) = &mut c.state
            {
                a.awaiting_token = true;
            }
            return;
        }
        let exchange = match self.new_exchange(mechanism) {
            Ok(x) => x,
            Err(why) => {
                self.authentication_failed(conn, &why, now);
                return;
            }
        };
        self.continue_exchange(conn, exchange, None, now);
    }

    fn new_exchange(&mut self, mechanism: Mechanism) -> Result<Exchange, String> {
        let credentials = self
            .config
            .sasl
            .as_ref()
            .and_then(|s| s.credentials.clone());
        match mechanism {
            Mechanism::OAuthBearer => self
                .oauth_token
                .as_deref()
                .map(Exchange::oauth_bearer)
                .ok_or_else(|| "no OAUTHBEARER token available".to_owned()),
            Mechanism::Plain => credentials
                .map(|c| Exchange::plain(&c))
                .ok_or_else(|| "PLAIN needs sasl.username and sasl.password".to_owned()),
            _ => {
                let c = credentials
                    .ok_or_else(|| format!("{mechanism} needs sasl.username and sasl.password"))?;
                if self.entropy.len() < NONCE_BYTES {
                    return Err("no entropy for the SCRAM client nonce (add_entropy)".to_owned());
                }
                let nonce: Vec<u8> = self.entropy.drain(..NONCE_BYTES).collect();
                Ok(Exchange::scram(mechanism, &c, &nonce))
            }
        }
    }

    /// Sends the exchange's next message: its first one (`server` `None`) or its answer to the
    /// server's last; completes the authentication when the exchange is done.
    fn continue_exchange(
        &mut self,
        conn: ConnId,
        mut exchange: Exchange,
        server: Option<(&[u8], i64)>,
        now: Instant,
    ) {
        let step = match server {
            None => Ok(Step::Send(exchange.start())),
            Some((bytes, _)) => exchange.step(bytes),
        };
        match step {
            Ok(Step::Send(message)) => {
                let Some(version) = self.conns.get_mut(&conn).and_then(|c| match &mut c.state {
                    ConnState::Authenticating(a) => {
                        a.exchange = Some(exchange);
                        Some(a.authenticate_version)
                    }
                    _ => None,
                }) else {
                    return;
                };
                let body = RequestBody::SaslAuthenticate(SaslAuthenticateRequest {
                    auth_bytes: message.into(),
                    ..Default::default()
                });
                let _ =
                    self.send_request_with(conn, &body, version, Pending::SaslAuthenticate, now);
            }
            Ok(Step::Done) => {
                let lifetime = server.map_or(0, |(_, ms)| ms);
                self.authenticated(conn, lifetime, now);
            }
            Err(e) => self.authentication_failed(conn, &e.to_string(), now),
        }
    }

    pub(super) fn handle_sasl_authenticate(
        &mut self,
        conn: ConnId,
        resp: &SaslAuthenticateResponse,
        now: Instant,
    ) {
        let code = ErrorCode(resp.error_code);
        if !code.is_none() {
            let mechanism = self
                .config
                .sasl
                .as_ref()
                .map_or("SASL", |s| s.mechanism.name());
            let said = resp
                .error_message
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            self.authentication_failed(
                conn,
                &format!("{mechanism} authentication refused ({code:?}){said}"),
                now,
            );
            return;
        }
        let Some(exchange) = self.conns.get_mut(&conn).and_then(|c| match &mut c.state {
            ConnState::Authenticating(a) => a.exchange.take(),
            _ => None,
        }) else {
            return;
        };
        self.continue_exchange(
            conn,
            exchange,
            Some((&resp.auth_bytes, resp.session_lifetime_ms)),
            now,
        );
    }

    fn authenticated(&mut self, conn: ConnId, session_lifetime_ms: i64, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let ConnState::Authenticating(auth) =
            std::mem::replace(&mut c.state, ConnState::Negotiating)
        else {
            return;
        };
        let Auth {
            versions, reauth, ..
        } = *auth;
        c.state = ConnState::Ready(versions);
        c.reauth_due = false;
        // Re-authenticate at 90 % of the session (Java picks 85-95 %), leaving time for the
        // requests in flight to drain first.
        c.reauth_at = u64::try_from(session_lifetime_ms)
            .ok()
            .filter(|&ms| ms > 0)
            .map(|ms| now + Duration::from_millis(ms - ms / 10));
        tracing::debug!(
            parent: &c.span,
            mechanism = self.config.sasl.as_ref().map(|s| s.mechanism.name()),
            reauthentication = reauth,
            session_lifetime_ms,
            "authenticated"
        );
        if reauth {
            self.counters.reauthentications_succeeded += 1;
        } else {
            self.counters.authentications_succeeded += 1;
            self.connection_ready(conn);
        }
        self.auth_failure = None;
        self.dirty = true;
    }

    fn authentication_failed(&mut self, conn: ConnId, why: &str, now: Instant) {
        self.fail_authentication(conn, &format!("SASL authentication failed: {why}"), now);
    }

    fn fail_authentication(&mut self, conn: ConnId, what: &str, now: Instant) {
        if let Some(c) = self.conns.get(&conn) {
            tracing::warn!(parent: &c.span, problem = %what, "authentication failed");
        }
        self.note_problem(conn, what);
        // The broker and the cause, as `note_problem` wrote them.
        self.auth_failure = self.last_problem.clone();
        self.counters.authentications_failed += 1;
        self.drop_conn(conn, now, true);
        if let Some(reason) = self.auth_failure.clone() {
            self.txn_authentication_failed(&reason);
        }
    }

    /// KIP-368: connections whose session is about to end stop taking requests, and once
    /// nothing of theirs is in flight authenticate again.
    pub(super) fn reauthenticate_due(&mut self, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        let mut start = Vec::new();
        for (&id, c) in &mut self.conns {
            let Some(at) = c.reauth_at else {
                continue;
            };
            if now < at {
                wake_at(at);
                continue;
            }
            c.reauth_due = true;
            if c.in_flight() == 0 && matches!(c.state, ConnState::Ready(_)) {
                start.push(id);
            }
        }
        for id in start {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            c.reauth_at = None;
            let ConnState::Ready(versions) =
                std::mem::replace(&mut c.state, ConnState::Negotiating)
            else {
                continue;
            };
            let authenticate_version = versions.sasl_authenticate;
            self.begin_handshake(
                id,
                Auth {
                    versions,
                    authenticate_version,
                    exchange: None,
                    reauth: true,
                    awaiting_token: false,
                },
                now,
            );
        }
    }
}
