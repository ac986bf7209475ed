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

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_tests::consume::{Consumed, Isolation, read_back_with};
use ferrokafka_tests::kafka::JavaHelper;
use ferrokafka_tests::paths::cli_binary;
use ferrokafka_tests::producing::metric;
use ferrokafka_tests::security::{
    CLIENT_KEY_PASSWORD, Listener, MECHANISMS, OTHER_USER, PASSWORD, SecureKafka, USER, shared,
};

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

/// A producer with `extra` (and `max.block.ms` of [`FAIL_BLOCK_MS`]) must fail its first `send`
/// to `topic` with an error whose text contains every one of `words` (case-insensitive); it must
/// not open more than [`MAX_FAILING_CONNECTIONS`] connections meanwhile. Returns the error text.
async fn expect_failure(
    listener: Listener,
    extra: &Props,
    topic: &str,
    label: &str,
    words: &[&str],
) -> String {
    let mut all = extra.clone();
    all.extend(props(&[("max.block.ms", FAIL_BLOCK_MS)]));
    let p = producer(listener, &all);
    let outcome = tokio::time::timeout(
        FAIL_GUARD,
        p.send(ProducerRecord::new(topic).with_key("k").with_value("v")),
    )
    .await
    .unwrap_or_else(|_| panic!("{label}: send neither failed nor succeeded within {FAIL_GUARD:?}"));
    let error = match outcome {
        Ok(delivery) => {
            // Queued after all: the delivery must fail instead (delivery.timeout.ms bounds it).
            let resolved = tokio::time::timeout(FAIL_GUARD, delivery)
                .await
                .unwrap_or_else(|_| panic!("{label}: the record was queued and never resolved"));
            match resolved {
                Ok(md) => panic!("{label}: the record was delivered ({md:?}) despite {words:?}"),
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    let text = error.to_string();
    let lower = text.to_lowercase();
    for word in words {
        assert!(
            lower.contains(&word.to_lowercase()),
            "{label}: the error does not mention {word:?}: {text}"
        );
    }
    // The producer stays open for another max.block.ms after the failure: whatever it retries
    // in the background must back off (the count is an upper bound, not a timing).
    tokio::time::sleep(Duration::from_millis(FAIL_BLOCK_MS.parse().expect("ms"))).await;
    let connections = metric(&p, "connection-creation-total");
    assert!(
        connections <= MAX_FAILING_CONNECTIONS,
        "{label}: {connections} connections opened within about twice {FAIL_BLOCK_MS} ms of \
         failing (a reconnect storm): {text}"
    );
    assert!(connections >= 1.0, "{label}: no connection was ever tried");
    // As in Java, a refused TLS handshake and an unsupported mechanism are authentication
    // failures too (SslAuthenticationException, UnsupportedSaslMechanismException).
    let failed = metric(&p, "failed-authentication-total");
    assert!(
        failed >= 1.0,
        "{label}: failed-authentication-total is {failed} after: {text}"
    );
    assert_eq!(
        metric(&p, "successful-authentication-total"),
        0.0,
        "{label}: an authentication succeeded"
    );
    tokio::time::timeout(FAIL_GUARD, p.close(Duration::from_secs(5)))
        .await
        .unwrap_or_else(|_| panic!("{label}: close did not return"));
    eprintln!("[{label}] {connections} connection(s), {failed} failed authentication(s): {text}");
    text
}

// ---------------------------------------------------------------------------------------------
// 0. The cluster itself, with librdkafka
// ---------------------------------------------------------------------------------------------

/// librdkafka produces and reads back through every listener and mechanism: the listeners,
/// certificates, users and JWT validation of the harness work for a mainstream client.
#[test]
fn librdkafka_produces_and_reads_back_on_every_listener() {
    use rdkafka::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};

    let version = rdkafka::util::get_rdkafka_version().1;
    let mut cases: Vec<(Listener, &str)> = vec![(Listener::Ssl, "-"), (Listener::Mtls, "-")];
    for l in [Listener::SaslPlaintext, Listener::SaslSsl] {
        cases.extend(MECHANISMS.iter().map(|m| (l, *m)));
    }
    cases.push((Listener::PlainOnly, "PLAIN"));
    cases.push((Listener::ReauthSsl, "SCRAM-SHA-512"));
    for (listener, mechanism) in cases {
        let label = format!("librdkafka-{}-{mechanism}", listener.name()).to_lowercase();
        let topic = format!("sec-{label}");
        kafka()
            .create_topic(&topic, 1)
            .unwrap_or_else(|e| panic!("create {topic}: {e}"));
        let client = kafka().rdkafka_props(listener, mechanism);
        let mut config = ClientConfig::new();
        for (k, v) in &client {
            config.set(k, v);
        }
        let producer: BaseProducer = config
            .set("message.timeout.ms", "30000")
            .create()
            .unwrap_or_else(|e| panic!("{label}: librdkafka {version} producer: {e}"));
        let sent: Vec<(String, String)> = (0..3)
            .map(|i| (format!("{label}-k{i}"), format!("{label}-v{i}")))
            .collect();
        for (k, v) in &sent {
            producer
                .send(BaseRecord::to(&topic).partition(0).key(k).payload(v))
                .unwrap_or_else(|(e, _)| panic!("{label}: enqueue: {e}"));
        }
        producer
            .flush(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{label}: flush: {e}"));
        let read = read_back_with(
            &client,
            &topic,
            sent.len(),
            WAIT,
            Isolation::ReadUncommitted,
        )
        .unwrap_or_else(|e| panic!("{label}: read back: {e}"));
        assert_eq!(key_values(&read), sent, "{label}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1. TLS
// ---------------------------------------------------------------------------------------------

/// Server-verified TLS with each way of giving the trusted CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_with_every_trust_form() {
    let files = kafka().files();
    let certs = kafka().certs();
    let forms: [(&str, Props); 5] = [
        (
            "ca-location",
            props(&[("ssl.ca.location", &path(&files.ca))]),
        ),
        ("ca-pem", props(&[("ssl.ca.pem", &certs.ca)])),
        (
            "truststore-location",
            props(&[
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.location", &path(&files.ca)),
            ]),
        ),
        (
            "truststore-certificates",
            props(&[
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.certificates", &certs.ca),
            ]),
        ),
        (
            "https-explicit",
            props(&[
                ("ssl.ca.location", &path(&files.ca)),
                ("ssl.endpoint.identification.algorithm", "https"),
            ]),
        ),
    ];
    for (form, mut p) in forms {
        p.extend(props(&[("security.protocol", "SSL")]));
        round_trip(Listener::Ssl, "-", &format!("ssl-{form}"), &p, 20).await;
    }
}

/// mTLS (`ssl.client.auth=required`) with each way of giving the client certificate and key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_with_every_client_identity_form() {
    let files = kafka().files();
    let certs = kafka().certs();
    let forms: [(&str, Props); 5] = [
        (
            "files",
            props(&[
                ("ssl.certificate.location", &path(&files.client_cert)),
                ("ssl.key.location", &path(&files.client_key)),
            ]),
        ),
        (
            "pem",
            props(&[
                ("ssl.certificate.pem", &certs.client.chain_pem),
                ("ssl.key.pem", &certs.client.key_pem),
            ]),
        ),
        (
            "encrypted-key",
            props(&[
                ("ssl.certificate.location", &path(&files.client_cert)),
                ("ssl.key.location", &path(&files.client_key_encrypted)),
                ("ssl.key.password", CLIENT_KEY_PASSWORD),
            ]),
        ),
        (
            "keystore-location",
            props(&[
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.location", &path(&files.client_keystore)),
            ]),
        ),
        (
            "keystore-inline",
            props(&[
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.key", &certs.client.key_pem),
                ("ssl.keystore.certificate.chain", &certs.client.chain_pem),
            ]),
        ),
    ];
    for (form, mut p) in forms {
        p.extend(props(&[("security.protocol", "SSL")]));
        p.extend(trust_ca());
        round_trip(Listener::Mtls, "-", &format!("mtls-{form}"), &p, 20).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 2. SASL
// ---------------------------------------------------------------------------------------------

/// Every mechanism over SASL_PLAINTEXT and SASL_SSL, credentials as `sasl.username` /
/// `sasl.password` (librdkafka's `sasl.oauthbearer.config` for OAUTHBEARER).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_every_mechanism_over_plaintext_and_ssl() {
    for listener in [Listener::SaslPlaintext, Listener::SaslSsl] {
        for mechanism in MECHANISMS {
            let label = format!("{}-{mechanism}", listener.name()).to_lowercase();
            round_trip(listener, mechanism, &label, &sasl(listener, mechanism), 30).await;
        }
    }
}

/// The same credentials through Java's `sasl.jaas.config` (parsed, never executed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_jaas_config_for_every_mechanism() {
    let user_pass = format!("username=\"{USER}\" password=\"{PASSWORD}\";");
    let jaas = [
        (
            "PLAIN",
            format!("org.apache.kafka.common.security.plain.PlainLoginModule required {user_pass}"),
        ),
        (
            "SCRAM-SHA-256",
            format!("org.apache.kafka.common.security.scram.ScramLoginModule required {user_pass}"),
        ),
        (
            "SCRAM-SHA-512",
            format!("org.apache.kafka.common.security.scram.ScramLoginModule required {user_pass}"),
        ),
        (
            "OAUTHBEARER",
            format!(
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
                 unsecuredLoginStringClaim_sub=\"{USER}\";"
            ),
        ),
    ];
    for listener in [Listener::SaslPlaintext, Listener::SaslSsl] {
        for (mechanism, config) in &jaas {
            let label = format!("jaas-{}-{mechanism}", listener.name()).to_lowercase();
            let mut p = props(&[
                ("security.protocol", listener.protocol()),
                ("sasl.mechanism", mechanism),
                ("sasl.jaas.config", config),
            ]);
            if listener.tls() {
                p.extend(trust_ca());
            }
            round_trip(listener, mechanism, &label, &p, 10).await;
        }
    }
}

/// Transactions over SASL_SSL (SCRAM-SHA-512): a committed and an aborted transaction; a
/// `read_committed` librdkafka consumer with the same credentials sees the committed records only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_over_sasl_ssl() {
    let listener = Listener::SaslSsl;
    let mechanism = "SCRAM-SHA-512";
    let topic = "sec-txn-sasl-ssl";
    create(topic, 1).await;
    let mut p = sasl(listener, mechanism);
    p.extend(props(&[("transactional.id", "sec-txn-sasl-ssl")]));
    let producer = producer(listener, &p);
    tokio::time::timeout(WAIT, producer.init_transactions())
        .await
        .expect("init_transactions returns")
        .unwrap_or_else(|e| panic!("init_transactions over SASL_SSL: {e}"));

    producer.begin_transaction().expect("begin #1");
    let committed = produce(&producer, topic, "committed", 10).await;
    tokio::time::timeout(WAIT, producer.commit_transaction())
        .await
        .expect("commit returns")
        .unwrap_or_else(|e| panic!("commit over SASL_SSL: {e}"));

    producer.begin_transaction().expect("begin #2");
    produce(&producer, topic, "aborted", 5).await;
    tokio::time::timeout(WAIT, producer.abort_transaction())
        .await
        .expect("abort returns")
        .unwrap_or_else(|e| panic!("abort over SASL_SSL: {e}"));

    producer.begin_transaction().expect("begin #3");
    let last = produce(&producer, topic, "last", 5).await;
    tokio::time::timeout(WAIT, producer.commit_transaction())
        .await
        .expect("commit returns")
        .unwrap_or_else(|e| panic!("second commit over SASL_SSL: {e}"));
    producer.close(WAIT).await;

    let read = read_back(listener, mechanism, topic, 15, Isolation::ReadCommitted).await;
    let want: Vec<(String, String)> = committed.into_iter().chain(last).collect();
    assert_eq!(key_values(&read), want, "read_committed over SASL_SSL");
}

// ---------------------------------------------------------------------------------------------
// 3. Failures: clear, bounded, no storm, and the right configuration then works
// ---------------------------------------------------------------------------------------------

/// A wrong password for each password mechanism, over SASL_PLAINTEXT and SASL_SSL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_a_clear_authentication_error() {
    let topic = "sec-wrong-password";
    create(topic, 1).await;
    for listener in [Listener::SaslPlaintext, Listener::SaslSsl] {
        for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
            let label = format!("wrong-password-{}-{mechanism}", listener.name()).to_lowercase();
            let mut p = sasl(listener, mechanism);
            p.retain(|(k, _)| k != "sasl.password");
            p.extend(props(&[("sasl.password", "not-the-password")]));
            let text =
                expect_failure(listener, &p, topic, &label, &["authentication", mechanism]).await;
            assert!(
                !text.contains("not-the-password"),
                "{label}: the password is in the error: {text}"
            );
            assert!(
                text.contains(&kafka().bootstrap(listener)),
                "{label}: the error does not name the broker {}: {text}",
                kafka().bootstrap(listener)
            );
            // The same settings with the right password work.
            let good = producer(listener, &sasl(listener, mechanism));
            produce(&good, topic, &label, 1).await;
            good.close(WAIT).await;
        }
    }
}

/// A user the broker does not know, for each password mechanism.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_is_a_clear_authentication_error() {
    let topic = "sec-unknown-user";
    create(topic, 1).await;
    let listener = Listener::SaslSsl;
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let label = format!("unknown-user-{mechanism}").to_lowercase();
        let mut p = sasl(listener, mechanism);
        p.retain(|(k, _)| k != "sasl.username");
        p.extend(props(&[("sasl.username", "mallory")]));
        expect_failure(listener, &p, topic, &label, &["authentication", mechanism]).await;
        let good = producer(listener, &sasl(listener, mechanism));
        produce(&good, topic, &label, 1).await;
        good.close(WAIT).await;
    }
    // A user the broker knows, with another user's password.
    let mut p = sasl(listener, "SCRAM-SHA-256");
    p.retain(|(k, _)| k != "sasl.username");
    p.extend(props(&[("sasl.username", OTHER_USER)]));
    expect_failure(
        listener,
        &p,
        topic,
        "other-users-password",
        &["authentication"],
    )
    .await;
}

/// SCRAM-SHA-256 on a listener that enables PLAIN only: Kafka refuses the handshake
/// (UNSUPPORTED_SASL_MECHANISM, listing PLAIN); the error names the mechanism.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mechanism_not_enabled_is_a_clear_error() {
    let topic = "sec-mechanism-not-enabled";
    create(topic, 1).await;
    let listener = Listener::PlainOnly;
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] {
        let label = format!("not-enabled-{mechanism}").to_lowercase();
        expect_failure(
            listener,
            &sasl(listener, mechanism),
            topic,
            &label,
            &["mechanism", mechanism],
        )
        .await;
    }
    let good = producer(listener, &sasl(listener, "PLAIN"));
    produce(&good, topic, "not-enabled-then-plain", 1).await;
    good.close(WAIT).await;
}

/// A CA that did not sign the broker's certificate, over SSL and SASL_SSL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_ca_is_a_clear_certificate_error() {
    let topic = "sec-untrusted-ca";
    create(topic, 1).await;
    let other = path(&kafka().files().other_ca);
    let mut ssl = props(&[("security.protocol", "SSL"), ("ssl.ca.location", &other)]);
    expect_failure(
        Listener::Ssl,
        &ssl,
        topic,
        "untrusted-ca-ssl",
        &["certificate"],
    )
    .await;
    let mut sasl_ssl = sasl(Listener::SaslSsl, "SCRAM-SHA-256");
    sasl_ssl.retain(|(k, _)| k != "ssl.ca.location");
    sasl_ssl.extend(props(&[("ssl.ca.location", &other)]));
    expect_failure(
        Listener::SaslSsl,
        &sasl_ssl,
        topic,
        "untrusted-ca-sasl-ssl",
        &["certificate"],
    )
    .await;
    // No CA given at all: the platform's roots do not know the test CA either.
    expect_failure(
        Listener::Ssl,
        &props(&[("security.protocol", "SSL")]),
        topic,
        "platform-roots",
        &["certificate"],
    )
    .await;
    // Verification off: connects to a broker nobody vouches for.
    ssl.extend(props(&[("enable.ssl.certificate.verification", "false")]));
    let p = producer(Listener::Ssl, &ssl);
    produce(&p, topic, "verification-off", 1).await;
    p.close(WAIT).await;
    // The right CA works.
    let mut good = trust_ca();
    good.extend(props(&[("security.protocol", "SSL")]));
    let p = producer(Listener::Ssl, &good);
    produce(&p, topic, "untrusted-ca-then-right-ca", 1).await;
    p.close(WAIT).await;
}

/// A CA-signed certificate for another host name: refused while hostname verification is on
/// (the default, and `https`), accepted with `ssl.endpoint.identification.algorithm` empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostname_mismatch_is_a_clear_certificate_error() {
    let topic = "sec-hostname-mismatch";
    create(topic, 1).await;
    let listener = Listener::WrongHost;
    let mut p = trust_ca();
    p.extend(props(&[("security.protocol", "SSL")]));
    expect_failure(listener, &p, topic, "hostname-default", &["certificate"]).await;
    let mut https = p.clone();
    https.extend(props(&[("ssl.endpoint.identification.algorithm", "https")]));
    expect_failure(listener, &https, topic, "hostname-https", &["certificate"]).await;
    let mut off = p.clone();
    off.extend(props(&[("ssl.endpoint.identification.algorithm", "")]));
    let good = producer(listener, &off);
    produce(&good, topic, "hostname-check-off", 5).await;
    good.close(WAIT).await;
}

/// An expired client certificate (signed by the trusted CA) on the mTLS listener, and no client
/// certificate at all: the broker refuses the handshake; the producer says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_or_missing_client_certificate_is_a_clear_error() {
    let topic = "sec-client-certificate";
    create(topic, 1).await;
    let files = kafka().files();
    let listener = Listener::Mtls;
    let mut expired = trust_ca();
    expired.extend(props(&[
        ("security.protocol", "SSL"),
        ("ssl.certificate.location", &path(&files.expired_cert)),
        ("ssl.key.location", &path(&files.expired_key)),
    ]));
    expect_failure(
        listener,
        &expired,
        topic,
        "expired-client-certificate",
        &["certificate"],
    )
    .await;
    let mut none = trust_ca();
    none.extend(props(&[("security.protocol", "SSL")]));
    expect_failure(
        listener,
        &none,
        topic,
        "missing-client-certificate",
        &["certificate"],
    )
    .await;
    let mut good = trust_ca();
    good.extend(props(&[
        ("security.protocol", "SSL"),
        ("ssl.certificate.location", &path(&files.client_cert)),
        ("ssl.key.location", &path(&files.client_key)),
    ]));
    let p = producer(listener, &good);
    produce(&p, topic, "valid-client-certificate", 1).await;
    p.close(WAIT).await;
}

/// `init_transactions` with a wrong password fails with the authentication error too (it is
/// bounded by `max.block.ms`), and does not hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_transactions_reports_an_authentication_failure() {
    let listener = Listener::SaslSsl;
    let mut p = sasl(listener, "SCRAM-SHA-512");
    p.retain(|(k, _)| k != "sasl.password");
    p.extend(props(&[
        ("sasl.password", "not-the-password"),
        ("transactional.id", "sec-txn-wrong-password"),
        ("max.block.ms", FAIL_BLOCK_MS),
    ]));
    let producer = producer(listener, &p);
    let error = tokio::time::timeout(FAIL_GUARD, producer.init_transactions())
        .await
        .unwrap_or_else(|_| panic!("init_transactions did not return within {FAIL_GUARD:?}"))
        .expect_err("init_transactions with a wrong password succeeded");
    let text = error.to_string();
    assert!(
        text.to_lowercase().contains("authentication"),
        "init_transactions error does not mention authentication: {text}"
    );
    assert!(!text.contains("not-the-password"), "password in: {text}");
    assert!(
        metric(&producer, "connection-creation-total") <= MAX_FAILING_CONNECTIONS,
        "reconnect storm: {text}"
    );
    producer.close(Duration::from_secs(5)).await;
}

// ---------------------------------------------------------------------------------------------
// 4. KIP-368 re-authentication
// ---------------------------------------------------------------------------------------------

/// Sends a record every 100 ms (each awaited) until the producer has re-authenticated
/// `reauths` times (bounded by 20 session lifetimes); returns what it sent.
async fn send_through_lifetimes(
    p: &Producer,
    topic: &str,
    label: &str,
    reauths: f64,
) -> Vec<(String, String)> {
    let lifetime = Duration::from_millis(kafka().reauth_ms());
    let max_records = (lifetime.as_millis() * 20 / 100) as usize;
    let mut sent = Vec::new();
    for i in 0..max_records {
        let (k, v) = (format!("{label}-k{i}"), format!("{label}-v{i}"));
        let delivery = p
            .send(
                ProducerRecord::new(topic)
                    .with_partition(0)
                    .with_key(k.clone())
                    .with_value(v.clone()),
            )
            .await
            .unwrap_or_else(|e| panic!("{label}: send #{i}: {e}"));
        tokio::time::timeout(WAIT, delivery)
            .await
            .unwrap_or_else(|_| panic!("{label}: delivery #{i} did not resolve"))
            .unwrap_or_else(|e| panic!("{label}: delivery #{i} failed: {e}"));
        sent.push((k, v));
        if p.metrics()
            .get("successful-reauthentication-total")
            .is_some_and(|r| r >= reauths)
        {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{label}: {} records over about 20 session lifetimes of {lifetime:?} and \
         successful-reauthentication-total is {:?}, not {reauths}",
        sent.len(),
        p.metrics().get("successful-reauthentication-total")
    );
}

/// With `connections.max.reauth.ms` low on the broker, producers sending for several session
/// lifetimes lose nothing, re-authenticate each time and keep their connections, for each
/// mechanism over SASL_SSL and SASL_PLAINTEXT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthentication_loses_nothing() {
    let cases = [
        (Listener::ReauthSsl, "SCRAM-SHA-256"),
        (Listener::ReauthSsl, "OAUTHBEARER"),
        (Listener::ReauthPlaintext, "PLAIN"),
        (Listener::ReauthPlaintext, "SCRAM-SHA-512"),
    ];
    let mut results = BTreeMap::new();
    for (listener, mechanism) in cases {
        let label = format!("reauth-{}-{mechanism}", listener.name()).to_lowercase();
        let topic = format!("sec-{label}");
        create(&topic, 1).await;
        let p = producer(listener, &sasl(listener, mechanism));
        let sent = send_through_lifetimes(&p, &topic, &label, 3.0).await;
        let reauths = metric(&p, "successful-reauthentication-total");
        let connections = metric(&p, "connection-creation-total");
        let auths = metric(&p, "successful-authentication-total");
        assert_eq!(
            metric(&p, "failed-authentication-total"),
            0.0,
            "{label}: a (re-)authentication failed"
        );
        p.close(WAIT).await;
        assert!(reauths >= 2.0, "{label}: {reauths} re-authentications");
        // Re-authentication happens on the open connection (KIP-368): no new connection per
        // session lifetime (a bootstrap connection and the broker's own are allowed).
        assert!(
            connections <= 3.0,
            "{label}: {connections} connections for {reauths} re-authentications: the producer \
             reconnects instead of re-authenticating"
        );
        let read = read_back(
            listener,
            mechanism,
            &topic,
            sent.len(),
            Isolation::ReadUncommitted,
        )
        .await;
        assert_eq!(key_values(&read), sent, "{label}: records read back");
        results.insert(label, (sent.len(), reauths, auths, connections));
    }
    eprintln!("re-authentication: (records, reauths, auths, connections) {results:?}");
}

// ---------------------------------------------------------------------------------------------
// 5. Secrets and key formats
// ---------------------------------------------------------------------------------------------

/// Passwords, keys and JAAS settings never show in the configuration's `Debug` output.
#[test]
fn secrets_stay_out_of_debug_output() {
    let certs = kafka().certs();
    let jaas = format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required \
         username=\"{USER}\" password=\"{PASSWORD}\";"
    );
    let key_body: String = certs
        .client
        .key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let configs = [
        props(&[
            ("bootstrap.servers", "127.0.0.1:9"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
            ("ssl.certificate.pem", &certs.client.chain_pem),
            ("ssl.key.pem", &certs.client_key_encrypted),
            ("ssl.key.password", CLIENT_KEY_PASSWORD),
        ]),
        props(&[
            ("bootstrap.servers", "127.0.0.1:9"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", &jaas),
        ]),
        props(&[
            ("bootstrap.servers", "127.0.0.1:9"),
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.key", &certs.client.key_pem),
            ("ssl.keystore.certificate.chain", &certs.client.chain_pem),
        ]),
    ];
    for config in configs {
        let built = ProducerConfig::from_properties(config.iter().map(|(k, v)| (k, v)))
            .unwrap_or_else(|e| panic!("config: {e}"));
        let debug = format!("{built:?}");
        for secret in [PASSWORD, CLIENT_KEY_PASSWORD, key_body.as_str()] {
            assert!(
                !debug.contains(secret),
                "a secret ({} chars) is in the Debug output of the configuration",
                secret.len()
            );
        }
        let keys_of_first_line = certs.client_key_encrypted.lines().nth(1).unwrap_or("-");
        assert!(
            !debug.contains(keys_of_first_line),
            "the encrypted key is in the Debug output"
        );
    }
}

/// A wrong `ssl.key.password` is an error naming the key (when the configuration is built, the
/// producer created or the first connection made), never a panic, and never shows the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_password_is_refused_naming_the_key() {
    let files = kafka().files();
    let mut p = props(&[
        ("bootstrap.servers", &kafka().bootstrap(Listener::Mtls)),
        ("security.protocol", "SSL"),
        ("ssl.certificate.location", &path(&files.client_cert)),
        ("ssl.key.location", &path(&files.client_key_encrypted)),
        ("ssl.key.password", "not-the-key-password"),
        ("max.block.ms", FAIL_BLOCK_MS),
    ]);
    p.extend(trust_ca());
    let text = match ProducerConfig::from_properties(p.iter().map(|(k, v)| (k, v))) {
        Err(e) => e.to_string(),
        Ok(config) => match Producer::new(config) {
            Err(e) => e.to_string(),
            Ok(producer) => {
                let sent = tokio::time::timeout(
                    FAIL_GUARD,
                    producer.send(ProducerRecord::new("sec-key-password").with_value("v")),
                )
                .await
                .expect("send returns");
                let text = match sent {
                    Err(e) => e.to_string(),
                    Ok(delivery) => match tokio::time::timeout(FAIL_GUARD, delivery)
                        .await
                        .expect("delivery resolves")
                    {
                        Ok(md) => panic!("delivered with a wrong key password: {md:?}"),
                        Err(e) => e.to_string(),
                    },
                };
                producer.close(Duration::from_secs(5)).await;
                text
            }
        },
    };
    assert!(
        text.contains("ssl.key"),
        "the error does not name the key setting: {text}"
    );
    assert!(
        !text.contains("not-the-key-password"),
        "password in: {text}"
    );
    eprintln!("[wrong-key-password] {text}");
}

/// A keystore or truststore format the producer does not read (JKS, PKCS12) is refused with an
/// error that names the key and says PEM is what it reads.
#[test]
fn unreadable_store_formats_are_refused_naming_pem() {
    let files = kafka().files();
    for (key, location_key) in [
        ("ssl.keystore.type", "ssl.keystore.location"),
        ("ssl.truststore.type", "ssl.truststore.location"),
    ] {
        for format in ["JKS", "PKCS12"] {
            let p = props(&[
                ("bootstrap.servers", "127.0.0.1:9"),
                ("security.protocol", "SSL"),
                (key, format),
                (location_key, &path(&files.client_keystore)),
            ]);
            let text = match ProducerConfig::from_properties(p.iter().map(|(k, v)| (k, v))) {
                Err(e) => e.to_string(),
                Ok(config) => {
                    // Producer::new needs a runtime; build one just for it.
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    let _guard = rt.enter();
                    match Producer::new(config) {
                        Err(e) => e.to_string(),
                        Ok(_) => panic!("{key}={format} accepted"),
                    }
                }
            };
            assert!(
                text.contains(key) && text.contains("PEM"),
                "{key}={format}: the error does not name the key and PEM: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. The CLI
// ---------------------------------------------------------------------------------------------

/// Runs the CLI with `stdin` as its input; returns (exit code, stdout and stderr).
async fn run_cli(args: Vec<String>, stdin: String) -> (Option<i32>, String) {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new(cli_binary())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ferrokafka-cli");
        let mut input = child.stdin.take().expect("piped");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("wait for ferrokafka-cli");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    })
    .await
    .expect("cli thread")
}

/// `ferrokafka-cli produce -F client.properties` over SASL_SSL with SCRAM-SHA-512 through
/// `sasl.jaas.config` and a PEM truststore, as a Java `client.properties` file would say it;
/// then `-X` overriding the password with a wrong one fails, naming the authentication problem
/// and not the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_produces_over_sasl_ssl_from_a_properties_file() {
    let listener = Listener::SaslSsl;
    let topic = "sec-cli-sasl-ssl";
    create(topic, 1).await;
    let file = kafka().files().dir.join("cli-client.properties");
    std::fs::write(
        &file,
        format!(
            "# a Java client.properties\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"{USER}\" password=\"{PASSWORD}\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={}\n",
            path(&kafka().files().ca)
        ),
    )
    .expect("write client.properties");
    let lines: Vec<String> = (0..20).map(|i| format!("k{i}:cli-v{i}")).collect();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "produce",
            "-b",
            &kafka().bootstrap(listener),
            "-t",
            topic,
            "-p",
            "0",
            "-K",
            ":",
            "-F",
            &path(&file),
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        a.extend(extra.iter().map(|s| (*s).to_string()));
        a
    };
    let (code, out) = run_cli(args(&[]), lines.join("\n") + "\n").await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("20 records produced"), "{out}");
    let read = read_back(
        listener,
        "SCRAM-SHA-512",
        topic,
        20,
        Isolation::ReadUncommitted,
    )
    .await;
    let want: Vec<(String, String)> = (0..20)
        .map(|i| (format!("k{i}"), format!("cli-v{i}")))
        .collect();
    assert_eq!(key_values(&read), want, "CLI records read back");

    let wrong_jaas = format!(
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
         username=\"{USER}\" password=\"not-the-password\";"
    );
    let (code, out) = run_cli(
        args(&["-X", &wrong_jaas, "-X", "max.block.ms=3000"]),
        "k:v\n".to_string(),
    )
    .await;
    assert_ne!(code, Some(0), "a wrong password succeeded: {out}");
    assert!(
        out.to_lowercase().contains("authentication"),
        "the CLI does not say authentication failed: {out}"
    );
    assert!(
        !out.contains("not-the-password"),
        "the CLI shows the password"
    );
    eprintln!("[cli-wrong-password] exit {code:?}: {out}");
}

// ---------------------------------------------------------------------------------------------
// 7. A credential revoked while the producer runs
// ---------------------------------------------------------------------------------------------

/// A SCRAM user created through the Admin client authenticates; once its credential is deleted,
/// the next re-authentication (the broker's `connections.max.reauth.ms`) fails: sending goes
/// on failing with an error that says authentication failed, every pending delivery resolves
/// (within `delivery.timeout.ms`), and the producer does not storm the broker with connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_credential_fails_sends_and_pending_records_clearly() {
    let listener = Listener::ReauthPlaintext;
    let mechanism = "SCRAM-SHA-256";
    let (user, password) = ("carol", "carol-secret");
    let topic = "sec-revoked-credential";
    create(topic, 1).await;
    let admin = |delete: bool| {
        tokio::task::spawn_blocking(move || {
            let mut helper = JavaHelper::shared().expect("java helper");
            let boot = kafka().plaintext_bootstrap();
            if delete {
                helper.delete_scram_user(&boot, user, mechanism)
            } else {
                helper.upsert_scram_user(&boot, user, mechanism, password)
            }
            .unwrap_or_else(|e| panic!("SCRAM credential of {user} (delete: {delete}): {e}"));
        })
    };
    admin(false).await.expect("admin thread");
    let mut config = sasl(listener, mechanism);
    config.retain(|(k, _)| k != "sasl.username" && k != "sasl.password");
    config.extend(props(&[
        ("sasl.username", user),
        ("sasl.password", password),
        ("delivery.timeout.ms", "8000"),
        ("request.timeout.ms", "4000"),
        ("linger.ms", "0"),
        ("max.block.ms", FAIL_BLOCK_MS),
    ]));
    // The new credential reaches the broker's cache through the metadata log: retry a few
    // producers until one authenticates.
    let mut ready = None;
    for attempt in 0..20 {
        let p = producer(listener, &config);
        let sent = tokio::time::timeout(
            FAIL_GUARD,
            p.send(
                ProducerRecord::new(topic)
                    .with_partition(0)
                    .with_value("before"),
            ),
        )
        .await
        .expect("send returns");
        match sent {
            Ok(delivery) => {
                tokio::time::timeout(WAIT, delivery)
                    .await
                    .expect("first delivery resolves")
                    .unwrap_or_else(|e| panic!("first delivery as {user}: {e}"));
                ready = Some(p);
                break;
            }
            Err(e) => {
                eprintln!("[revoked] attempt {attempt}: {e}");
                p.close(Duration::from_secs(5)).await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    let p = ready.unwrap_or_else(|| panic!("{user} never authenticated after its creation"));
    admin(true).await.expect("admin thread");

    // Send one record every 100 ms until a send or a delivery fails: at most 20 session
    // lifetimes. Outcomes arrive through callbacks, so a failure is seen while sending.
    let lifetime = Duration::from_millis(kafka().reauth_ms());
    let outcomes: Arc<Mutex<Vec<Result<(), String>>>> = Arc::default();
    let mut queued = 0usize;
    let mut first_error = None;
    for i in 0..(lifetime.as_millis() * 20 / 100) {
        let sink = Arc::clone(&outcomes);
        let sent = tokio::time::timeout(
            FAIL_GUARD,
            p.send_with_callback(
                ProducerRecord::new(topic)
                    .with_partition(0)
                    .with_value(format!("after-{i}")),
                move |r| {
                    sink.lock()
                        .expect("outcomes")
                        .push(r.map(drop).map_err(|e| e.to_string()));
                },
            ),
        )
        .await
        .expect("send returns");
        if let Err(e) = sent {
            first_error = Some(e.to_string());
            break;
        }
        queued += 1;
        if outcomes
            .lock()
            .expect("outcomes")
            .iter()
            .any(Result::is_err)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every queued record resolves (bounded by delivery.timeout.ms; the guard is far above).
    for _ in 0..(FAIL_GUARD.as_millis() / 100) {
        if outcomes.lock().expect("outcomes").len() >= queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outcomes = outcomes.lock().expect("outcomes").clone();
    assert_eq!(
        outcomes.len(),
        queued,
        "{} of {queued} records queued after the revocation never resolved",
        queued - outcomes.len()
    );
    let delivered = outcomes.iter().filter(|r| r.is_ok()).count();
    let failures: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
    let mut texts: Vec<&String> = first_error.iter().chain(failures.iter()).collect();
    texts.dedup();
    assert!(
        !texts.is_empty(),
        "nothing failed over {} session lifetimes after {user}'s credential was deleted \
         ({delivered} delivered)",
        20
    );
    assert!(
        texts
            .iter()
            .any(|t| t.to_lowercase().contains("authentication")),
        "no error says authentication failed: {texts:?}"
    );
    assert!(
        texts.iter().all(|t| !t.contains(password)),
        "the password is in an error"
    );
    // Failing from the first refused re-authentication (within one session lifetime of
    // 2.5 s) until the first record expires (delivery.timeout.ms of 8 s after it was queued):
    // about 10 s in which reconnects back off to reconnect.backoff.max.ms (1 s), so about a
    // dozen connections; 25 leaves room for a bootstrap connection retried alongside.
    let connections = metric(&p, "connection-creation-total");
    assert!(
        connections <= 25.0,
        "{connections} connections after the credential was revoked (a reconnect storm): {:?}",
        texts.first()
    );
    eprintln!(
        "[revoked] {delivered} delivered after the deletion, {} failed, {connections} \
         connections; send error: {first_error:?}; first delivery error: {:?}",
        failures.len(),
        failures.first()
    );
    p.close(Duration::from_secs(5)).await;
}

// ---------------------------------------------------------------------------------------------
// OIDC client credentials (the built-in provider, feature `oidc`)
// ---------------------------------------------------------------------------------------------

/// Base64url without padding (JWT segments).
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A token endpoint on loopback for the client `client-1` / `secret-1`: it answers
/// client-credentials requests with an unsecured JWT for [`USER`] (what the listener's
/// unsecured validator accepts), anything else with 401 `invalid_client`. Returns its URL and
/// the number of requests it served.
async fn token_endpoint() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the token endpoint");
    let url = format!(
        "http://127.0.0.1:{}/oauth2/token",
        listener.local_addr().expect("addr").port()
    );
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        // Bounded: a test needs a handful of tokens.
        for _ in 0..50 {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            for _ in 0..100 {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
                let text = String::from_utf8_lossy(&request);
                if text.contains("\r\n\r\n") && text.contains("grant_type=client_credentials") {
                    break;
                }
            }
            count.fetch_add(1, Ordering::SeqCst);
            let text = String::from_utf8_lossy(&request).into_owned();
            // "client-1:secret-1"
            let authorized = text.contains("Authorization: Basic Y2xpZW50LTE6c2VjcmV0LTE=");
            let (status, body) = if authorized {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let claims = format!(r#"{{"sub":"{USER}","iat":{now},"exp":{}}}"#, now + 3600);
                let jwt = format!(
                    "{}.{}.",
                    b64url(br#"{"alg":"none"}"#),
                    b64url(claims.as_bytes())
                );
                (
                    "200 OK",
                    format!(
                        r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":3600}}"#
                    ),
                )
            } else {
                (
                    "401 Unauthorized",
                    r#"{"error":"invalid_client","error_description":"unknown client"}"#.to_owned(),
                )
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    (url, served)
}

#[tokio::test]
async fn oidc_client_credentials_tokens_authenticate() {
    let (url, served) = token_endpoint().await;
    let topic = "sec-oidc";
    create(topic, 1).await;
    let oidc = props(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.oauthbearer.method", "oidc"),
        ("sasl.oauthbearer.token.endpoint.url", &url),
        ("sasl.oauthbearer.client.id", "client-1"),
        ("sasl.oauthbearer.client.secret", "secret-1"),
        ("sasl.oauthbearer.scope", "kafka"),
    ]);
    let p = producer(Listener::SaslPlaintext, &oidc);
    for i in 0..10 {
        let delivery = p
            .send(ProducerRecord::new(topic).with_value(format!("oidc-{i}")))
            .await
            .unwrap_or_else(|e| panic!("send {i}: {e}"));
        tokio::time::timeout(WAIT, delivery)
            .await
            .expect("delivery resolves")
            .unwrap_or_else(|e| panic!("delivery {i}: {e}"));
    }
    assert!(metric(&p, "successful-authentication-total") >= 1.0);
    p.close(WAIT).await;
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let back = read_back(
        Listener::SaslPlaintext,
        "PLAIN",
        topic,
        10,
        Isolation::ReadUncommitted,
    )
    .await;
    assert_eq!(back.len(), 10);

    // A client the endpoint does not know: the send fails with the endpoint's answer.
    let mut wrong = oidc.clone();
    wrong.retain(|(k, _)| k != "sasl.oauthbearer.client.secret");
    wrong.extend(props(&[
        ("sasl.oauthbearer.client.secret", "not-the-secret"),
        ("max.block.ms", FAIL_BLOCK_MS),
    ]));
    let p = producer(Listener::SaslPlaintext, &wrong);
    let err = tokio::time::timeout(
        FAIL_GUARD,
        p.send(ProducerRecord::new(topic).with_value("x")),
    )
    .await
    .expect("send resolves")
    .expect_err("no token, no authentication");
    let text = err.to_string();
    assert!(text.contains("token endpoint"), "{text}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
    p.close(WAIT).await;
}

// ---------------------------------------------------------------------------------------------
// Host names
// ---------------------------------------------------------------------------------------------

/// Bootstrapping by host name (`localhost:PORT`): the broker's certificate is checked against
/// a DNS name (its `localhost` SAN) for the bootstrap connection, and against the IP address
/// Kafka advertises (`127.0.0.1`) afterwards; the wrong-host certificate is refused by name too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_by_host_name() {
    let topic = "sec-localhost";
    create(topic, 1).await;
    let by_name = |listener: Listener| {
        kafka()
            .bootstrap(listener)
            .replace("127.0.0.1:", "localhost:")
    };
    for listener in [Listener::Ssl, Listener::SaslSsl] {
        let mut p = if listener == Listener::Ssl {
            let mut p = trust_ca();
            p.extend(props(&[("security.protocol", "SSL")]));
            p
        } else {
            sasl(listener, "SCRAM-SHA-256")
        };
        p.extend(props(&[("bootstrap.servers", &by_name(listener))]));
        let producer = producer(listener, &p);
        let label = format!("localhost-{}", listener.name()).to_lowercase();
        produce(&producer, topic, &label, 3).await;
        producer.close(WAIT).await;
    }
    let mut wrong = trust_ca();
    wrong.extend(props(&[
        ("security.protocol", "SSL"),
        ("bootstrap.servers", &by_name(Listener::WrongHost)),
    ]));
    let text = expect_failure(
        Listener::WrongHost,
        &wrong,
        topic,
        "localhost-wrong-host",
        &["certificate"],
    )
    .await;
    assert!(
        text.contains("localhost"),
        "the error does not name the host name checked: {text}"
    );
    let read = read_back(Listener::Ssl, "-", topic, 6, Isolation::ReadUncommitted).await;
    assert_eq!(read.len(), 6, "records written by host name");
}

// ---------------------------------------------------------------------------------------------
// Re-authentication under load and inside transactions
// ---------------------------------------------------------------------------------------------

/// Records pipelined without waiting (several Produce requests in flight) while the broker's
/// session lifetime runs out again and again: the producer re-authenticates between requests
/// without failing or duplicating any (idempotence is on by default), in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthentication_under_pipelined_load_loses_nothing() {
    let listener = Listener::ReauthSsl;
    let mechanism = "SCRAM-SHA-512";
    let topic = "sec-reauth-pipelined";
    create(topic, 1).await;
    let mut config = sasl(listener, mechanism);
    config.extend(props(&[("linger.ms", "2"), ("batch.size", "16384")]));
    let p = producer(listener, &config);
    // At most 5000 records a second (a 10 ms pause every 50), at most 150,000 records.
    let mut futures = Vec::new();
    let mut sent = Vec::new();
    for i in 0..150_000usize {
        let value = format!("pipelined-{i:07}-{}", "x".repeat(64));
        let f = p
            .send(
                ProducerRecord::new(topic)
                    .with_partition(0)
                    .with_value(value.clone()),
            )
            .await
            .unwrap_or_else(|e| panic!("send #{i}: {e}"));
        futures.push(f);
        sent.push(value);
        if i % 50 == 49 {
            if p.metrics()
                .get("successful-reauthentication-total")
                .is_some_and(|r| r >= 3.0)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for (i, f) in futures.into_iter().enumerate() {
        tokio::time::timeout(WAIT, f)
            .await
            .unwrap_or_else(|_| panic!("delivery #{i} did not resolve"))
            .unwrap_or_else(|e| panic!("delivery #{i} failed across re-authentication: {e}"));
    }
    let reauths = metric(&p, "successful-reauthentication-total");
    let connections = metric(&p, "connection-creation-total");
    p.close(WAIT).await;
    assert!(
        reauths >= 3.0,
        "{reauths} re-authentications over {} records",
        sent.len()
    );
    assert!(
        connections <= 3.0,
        "{connections} connections for {reauths} re-authentications under load"
    );
    let read = read_back(
        listener,
        mechanism,
        topic,
        sent.len(),
        Isolation::ReadUncommitted,
    )
    .await;
    let values: Vec<String> = read
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"-")).into_owned())
        .collect();
    assert!(
        values == sent,
        "{} records read back for {} sent (first difference at {:?})",
        values.len(),
        sent.len(),
        values.iter().zip(&sent).position(|(a, b)| a != b)
    );
    eprintln!(
        "[reauth-pipelined] {} records, {reauths} re-authentications, {connections} connections",
        sent.len()
    );
}

/// Transactions committed one after another over several session lifetimes (the coordinator's
/// connection re-authenticates too): every committed record is read back by a `read_committed`
/// consumer, and no transactional call fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_across_reauthentication() {
    let listener = Listener::ReauthSsl;
    let mechanism = "SCRAM-SHA-256";
    let topic = "sec-reauth-txn";
    create(topic, 1).await;
    let mut config = sasl(listener, mechanism);
    config.extend(props(&[("transactional.id", "sec-reauth-txn")]));
    let p = producer(listener, &config);
    tokio::time::timeout(WAIT, p.init_transactions())
        .await
        .expect("init_transactions returns")
        .unwrap_or_else(|e| panic!("init_transactions: {e}"));
    let mut sent = Vec::new();
    let lifetime = Duration::from_millis(kafka().reauth_ms());
    let max_txns = lifetime.as_millis() * 20 / 200;
    let mut txns = 0;
    while txns < max_txns {
        p.begin_transaction()
            .unwrap_or_else(|e| panic!("begin #{txns}: {e}"));
        sent.extend(produce(&p, topic, &format!("txn{txns}"), 5).await);
        tokio::time::timeout(WAIT, p.commit_transaction())
            .await
            .expect("commit returns")
            .unwrap_or_else(|e| panic!("commit #{txns} across re-authentication: {e}"));
        txns += 1;
        if p.metrics()
            .get("successful-reauthentication-total")
            .is_some_and(|r| r >= 3.0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reauths = metric(&p, "successful-reauthentication-total");
    p.close(WAIT).await;
    assert!(
        reauths >= 3.0,
        "{reauths} re-authentications over {txns} transactions"
    );
    let read = read_back(
        listener,
        mechanism,
        topic,
        sent.len(),
        Isolation::ReadCommitted,
    )
    .await;
    assert_eq!(key_values(&read), sent, "committed records read back");
    eprintln!("[reauth-txn] {txns} transactions, {reauths} re-authentications");
}

/// Everything a tracing subscriber wrote, for the secrets check.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The producer's tracing output at TRACE, on one thread, for a send with the right password
/// and one with a wrong password, over SASL_SSL with SCRAM-SHA-512: spans and events name the
/// broker, the mechanism and the failure, never a password.
#[test]
fn tracing_output_of_sasl_sends_never_shows_a_password() {
    const WRONG: &str = "wrong-password-in-a-trace-test";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(create("sec-tracing", 1));
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    // tracing-core computes a new callsite's interest with the registering thread's own
    // subscriber while only one dispatcher is registered: a callsite first hit by a test running
    // in parallel (no subscriber on its thread) would be cached as "never" for this one too — the
    // "authentication failed" event went missing that way. A second registered dispatcher, alive
    // for the whole test, makes it ask every registered dispatcher instead.
    let _second_dispatcher = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::subscriber::with_default(subscriber, || {
        // Callsites hit before this subscriber existed: recompute their interest.
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            let p = producer(Listener::SaslSsl, &sasl(Listener::SaslSsl, "SCRAM-SHA-512"));
            produce(&p, "sec-tracing", "tracing", 1).await;
            p.close(WAIT).await;
            let mut wrong = sasl(Listener::SaslSsl, "SCRAM-SHA-512");
            wrong.retain(|(k, _)| k != "sasl.password");
            wrong.extend(props(&[("sasl.password", WRONG)]));
            expect_failure(
                Listener::SaslSsl,
                &wrong,
                "sec-tracing",
                "tracing-wrong",
                &["SCRAM"],
            )
            .await;
        });
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).expect("utf-8");
    for secret in [PASSWORD, WRONG] {
        assert!(!text.contains(secret), "the password {secret:?} was logged");
    }
    assert!(
        text.contains("authenticated") && text.contains("mechanism=\"SCRAM-SHA-512\""),
        "no authentication event:\n{text}"
    );
    assert!(
        text.contains("authentication failed") && text.contains("SASL_AUTHENTICATION_FAILED"),
        "no authentication failure event:\n{text}"
    );
    assert!(
        text.contains("kafka_request{api=Produce"),
        "no Produce request span:\n{text}"
    );
}
