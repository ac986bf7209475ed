//! SASL: PLAIN, SCRAM and OAUTHBEARER authentication, failures and re-authentication.

use crate::*;

/// The fake does not authenticate: this hook plays a broker's SASL side in front of it —
/// ApiVersions offering the SASL APIs, the mechanisms it enables, the one secret it accepts
/// (PLAIN: the password of "alice"; OAUTHBEARER: the token), and the session lifetime it
/// grants (KIP-368, 0: none).
pub(crate) fn sasl_hook(
    enabled: &'static [&'static str],
    password: &'static str,
    lifetime_ms: i64,
) -> impl FnMut(&RequestHeader, &RequestBody) -> Intercept {
    move |h, body| match body {
        RequestBody::ApiVersions(_) => {
            let sasl = [
                (ApiKey::SASL_HANDSHAKE, 0, 1),
                (ApiKey::SASL_AUTHENTICATE, 0, 2),
            ];
            let api_keys = DEFAULT_API_VERSIONS.iter().chain(&sasl);
            Intercept::Answer(ResponseBody::ApiVersions(ApiVersionsResponse {
                api_keys: api_keys
                    .map(|&(k, min, max)| ApiVersion::new(k, min, max))
                    .collect(),
                ..Default::default()
            }))
        }
        RequestBody::SaslHandshake(req) => {
            let ok = enabled.contains(&req.mechanism.as_str());
            Intercept::Answer(ResponseBody::SaslHandshake(SaslHandshakeResponse {
                error_code: if ok {
                    0
                } else {
                    ErrorCode::UNSUPPORTED_SASL_MECHANISM.0
                },
                mechanisms: enabled.iter().map(|m| (*m).to_owned()).collect(),
                ..Default::default()
            }))
        }
        RequestBody::SaslAuthenticate(req) => {
            let ok = if enabled.contains(&"OAUTHBEARER") {
                req.auth_bytes.as_ref()
                    == format!("n,,\x01auth=Bearer {password}\x01\x01").as_bytes()
            } else {
                req.auth_bytes.as_ref() == format!("\0alice\0{password}").as_bytes()
            };
            Intercept::Answer(ResponseBody::SaslAuthenticate(SaslAuthenticateResponse {
                error_code: if ok {
                    0
                } else {
                    ErrorCode::SASL_AUTHENTICATION_FAILED.0
                },
                error_message: (!ok)
                    .then(|| "Authentication failed: Invalid username or password".to_owned()),
                session_lifetime_ms: if ok && h.api_version >= 1 {
                    lifetime_ms
                } else {
                    0
                },
                ..Default::default()
            }))
        }
        _ => Intercept::Pass,
    }
}

pub(crate) fn sasl_config(mechanism: Mechanism, password: &str) -> EngineConfig {
    let mut c = config();
    c.sasl = Some(SaslConfig::new(
        mechanism,
        Some(Credentials {
            username: "alice".into(),
            password: password.into(),
        }),
    ));
    c
}

pub(crate) fn sasl_sim(
    config: EngineConfig,
    hook: impl FnMut(&RequestHeader, &RequestBody) -> Intercept + 'static,
) -> Sim {
    let mut sim = Sim::new(config, brokers(1).topic("t", 1));
    sim.hook(hook);
    sim
}

#[test]
fn plain_authenticates_every_connection_before_anything_else() {
    let c = sasl_config(Mechanism::Plain, "right");
    let mut sim = sasl_sim(c, sasl_hook(&["PLAIN"], "right", 0));
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(ms(50));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    let order = sim.order();
    // Each connection: ApiVersions, SaslHandshake, SaslAuthenticate, then its requests.
    let first_other = order
        .iter()
        .position(|k| *k == ApiKey::METADATA)
        .expect("metadata");
    assert_eq!(
        &order[..first_other],
        &[
            ApiKey::API_VERSIONS,
            ApiKey::SASL_HANDSHAKE,
            ApiKey::SASL_AUTHENTICATE
        ]
    );
    let c = sim.net.engine.counters();
    assert_eq!(c.authentications_succeeded, c.connections_created);
    assert_eq!(c.authentications_failed, 0);
    assert_eq!(sim.values("t", 0), ["x"]);
}

#[test]
fn a_wrong_password_fails_send_at_once_and_reconnects_back_off() {
    let mut c = sasl_config(Mechanism::Plain, "wrong");
    c.reconnect_backoff = ms(50);
    c.reconnect_backoff_max = secs(1);
    let mut sim = sasl_sim(c, sasl_hook(&["PLAIN"], "right", 0));
    let since = sim.net.now;
    assert!(matches!(
        sim.net.engine.append(&record("t", b"x"), sim.net.now),
        Err(SendError::TopicPending(_))
    ));
    sim.run_for(ms(20));
    let err = sim
        .net
        .engine
        .check_topic("t", since, MAX_BLOCK, sim.net.now)
        .expect_err("authentication failed");
    let text = err.to_string();
    assert!(matches!(err, SendError::Authentication(_)), "{err:?}");
    assert!(text.contains("bootstrap broker b1:9092"), "{text}");
    assert!(text.contains("PLAIN authentication refused"), "{text}");
    assert!(text.contains("Invalid username or password"), "{text}");
    assert!(!text.contains("wrong"), "the password stays out: {text}");
    // Ten seconds of retrying: exponential backoff up to 1 s, not a storm.
    sim.run_for(secs(10));
    let c = sim.net.engine.counters();
    assert!(
        (5..=20).contains(&c.connections_created),
        "{} connections",
        c.connections_created
    );
    assert_eq!(c.authentications_failed, c.connections_created);
    assert_eq!(c.authentications_succeeded, 0);
    assert_eq!(sim.served(ApiKey::METADATA), 0, "nothing passed the hook");
}

#[test]
fn a_mechanism_the_broker_does_not_enable_is_named_with_what_it_offers() {
    let hook = sasl_hook(&["PLAIN", "SCRAM-SHA-256"], "x", 0);
    let mut sim = sasl_sim(sasl_config(Mechanism::ScramSha512, "x"), hook);
    sim.net.engine.add_entropy(&[7; 24]);
    let since = sim.net.now;
    let _ = sim.net.engine.append(&record("t", b"x"), sim.net.now);
    sim.run_for(ms(20));
    let text = sim
        .net
        .engine
        .check_topic("t", since, MAX_BLOCK, sim.net.now)
        .expect_err("not enabled")
        .to_string();
    assert!(
        text.contains("SCRAM-SHA-512 is not enabled on the broker"),
        "{text}"
    );
    assert!(text.contains("PLAIN, SCRAM-SHA-256"), "{text}");
}

#[test]
fn sessions_are_reauthenticated_before_they_end_without_losing_records() {
    let hook = sasl_hook(&["PLAIN"], "right", 1_000);
    let mut sim = sasl_sim(sasl_config(Mechanism::Plain, "right"), hook);
    let mut ids = Vec::new();
    for i in 0..50 {
        let (b, _, _) = sim.append("t", None, format!("r{i}").as_bytes());
        ids.push(b);
        sim.run_for(ms(100));
    }
    sim.run_for(ms(200));
    let delivered = sim.delivered();
    assert!(
        ids.iter().all(|b| delivered.contains_key(b)),
        "{:?}",
        sim.failed()
    );
    let want: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
    assert_eq!(sim.values("t", 0), want);
    let c = sim.net.engine.counters();
    // 5 s of sessions lasting 1 s, re-authenticated at 900 ms: several times on each
    // connection (bootstrap and leader are one broker here, one or two connections).
    assert!(
        c.reauthentications_succeeded >= 4,
        "{} re-authentications",
        c.reauthentications_succeeded
    );
    assert_eq!(c.authentications_failed, 0);
}

#[test]
fn oauthbearer_waits_for_the_first_token_then_authenticates_with_it() {
    let hook = sasl_hook(&["OAUTHBEARER"], "the-token", 0);
    let mut c = config();
    c.sasl = Some(SaslConfig::new(Mechanism::OAuthBearer, None));
    let mut sim = sasl_sim(c, hook);
    let since = sim.net.now;
    let _ = sim.net.engine.append(&record("t", b"x"), sim.net.now);
    sim.run_for(ms(200));
    // The handshake is done, the connection waits for a token; nothing failed.
    assert_eq!(
        sim.order().last(),
        Some(&ApiKey::SASL_HANDSHAKE),
        "{:?}",
        sim.order()
    );
    assert!(
        sim.net
            .engine
            .check_topic("t", since, MAX_BLOCK, sim.net.now)
            .is_ok()
    );
    assert_eq!(sim.net.engine.counters().authentications_failed, 0);
    sim.net
        .engine
        .set_oauth_token("the-token".into(), sim.net.now);
    let (b, _, _) = sim.append("t", None, b"y");
    sim.run_for(ms(50));
    assert!(sim.delivered().contains_key(&b), "{:?}", sim.events);
    let c = sim.net.engine.counters();
    assert_eq!(c.authentications_succeeded, c.connections_created);
    assert_eq!(c.authentications_failed, 0);
}
