//! Producing over every listener: the cluster checked with librdkafka (0), TLS with every trust
//! and client-identity form (1), SASL with every mechanism and `sasl.jaas.config`, transactions
//! over SASL_SSL (2), and bootstrapping by host name.

use std::time::Duration;

use ferrokafka_tests::consume::{Isolation, read_back_with};
use ferrokafka_tests::producing::within;
use ferrokafka_tests::security::{CLIENT_KEY_PASSWORD, Listener, MECHANISMS, PASSWORD, USER};

use crate::failures::expect_failure;
use crate::{
    Props, WAIT, create, kafka, key_values, path, produce, producer, props, read_back, round_trip,
    sasl, ssl_trusting_ca, trust_ca,
};

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
    within(WAIT, "init_transactions", producer.init_transactions())
        .await
        .unwrap_or_else(|e| panic!("init_transactions over SASL_SSL: {e}"));

    producer.begin_transaction().expect("begin #1");
    let committed = produce(&producer, topic, "committed", 10).await;
    within(WAIT, "commit_transaction", producer.commit_transaction())
        .await
        .unwrap_or_else(|e| panic!("commit over SASL_SSL: {e}"));

    producer.begin_transaction().expect("begin #2");
    produce(&producer, topic, "aborted", 5).await;
    within(WAIT, "abort_transaction", producer.abort_transaction())
        .await
        .unwrap_or_else(|e| panic!("abort over SASL_SSL: {e}"));

    producer.begin_transaction().expect("begin #3");
    let last = produce(&producer, topic, "last", 5).await;
    within(WAIT, "commit_transaction", producer.commit_transaction())
        .await
        .unwrap_or_else(|e| panic!("second commit over SASL_SSL: {e}"));
    producer.close(WAIT).await;

    let read = read_back(listener, mechanism, topic, 15, Isolation::ReadCommitted).await;
    let want: Vec<(String, String)> = committed.into_iter().chain(last).collect();
    assert_eq!(key_values(&read), want, "read_committed over SASL_SSL");
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
            ssl_trusting_ca()
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
