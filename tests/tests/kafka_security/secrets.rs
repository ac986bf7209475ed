//! Secrets and key formats (5): secrets stay out of `Debug` output, errors and the tracing
//! output; a wrong `ssl.key.password` names the key; JKS and PKCS12 stores are refused naming PEM.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_tests::security::{CLIENT_KEY_PASSWORD, Listener, PASSWORD, USER};

use crate::failures::expect_failure;
use crate::{
    FAIL_BLOCK_MS, FAIL_GUARD, create, kafka, path, produce_and_close, props, sasl, set, trust_ca,
};

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
            produce_and_close(
                Listener::SaslSsl,
                &sasl(Listener::SaslSsl, "SCRAM-SHA-512"),
                "sec-tracing",
                "tracing",
                1,
            )
            .await;
            let mut wrong = sasl(Listener::SaslSsl, "SCRAM-SHA-512");
            set(&mut wrong, "sasl.password", WRONG);
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
