//! Tests of the security settings: parsing, required credentials, JAAS, secrets kept out of `Debug`.

use super::*;

fn build(pairs: &[(&str, &str)]) -> Result<SecurityConfig, ConfigError> {
    let mut s = SecurityConfig::default();
    let mut p = Pending::default();
    for (k, v) in pairs {
        assert!(apply(&mut s, &mut p, k, v)?, "{k} is a security key");
    }
    finish(&mut s, &p, None)?;
    Ok(s)
}

#[test]
fn protocols_parse_in_any_case_and_bad_ones_name_the_key() {
    assert_eq!(
        build(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p")
        ])
        .unwrap()
        .protocol,
        SecurityProtocol::SaslSsl
    );
    let e = build(&[("security.protocol", "TLS")]).unwrap_err();
    assert!(e.to_string().contains("`security.protocol`"), "{e}");
}

#[test]
fn sasl_needs_a_supported_mechanism_and_credentials() {
    let e = build(&[("security.protocol", "SASL_PLAINTEXT")]).unwrap_err();
    assert!(e.to_string().contains("GSSAPI"), "{e}");
    let e = build(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("`sasl.username`"), "{e}");
    let s = build(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.username", "alice"),
        ("sasl.password", "hunter2"),
    ])
    .unwrap();
    let sasl = s.sasl.unwrap();
    assert_eq!(sasl.mechanism, Mechanism::ScramSha512);
    assert_eq!(sasl.credentials.unwrap().username, "alice");
}

#[test]
fn jaas_configs_give_credentials_and_unsecured_tokens() {
    let s = build(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="p\"w";"#,
        ),
    ])
    .unwrap();
    let c = s.sasl.unwrap().credentials.unwrap();
    assert_eq!(
        (c.username.as_str(), c.password.as_str()),
        ("alice", "p\"w")
    );

    let s = build(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="bob";"#,
        ),
    ])
    .unwrap();
    assert!(
        matches!(s.oauth, Some(TokenSource::Unsecured { ref principal, .. }) if principal == "bob")
    );

    let s = build(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.oauthbearer.config",
            "principal=carol scope=a,b lifeSeconds=60",
        ),
    ])
    .unwrap();
    assert_eq!(
        s.oauth,
        Some(TokenSource::Unsecured {
            principal: "carol".into(),
            scope: Some("a b".into()),
            life_seconds: 60
        })
    );

    let e = build(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "SCRAM-SHA-256"),
        (
            "sasl.jaas.config",
            r#"x.PlainLoginModule required username="a" password="secret-pw";"#,
        ),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("ScramLoginModule"), "{e}");
    assert!(!e.to_string().contains("secret-pw"), "{e}");
}

#[test]
fn only_pem_stores_are_read_and_the_error_says_so() {
    let e = build(&[("ssl.keystore.type", "JKS")]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("`ssl.keystore.type`") && text.contains("PEM"),
        "{text}"
    );
    assert!(build(&[("ssl.truststore.type", "pem")]).is_ok());
}

#[test]
fn a_certificate_without_its_key_is_refused() {
    let e = build(&[("ssl.certificate.location", "/c.pem")]).unwrap_err();
    assert!(e.to_string().contains("ssl.key.location"), "{e}");
}

#[test]
fn secrets_stay_out_of_debug() {
    let s = build(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", "alice"),
        ("sasl.password", "hunter2"),
        ("ssl.key.pem", "-----BEGIN PRIVATE KEY-----topsecret"),
        ("ssl.certificate.pem", "cert"),
        ("ssl.key.password", "keypass"),
    ])
    .unwrap();
    let shown = format!("{s:?}");
    for secret in ["hunter2", "topsecret", "keypass"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
