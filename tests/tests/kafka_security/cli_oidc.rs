//! The CLI over SASL_SSL from a Java `client.properties` file (6), and the built-in OIDC
//! client-credentials provider against a loopback token endpoint.

use ferrokafka::ProducerRecord;
use ferrokafka_tests::consume::Isolation;
use ferrokafka_tests::paths::run_cli;
use ferrokafka_tests::producing::metric;
use ferrokafka_tests::security::{Listener, PASSWORD, USER};

use crate::{
    FAIL_BLOCK_MS, FAIL_GUARD, WAIT, create, kafka, key_values, path, producer, props, read_back,
};

// ---------------------------------------------------------------------------------------------
// 6. The CLI
// ---------------------------------------------------------------------------------------------

/// Runs the CLI on a blocking thread with `stdin` as its input, at most twice [`WAIT`]; returns
/// (exit code, stdout and stderr).
async fn run(args: Vec<String>, stdin: String) -> (Option<i32>, String) {
    tokio::task::spawn_blocking(move || run_cli(&args, stdin.as_bytes(), 2 * WAIT))
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
    let (code, out) = run(args(&[]), lines.join("\n") + "\n").await;
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
    let (code, out) = run(
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
