//! Failures that are clear, bounded and storm-free (3): wrong password, unknown user, mechanism
//! not enabled, untrusted CA, hostname mismatch, expired or missing client certificate, and
//! `init_transactions` failing authentication; the right configuration then works.

use std::time::Duration;

use ferrokafka::ProducerRecord;
use ferrokafka_tests::producing::metric;
use ferrokafka_tests::security::{Listener, OTHER_USER};

use crate::{
    FAIL_BLOCK_MS, FAIL_GUARD, MAX_FAILING_CONNECTIONS, Props, create, kafka, path,
    produce_and_close, producer, props, sasl, set, ssl_trusting_ca, trust_ca,
};

/// A producer with `extra` (and `max.block.ms` of [`FAIL_BLOCK_MS`]) must fail its first `send`
/// to `topic` with an error whose text contains every one of `words` (case-insensitive); it must
/// not open more than [`MAX_FAILING_CONNECTIONS`] connections meanwhile. Returns the error text.
pub(crate) async fn expect_failure(
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
            set(&mut p, "sasl.password", "not-the-password");
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
            produce_and_close(listener, &sasl(listener, mechanism), topic, &label, 1).await;
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
        set(&mut p, "sasl.username", "mallory");
        expect_failure(listener, &p, topic, &label, &["authentication", mechanism]).await;
        produce_and_close(listener, &sasl(listener, mechanism), topic, &label, 1).await;
    }
    // A user the broker knows, with another user's password.
    let mut p = sasl(listener, "SCRAM-SHA-256");
    set(&mut p, "sasl.username", OTHER_USER);
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
    produce_and_close(
        listener,
        &sasl(listener, "PLAIN"),
        topic,
        "not-enabled-then-plain",
        1,
    )
    .await;
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
    set(&mut sasl_ssl, "ssl.ca.location", &other);
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
    produce_and_close(Listener::Ssl, &ssl, topic, "verification-off", 1).await;
    // The right CA works.
    let good = ssl_trusting_ca();
    produce_and_close(Listener::Ssl, &good, topic, "untrusted-ca-then-right-ca", 1).await;
}

/// A CA-signed certificate for another host name: refused while hostname verification is on
/// (the default, and `https`), accepted with `ssl.endpoint.identification.algorithm` empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostname_mismatch_is_a_clear_certificate_error() {
    let topic = "sec-hostname-mismatch";
    create(topic, 1).await;
    let listener = Listener::WrongHost;
    let p = ssl_trusting_ca();
    expect_failure(listener, &p, topic, "hostname-default", &["certificate"]).await;
    let mut https = p.clone();
    https.extend(props(&[("ssl.endpoint.identification.algorithm", "https")]));
    expect_failure(listener, &https, topic, "hostname-https", &["certificate"]).await;
    let mut off = p.clone();
    off.extend(props(&[("ssl.endpoint.identification.algorithm", "")]));
    produce_and_close(listener, &off, topic, "hostname-check-off", 5).await;
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
    let none = ssl_trusting_ca();
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
    produce_and_close(listener, &good, topic, "valid-client-certificate", 1).await;
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
