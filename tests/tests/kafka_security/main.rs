//! The ferrokafka `Producer` over TLS and SASL against Apache Kafka 4.4.0 (issue 13's evidence):
//! one single-node cluster per run of this binary (`ferrokafka_tests::security::shared`) with a
//! listener per security setup, certificates made by the harness (rcgen), SCRAM users created at
//! format time, OAUTHBEARER checked by Kafka's unsecured JWT validator.
//!
//! Every producer is configured through the public config API with the Java (and librdkafka)
//! property names only. What it writes is read back by librdkafka (`consume::read_back_with`)
//! through the same listener with the same credentials; the first test checks the cluster itself
//! with librdkafka's producer, so a failure there is the harness's, not ferrokafka's.
//!
//! - SSL with every trust form (`ssl.ca.location`, `ssl.ca.pem`, `ssl.truststore.location` with
//!   `ssl.truststore.type=PEM`, `ssl.truststore.certificates`); mTLS with every client-identity
//!   form (certificate and key files, PEM strings, a Java PEM keystore file, inline keystore
//!   key and chain, an encrypted PKCS#8 key with `ssl.key.password`);
//! - SASL_PLAINTEXT and SASL_SSL × PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (`sasl.username` /
//!   `sasl.password` and `sasl.jaas.config`), OAUTHBEARER (`sasl.oauthbearer.config` and
//!   `sasl.jaas.config` with `unsecuredLoginStringClaim_sub`); transactions over SASL_SSL;
//! - failures: wrong password, unknown user, mechanism not enabled, untrusted CA, hostname
//!   mismatch, expired client certificate, no client certificate on an mTLS listener: each a
//!   clear error from `send` within `max.block.ms` (the text names the problem), no panic, a
//!   bounded number of connections (`connection-creation-total`), and a new producer with the
//!   right configuration then works; hostname checks off (`ssl.endpoint.identification.algorithm`
//!   empty) and verification off (`enable.ssl.certificate.verification=false`) connect;
//!   `init_transactions` with a wrong password fails with the authentication error; a SCRAM
//!   credential deleted through the Admin client while a producer runs makes its
//!   re-authentication fail and its queued records expire naming the authentication failure;
//!   bootstrapping by host name (`localhost`) checks the DNS name of the certificate;
//! - KIP-368 re-authentication: with `connections.max.reauth.ms` at 2.5 s on the broker, a
//!   producer sending for several session lifetimes loses nothing, re-authenticates
//!   (`successful-reauthentication-total` ≥ 2) and keeps its connections, for each mechanism,
//!   also with Produce requests pipelined and with transactions committed across lifetimes;
//! - secrets stay out of `Debug` output and errors; a wrong `ssl.key.password` names the key;
//!   JKS and PKCS12 stores are refused naming PEM; the CLI produces over SASL_SSL from a Java
//!   `client.properties` file (`-F`); the built-in OIDC client-credentials provider against a
//!   loopback token endpoint.
//!
//! Observed error texts (ferrokafka at the time of writing), for the record:
//! `bootstrap broker 127.0.0.1:P: SASL authentication failed: SCRAM-SHA-256 authentication
//! refused (SASL_AUTHENTICATION_FAILED(58)): Authentication failed during authentication due to
//! invalid credentials with SASL mechanism SCRAM-SHA-256`; `... SCRAM-SHA-256 is not enabled on
//! the broker (UNSUPPORTED_SASL_MECHANISM(33); it offers: PLAIN)`; `... TLS handshake failed:
//! invalid peer certificate: UnknownIssuer`; `... certificate not valid for name "127.0.0.1";
//! certificate is only valid for DnsName("wrong-host.invalid")`; an expired client certificate:
//! `... received fatal alert: CertificateUnknown` (Kafka's answer; with no client certificate
//! it is `BadCertificate`).
//!
//! Modules by theme: `listeners` (the cluster with librdkafka, TLS, SASL, host names),
//! `failures` (clear, bounded failures), `reauth` (KIP-368 re-authentication, a revoked
//! credential), `secrets` (secrets and key formats, tracing output), `cli_oidc` (the CLI and the
//! OIDC provider).

use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_tests::consume::{Consumed, Isolation, read_back_with};
use ferrokafka_tests::kafka::JavaHelper;
use ferrokafka_tests::security::{Listener, PASSWORD, SecureKafka, USER, shared};

mod cli_oidc;
mod failures;
mod listeners;
mod reauth;
mod secrets;

const WAIT: Duration = Duration::from_secs(60);
/// `max.block.ms` of the producers that are meant to fail.
const FAIL_BLOCK_MS: &str = "3000";
/// Upper bound for a failing call: far above `max.block.ms`, only a guard against hangs.
const FAIL_GUARD: Duration = Duration::from_secs(45);
/// At most this many connections while failing for 3 s with the default reconnect backoff
/// (50 ms doubling to 1 s: about 7 attempts).
const MAX_FAILING_CONNECTIONS: f64 = 10.0;

type Props = Vec<(String, String)>;

fn kafka() -> &'static SecureKafka {
    shared()
}

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// Creates a topic (through PLAINTEXT) and waits until its leaders serve it.
async fn create(topic: &str, partitions: u32) {
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        kafka()
            .create_topic(&topic, partitions)
            .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
        let empty = JavaHelper::shared()
            .expect("java helper")
            .consume(
                &kafka().plaintext_bootstrap(),
                &topic,
                Isolation::ReadUncommitted,
                0,
                WAIT,
            )
            .unwrap_or_else(|e| panic!("wait for the leaders of {topic}: {e}"));
        assert!(empty.is_empty(), "new topic {topic} holds {empty:?}");
    })
    .await
    .expect("create thread");
}

/// A producer for `listener` with `extra` settings; a configuration the producer refuses is a
/// test failure naming the error.
fn producer(listener: Listener, extra: &Props) -> Producer {
    let mut all = props(&[("bootstrap.servers", &kafka().bootstrap(listener))]);
    all.extend(extra.iter().cloned());
    let config = ProducerConfig::from_properties(all.iter().map(|(k, v)| (k, v)))
        .unwrap_or_else(|e| panic!("config for {}: {e}", listener.name()));
    Producer::new(config).unwrap_or_else(|e| panic!("producer for {}: {e}", listener.name()))
}

/// The TLS trust every SSL test uses unless it says otherwise.
fn trust_ca() -> Props {
    props(&[("ssl.ca.location", &path(&kafka().files().ca))])
}

/// ferrokafka settings for SASL with `mechanism` as [`USER`] on `listener` (username and
/// password, or librdkafka's unsecured-JWT `sasl.oauthbearer.config` for OAUTHBEARER).
fn sasl(listener: Listener, mechanism: &str) -> Props {
    let mut p = props(&[
        ("security.protocol", listener.protocol()),
        ("sasl.mechanism", mechanism),
    ]);
    if mechanism == "OAUTHBEARER" {
        p.extend(props(&[(
            "sasl.oauthbearer.config",
            &format!("principal={USER}"),
        )]));
    } else {
        p.extend(props(&[
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
        ]));
    }
    if listener.tls() {
        p.extend(trust_ca());
    }
    p
}

/// Sends `n` keyed records to partition 0 of `topic`, awaits every delivery.
async fn produce(p: &Producer, topic: &str, label: &str, n: usize) -> Vec<(String, String)> {
    let mut sent = Vec::with_capacity(n);
    let mut futures = Vec::with_capacity(n);
    for i in 0..n {
        let (k, v) = (format!("{label}-k{i}"), format!("{label}-v{i}"));
        let f = tokio::time::timeout(
            WAIT,
            p.send(
                ProducerRecord::new(topic)
                    .with_partition(0)
                    .with_key(k.clone())
                    .with_value(v.clone()),
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{label}: send #{i} did not return within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("{label}: send #{i}: {e}"));
        futures.push(f);
        sent.push((k, v));
    }
    for (i, f) in futures.into_iter().enumerate() {
        tokio::time::timeout(WAIT, f)
            .await
            .unwrap_or_else(|_| panic!("{label}: delivery #{i} did not resolve within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("{label}: delivery #{i}: {e}"));
    }
    sent
}

fn key_values(records: &[Consumed]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| {
            let s = |b: &Option<Vec<u8>>| {
                String::from_utf8_lossy(b.as_deref().unwrap_or(b"-")).into_owned()
            };
            (s(&r.key), s(&r.value))
        })
        .collect()
}

/// Reads `topic` with librdkafka through `listener` with `mechanism` (ignored on SSL
/// listeners) and the CA trusted.
async fn read_back(
    listener: Listener,
    mechanism: &str,
    topic: &str,
    expected: usize,
    isolation: Isolation,
) -> Vec<Consumed> {
    let client = kafka().rdkafka_props(listener, mechanism);
    let topic = topic.to_string();
    let label = format!("{} {mechanism}", listener.name());
    tokio::task::spawn_blocking(move || {
        read_back_with(&client, &topic, expected, WAIT, isolation)
            .unwrap_or_else(|e| panic!("librdkafka read-back of {topic} over {label}: {e}"))
    })
    .await
    .expect("read-back thread")
}

/// Produces `n` records through a producer built from `extra`, closes it, reads them back with
/// librdkafka over the same listener and compares.
async fn round_trip(listener: Listener, mechanism: &str, label: &str, extra: &Props, n: usize) {
    let topic = format!("sec-{label}");
    create(&topic, 1).await;
    let p = producer(listener, extra);
    let sent = produce(&p, &topic, label, n).await;
    let auth = p.metrics().get("successful-authentication-total");
    p.close(WAIT).await;
    let read = read_back(listener, mechanism, &topic, n, Isolation::ReadUncommitted).await;
    assert_eq!(key_values(&read), sent, "{label}: records read back");
    if !listener.mechanisms().is_empty() {
        assert!(
            auth.is_some_and(|a| a >= 1.0),
            "{label}: successful-authentication-total is {auth:?} after producing over SASL"
        );
    }
}

/// Sets `key` to `value` in `p`, replacing what it had.
fn set(p: &mut Props, key: &str, value: &str) {
    p.retain(|(k, _)| k != key);
    p.push((key.to_string(), value.to_string()));
}

/// `security.protocol=SSL` with the CA trusted ([`trust_ca`]).
fn ssl_trusting_ca() -> Props {
    let mut p = trust_ca();
    p.extend(props(&[("security.protocol", "SSL")]));
    p
}

/// A new producer for `listener` with `extra` sends `n` records to `topic` ([`produce`]), all
/// delivered, and is closed.
async fn produce_and_close(listener: Listener, extra: &Props, topic: &str, label: &str, n: usize) {
    let p = producer(listener, extra);
    produce(&p, topic, label, n).await;
    p.close(WAIT).await;
}
