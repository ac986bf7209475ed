//! KIP-368 re-authentication (4): producers sending over several session lifetimes lose
//! nothing, also with Produce requests pipelined and with transactions committed across
//! lifetimes; and a SCRAM credential revoked while a producer runs (7).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{Producer, ProducerRecord};
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::kafka::JavaHelper;
use ferrokafka_tests::producing::{metric, within};
use ferrokafka_tests::security::Listener;

use crate::{
    FAIL_BLOCK_MS, FAIL_GUARD, WAIT, create, kafka, key_values, produce, producer, props,
    read_back, sasl,
};

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
    within(WAIT, "init_transactions", p.init_transactions())
        .await
        .unwrap_or_else(|e| panic!("init_transactions: {e}"));
    let mut sent = Vec::new();
    let lifetime = Duration::from_millis(kafka().reauth_ms());
    let max_txns = lifetime.as_millis() * 20 / 200;
    let mut txns = 0;
    while txns < max_txns {
        p.begin_transaction()
            .unwrap_or_else(|e| panic!("begin #{txns}: {e}"));
        sent.extend(produce(&p, topic, &format!("txn{txns}"), 5).await);
        within(WAIT, "commit_transaction", p.commit_transaction())
            .await
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
