use std::time::Duration;

use ferrokafka_records::{Compression, CompressionType};

use super::*;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn props(extra: &[(&str, &str)]) -> Result<ProducerConfig, ConfigError> {
    let mut all = vec![("bootstrap.servers", "localhost:9092")];
    all.extend_from_slice(extra);
    ProducerConfig::from_properties(all)
}

fn err(extra: &[(&str, &str)]) -> String {
    props(extra).unwrap_err().to_string()
}

#[test]
fn every_default() {
    let c = props(&[]).unwrap();
    assert_eq!(
        c.bootstrap_servers,
        vec![BrokerAddress::new("localhost", 9092)]
    );
    assert_eq!(c.client_id, "");
    assert_eq!(c.acks, Acks::All);
    assert_eq!(c.linger, ms(5));
    assert_eq!(c.batch_size, 16384);
    assert_eq!(c.buffer_memory, 33_554_432);
    assert_eq!(c.compression, Compression::NONE);
    assert_eq!((c.gzip_level, c.lz4_level, c.zstd_level), (-1, 9, 3));
    assert_eq!(c.max_block, ms(60_000));
    assert_eq!(c.max_request_size, 1_048_576);
    assert_eq!(c.request_timeout, ms(30_000));
    assert_eq!(c.delivery_timeout, ms(120_000));
    assert_eq!(c.retries, i32::MAX);
    assert_eq!(c.retry_backoff, ms(100));
    assert_eq!(c.retry_backoff_max, ms(1000));
    assert_eq!(c.max_in_flight_requests_per_connection, 5);
    assert_eq!(c.metadata_max_age, ms(300_000));
    assert_eq!(c.metadata_max_idle, ms(300_000));
    assert_eq!(c.partitioner, "");
    assert!(c.partitioner_adaptive_partitioning);
    assert_eq!(c.partitioner_availability_timeout, Duration::ZERO);
    assert!(!c.partitioner_ignore_keys);
    assert!(c.enable_idempotence);
    assert_eq!(c.transactional_id, None);
    assert_eq!(c.transaction_timeout, ms(60_000));
    assert_eq!(c.reconnect_backoff, ms(50));
    assert_eq!(c.reconnect_backoff_max, ms(1000));
    assert_eq!(c.connections_max_idle, ms(540_000));
    assert_eq!(c.socket_connection_setup_timeout, ms(10_000));
    assert!(c.warnings().is_empty());
    // The defaults agree with the lower crates' own defaults.
    // ... but for the facade's linger slack (Java's millisecond clock sends a batch half a
    // millisecond early on average).
    let mut accumulator = AccumulatorConfig::default();
    accumulator.linger_slack = Duration::from_micros(500);
    assert_eq!(c.to_accumulator_config(), accumulator);
    assert_eq!(c.to_metadata_config(), MetadataConfig::default());
    assert_eq!(c.partitioner_config(), PartitionerConfig::default());
}

#[test]
fn every_key_settable_by_string() {
    let c = props(&[
        ("bootstrap.servers", "a:1,b:2"),
        ("client.id", "me"),
        ("acks", "all"),
        ("linger.ms", "7"),
        ("batch.size", "1000"),
        ("buffer.memory", "2000"),
        ("compression.type", "zstd"),
        ("compression.gzip.level", "9"),
        ("compression.lz4.level", "17"),
        ("compression.zstd.level", "-5"),
        ("max.block.ms", "11"),
        ("max.request.size", "3000"),
        ("request.timeout.ms", "12"),
        ("delivery.timeout.ms", "100"),
        ("retries", "3"),
        ("retry.backoff.ms", "13"),
        ("retry.backoff.max.ms", "14"),
        ("max.in.flight.requests.per.connection", "2"),
        ("metadata.max.age.ms", "15"),
        ("metadata.max.idle.ms", "6000"),
        ("partitioner", "murmur2_random"),
        ("partitioner.adaptive.partitioning.enable", "false"),
        ("partitioner.availability.timeout.ms", "16"),
        ("partitioner.ignore.keys", "TRUE"),
        ("enable.idempotence", "true"),
        ("transactional.id", "tx"),
        ("transaction.timeout.ms", "17"),
        ("reconnect.backoff.ms", "18"),
        ("reconnect.backoff.max.ms", "19"),
        ("connections.max.idle.ms", "20"),
        ("socket.connection.setup.timeout.ms", "21"),
    ])
    .unwrap();
    assert_eq!(c.bootstrap_servers.len(), 2);
    assert_eq!(c.client_id, "me");
    assert_eq!(c.linger, ms(7));
    assert_eq!(
        (c.batch_size, c.buffer_memory, c.max_request_size),
        (1000, 2000, 3000)
    );
    assert_eq!(
        c.compression,
        Compression::new(CompressionType::Zstd, Some(-5)).unwrap()
    );
    assert_eq!((c.gzip_level, c.lz4_level, c.zstd_level), (9, 17, -5));
    assert_eq!(c.max_block, ms(11));
    assert_eq!(c.request_timeout, ms(12));
    assert_eq!(c.delivery_timeout, ms(100));
    assert_eq!(c.retries, 3);
    assert_eq!((c.retry_backoff, c.retry_backoff_max), (ms(13), ms(14)));
    assert_eq!(c.max_in_flight_requests_per_connection, 2);
    assert_eq!(
        (c.metadata_max_age, c.metadata_max_idle),
        (ms(15), ms(6000))
    );
    assert_eq!(c.partitioner, "murmur2_random");
    assert!(!c.partitioner_adaptive_partitioning);
    assert_eq!(c.partitioner_availability_timeout, ms(16));
    assert!(c.partitioner_ignore_keys);
    assert!(c.enable_idempotence);
    assert_eq!(c.transactional_id.as_deref(), Some("tx"));
    assert_eq!(c.transaction_timeout, ms(17));
    assert_eq!(
        (c.reconnect_backoff, c.reconnect_backoff_max),
        (ms(18), ms(19))
    );
    assert_eq!(c.connections_max_idle, ms(20));
    assert_eq!(c.socket_connection_setup_timeout, ms(21));
    let acc = c.to_accumulator_config();
    assert_eq!(
        (acc.batch_size, acc.linger, acc.max_in_flight_per_partition),
        (1000, ms(7), 2)
    );
    assert_eq!(acc.compression, c.compression);
    assert_eq!(c.to_metadata_config().max_idle, ms(6000));
    let p = c.partitioner_config();
    assert_eq!(
        (p.batch_size, p.availability_timeout_ms, p.ignore_keys),
        (1000, 16, true)
    );
    assert!(ferrokafka_partition::by_name_with(&c.partitioner, &p).is_ok());
    for (v, acks) in [("-1", Acks::All), ("0", Acks::None), ("1", Acks::Leader)] {
        let c = props(&[("acks", v), ("enable.idempotence", "false")]).unwrap();
        assert_eq!(c.acks, acks);
    }
    let c = props(&[("partitioner.class", JAVA_RR)]).unwrap();
    assert_eq!(c.partitioner, JAVA_RR);
}

const JAVA_RR: &str = ferrokafka_partition::JAVA_ROUND_ROBIN_PARTITIONER;

#[test]
fn bad_values_name_key_and_value() {
    let cases: &[(&str, &str, &str)] = &[
        ("acks", "2", "all, -1, 0 or 1"),
        ("linger.ms", "-1", "milliseconds"),
        ("linger.ms", "3000000000", "2147483647"),
        ("batch.size", "big", "bytes"),
        ("buffer.memory", "0", "1.."),
        (
            "compression.type",
            "brotli",
            "none, gzip, snappy, lz4 or zstd",
        ),
        ("compression.type", "GZIP", "gzip"),
        ("compression.gzip.level", "10", "1..=9"),
        ("compression.lz4.level", "0", "1..=17"),
        ("compression.zstd.level", "23", "22"),
        ("compression.zstd.level", "x", "integer"),
        ("max.block.ms", "soon", "milliseconds"),
        ("max.request.size", "0", "1.."),
        ("request.timeout.ms", "1.5", "milliseconds"),
        ("delivery.timeout.ms", "-3", "milliseconds"),
        ("retries", "-1", "0..=2147483647"),
        ("retry.backoff.ms", "", "milliseconds"),
        ("retry.backoff.max.ms", "x", "milliseconds"),
        ("max.in.flight.requests.per.connection", "0", "1.."),
        ("metadata.max.age.ms", "x", "milliseconds"),
        ("metadata.max.idle.ms", "4999", "5000"),
        ("partitioner", "nope", "murmur2"),
        (
            "partitioner.adaptive.partitioning.enable",
            "yes",
            "true or false",
        ),
        ("partitioner.availability.timeout.ms", "x", "milliseconds"),
        ("partitioner.ignore.keys", "1", "true or false"),
        (
            "client.dns.lookup",
            "resolve_canonical_bootstrap_servers_only",
            "not supported",
        ),
        ("client.dns.lookup", "default", "use_all_dns_ips"),
        (
            "metadata.recovery.strategy",
            "sometimes",
            "rebootstrap or none",
        ),
        ("enable.idempotence", "on", "true or false"),
        ("transaction.timeout.ms", "x", "milliseconds"),
        ("reconnect.backoff.ms", "x", "milliseconds"),
        ("reconnect.backoff.max.ms", "x", "milliseconds"),
        ("connections.max.idle.ms", "x", "milliseconds"),
        ("socket.connection.setup.timeout.ms", "x", "milliseconds"),
    ];
    for (key, value, expected) in cases {
        let msg = err(&[(key, value)]);
        assert!(msg.contains(&format!("`{key}`")), "{key}={value}: {msg}");
        assert!(msg.contains(&format!("`{value}`")), "{key}={value}: {msg}");
        assert!(msg.contains(expected), "{key}={value}: {msg}");
    }
}

#[test]
fn bootstrap_is_required_and_checked() {
    let e = ProducerConfig::builder().build().unwrap_err();
    assert_eq!(e, ConfigError::MissingBootstrapServers);
    assert!(e.to_string().contains("bootstrap.servers"));
    let msg = err(&[("bootstrap.servers", "nohost")]);
    assert!(
        msg.contains("bootstrap.servers") && msg.contains("nohost"),
        "{msg}"
    );
}

#[test]
fn unknown_key_with_and_without_suggestion() {
    let e = props(&[("linger.msec", "5")]).unwrap_err();
    assert_eq!(
        e,
        ConfigError::UnknownKey {
            key: "linger.msec".into(),
            suggestion: Some("linger.ms"),
        }
    );
    assert!(e.to_string().contains("did you mean `linger.ms`"));
    let msg = err(&[("max.inflight.requests.per.connection", "5")]);
    assert!(
        msg.contains("max.in.flight.requests.per.connection"),
        "{msg}"
    );
    let e = props(&[("completely.different", "1")]).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::UnknownKey {
                suggestion: None,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("completely.different"));
}

#[test]
fn delivery_timeout_cross_check() {
    let msg = err(&[
        ("delivery.timeout.ms", "30004"),
        ("linger.ms", "5"),
        ("request.timeout.ms", "30000"),
    ]);
    assert!(
        msg.contains("delivery.timeout.ms") && msg.contains("30004"),
        "{msg}"
    );
    assert!(props(&[("delivery.timeout.ms", "30005")]).is_ok());
    // Not set by the user: raised to the sum, as Java does.
    let c = props(&[("request.timeout.ms", "200000")]).unwrap();
    assert_eq!(c.delivery_timeout, ms(200_005));
    assert!(
        c.warnings()
            .contains(&ConfigWarning::DeliveryTimeoutRaised {
                from_ms: 120_000,
                to_ms: 200_005
            })
    );
    let e = ProducerConfig::builder()
        .bootstrap_servers("a:1")
        .delivery_timeout(ms(10))
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::DeliveryTimeoutTooShort { .. }));
}

#[test]
fn idempotence_auto_disabled_with_reason() {
    for (key, value) in [
        ("acks", "1"),
        ("acks", "0"),
        ("max.in.flight.requests.per.connection", "6"),
        ("retries", "0"),
    ] {
        let c = props(&[(key, value)]).unwrap();
        assert!(!c.enable_idempotence, "{key}");
        assert_eq!(
            c.warnings(),
            [ConfigWarning::IdempotenceDisabled {
                key,
                value: value.to_owned()
            }]
        );
    }
    // Explicitly false: no warning needed.
    let c = props(&[("acks", "1"), ("enable.idempotence", "false")]).unwrap();
    assert!(!c.enable_idempotence);
    assert!(c.warnings().is_empty());
}

#[test]
fn idempotence_explicit_conflicts_are_errors() {
    for (key, value) in [
        ("acks", "1"),
        ("acks", "0"),
        ("max.in.flight.requests.per.connection", "6"),
        ("retries", "0"),
    ] {
        let e = props(&[(key, value), ("enable.idempotence", "true")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::IdempotenceConflict {
                key,
                value: value.to_owned()
            }
        );
        assert!(e.to_string().contains(key));
    }
}

#[test]
fn transactional_id_requires_idempotence() {
    let c = props(&[("transactional.id", "t")]).unwrap();
    assert!(c.enable_idempotence);
    let msg = err(&[("transactional.id", "t"), ("enable.idempotence", "false")]);
    assert!(
        msg.contains("transactional.id") && msg.contains("enable.idempotence"),
        "{msg}"
    );
    let msg = err(&[("transactional.id", "t"), ("acks", "1")]);
    assert!(
        msg.contains("transactional.id") && msg.contains("acks"),
        "{msg}"
    );
}

#[test]
fn backoff_max_below_base_is_raised() {
    let c = props(&[("retry.backoff.ms", "500"), ("retry.backoff.max.ms", "10")]).unwrap();
    assert_eq!(c.retry_backoff_max, ms(500));
    assert_eq!(c.to_accumulator_config().validate(), Ok(()));
    assert_eq!(c.to_metadata_config().retry_backoff_max, ms(500));
    assert!(c.warnings().contains(&ConfigWarning::BackoffMaxRaised {
        key: "retry.backoff.max.ms",
        from_ms: 10,
        to_ms: 500
    }));
    let c = props(&[("reconnect.backoff.ms", "2000")]).unwrap();
    assert_eq!(c.reconnect_backoff_max, ms(2000));
}

#[test]
fn compression_level_follows_the_chosen_codec() {
    let c = props(&[
        ("compression.type", "gzip"),
        ("compression.gzip.level", "1"),
    ])
    .unwrap();
    assert_eq!(
        c.compression,
        Compression::new(CompressionType::Gzip, Some(1)).unwrap()
    );
    let c = props(&[
        ("compression.type", "snappy"),
        ("compression.lz4.level", "3"),
    ])
    .unwrap();
    assert_eq!(c.compression, Compression::of(CompressionType::Snappy));
}

#[test]
fn builder_and_properties_agree() {
    let typed = ProducerConfig::builder()
        .bootstrap_servers("k1:9092,k2:9093")
        .client_id("app")
        .acks(Acks::Leader)
        .linger(ms(20))
        .batch_size(65536)
        .buffer_memory(1 << 26)
        .compression_type(CompressionType::Lz4)
        .lz4_level(4)
        .max_block(ms(1000))
        .max_request_size(2_000_000)
        .request_timeout(ms(15_000))
        .delivery_timeout(ms(60_000))
        .retries(10)
        .retry_backoff(ms(200))
        .retry_backoff_max(ms(2000))
        .max_in_flight_requests_per_connection(1)
        .metadata_max_age(ms(60_000))
        .metadata_max_idle(ms(120_000))
        .partitioner("consistent_random")
        .partitioner_adaptive_partitioning(false)
        .partitioner_availability_timeout(ms(50))
        .partitioner_ignore_keys(true)
        .partitioner_rack_aware(true)
        .metadata_recovery_strategy(crate::MetadataRecoveryStrategy::None)
        .metadata_recovery_rebootstrap_trigger(ms(60_000))
        .client_rack("use1-az2")
        .transaction_timeout(ms(30_000))
        .reconnect_backoff(ms(10))
        .reconnect_backoff_max(ms(100))
        .connections_max_idle(ms(1000))
        .socket_connection_setup_timeout(ms(5000))
        .build()
        .unwrap();
    let strings = ProducerConfig::from_properties([
        ("bootstrap.servers", "k1:9092,k2:9093"),
        ("client.id", "app"),
        ("acks", "1"),
        ("linger.ms", "20"),
        ("batch.size", "65536"),
        ("buffer.memory", "67108864"),
        ("compression.type", "lz4"),
        ("compression.lz4.level", "4"),
        ("max.block.ms", "1000"),
        ("max.request.size", "2000000"),
        ("request.timeout.ms", "15000"),
        ("delivery.timeout.ms", "60000"),
        ("retries", "10"),
        ("retry.backoff.ms", "200"),
        ("retry.backoff.max.ms", "2000"),
        ("max.in.flight.requests.per.connection", "1"),
        ("metadata.max.age.ms", "60000"),
        ("metadata.max.idle.ms", "120000"),
        ("partitioner", "consistent_random"),
        ("partitioner.adaptive.partitioning.enable", "false"),
        ("partitioner.availability.timeout.ms", "50"),
        ("partitioner.ignore.keys", "true"),
        ("partitioner.rack.aware", "true"),
        ("metadata.recovery.strategy", "none"),
        ("metadata.recovery.rebootstrap.trigger.ms", "60000"),
        ("client.rack", "use1-az2"),
        ("client.dns.lookup", "use_all_dns_ips"),
        ("transaction.timeout.ms", "30000"),
        ("reconnect.backoff.ms", "10"),
        ("reconnect.backoff.max.ms", "100"),
        ("connections.max.idle.ms", "1000"),
        ("socket.connection.setup.timeout.ms", "5000"),
    ])
    .unwrap();
    assert_eq!(typed, strings);
    assert!(!typed.enable_idempotence);
    // Typed values go through the same range checks.
    let e = ProducerConfig::builder()
        .bootstrap_servers("a:1")
        .max_in_flight_requests_per_connection(0)
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("max.in.flight.requests.per.connection")
    );
    // A mix of both works, and a later set() overrides a typed value.
    let mixed = ProducerConfig::builder()
        .linger(ms(1))
        .set("bootstrap.servers", "a:1")
        .set("linger.ms", "9")
        .build()
        .unwrap();
    assert_eq!(mixed.linger, ms(9));
}

#[test]
fn every_known_key_is_accepted() {
    for key in KNOWN_KEYS {
        let e = props(&[(key, "\u{1}")]);
        assert!(
            !matches!(e, Err(ConfigError::UnknownKey { .. })),
            "{key} is listed but not handled"
        );
    }
}

#[test]
fn an_empty_transactional_id_is_refused_naming_the_key() {
    let e = props(&[("bootstrap.servers", "a:1"), ("transactional.id", "")]).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::InvalidValue {
                key: "transactional.id",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("`transactional.id`"), "{e}");
    let typed = ProducerConfig::builder()
        .bootstrap_servers("a:1")
        .transactional_id("")
        .build();
    assert!(typed.is_err(), "{typed:?}");
}

#[test]
fn warnings_read_as_one_line_naming_the_key() {
    let c = props(&[("bootstrap.servers", "a:1"), ("acks", "1")]).unwrap();
    let lines: Vec<String> = c.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("idempotence disabled because `acks` is `1`"),
        "{lines:?}"
    );
    assert!(!lines[0].contains('\n'));
}

#[test]
fn a_bootstrap_url_is_refused_with_a_hint() {
    let e = props(&[("bootstrap.servers", "tcp://127.0.0.1:9092")]).unwrap_err();
    assert!(
        e.to_string().contains("did you mean `127.0.0.1:9092`"),
        "{e}"
    );
}

#[test]
fn every_security_key_is_validated_and_its_errors_name_it() {
    let sasl = |extra: &[(&str, &str)]| {
        let mut p = vec![
            ("bootstrap.servers", "a:1"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ];
        p.extend_from_slice(extra);
        props(&p)
    };
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("security.protocol", "TLS")], "security.protocol"),
        (
            &[("ssl.endpoint.identification.algorithm", "dns")],
            "ssl.endpoint.identification.algorithm",
        ),
        (
            &[("enable.ssl.certificate.verification", "maybe")],
            "enable.ssl.certificate.verification",
        ),
        (&[("sasl.mechanism", "GSSAPI")], "sasl.mechanism"),
        (&[("sasl.mechanism", "scram-sha-256")], "sasl.mechanism"),
        (&[("ssl.truststore.type", "JKS")], "ssl.truststore.type"),
        (&[("ssl.keystore.type", "PKCS12")], "ssl.keystore.type"),
        (
            &[("sasl.oauthbearer.method", "saml")],
            "sasl.oauthbearer.method",
        ),
        (
            &[("ssl.certificate.location", "/c.pem")],
            "ssl.key.location",
        ),
        (
            &[("ssl.key.location", "/k.pem")],
            "ssl.certificate.location",
        ),
        (
            &[("sasl.jaas.config", "no module here")],
            "sasl.jaas.config",
        ),
        (
            &[
                ("sasl.mechanism", "OAUTHBEARER"),
                ("sasl.oauthbearer.config", "principal"),
            ],
            "sasl.oauthbearer.config",
        ),
        (
            &[("sasl.mechanism", "OAUTHBEARER")],
            "sasl.oauthbearer.config",
        ),
    ];
    for (extra, key) in cases {
        let e = sasl(extra).expect_err(&format!("{extra:?} is refused"));
        assert!(
            e.to_string().contains(&format!("`{key}`")),
            "{extra:?}: {e}"
        );
    }
    // Credentials: each one missing is named.
    for (missing, key) in [
        ("sasl.username", "sasl.username"),
        ("sasl.password", "sasl.password"),
    ] {
        let p: Vec<(&str, &str)> = [
            ("bootstrap.servers", "a:1"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ]
        .into_iter()
        .filter(|(k, _)| *k != missing)
        .collect();
        let e = props(&p).unwrap_err();
        assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
    }
    // OIDC settings (the feature is on in the workspace's test builds).
    let oidc = |extra: &[(&str, &str)]| {
        let mut p = vec![
            ("bootstrap.servers", "a:1"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.method", "oidc"),
        ];
        p.extend_from_slice(extra);
        props(&p)
    };
    if cfg!(feature = "oidc") {
        for (extra, key) in [
            (&[][..], "sasl.oauthbearer.token.endpoint.url"),
            (
                &[("sasl.oauthbearer.token.endpoint.url", "ftp://idp/token")][..],
                "sasl.oauthbearer.token.endpoint.url",
            ),
            (
                &[("sasl.oauthbearer.token.endpoint.url", "https://idp/token")][..],
                "sasl.oauthbearer.client.id",
            ),
            (
                &[
                    ("sasl.oauthbearer.token.endpoint.url", "https://idp/token"),
                    ("sasl.oauthbearer.client.id", "c"),
                ][..],
                "sasl.oauthbearer.client.secret",
            ),
        ] {
            let e = oidc(extra).unwrap_err();
            assert!(
                e.to_string().contains(&format!("`{key}`")),
                "{extra:?}: {e}"
            );
        }
        assert!(
            oidc(&[
                ("sasl.oauthbearer.token.endpoint.url", "https://idp/token"),
                ("sasl.oauthbearer.client.id", "c"),
                ("sasl.oauthbearer.client.secret", "s"),
            ])
            .is_ok()
        );
    } else {
        let e = oidc(&[]).unwrap_err();
        assert!(e.to_string().contains("`oidc` cargo feature"), "{e}");
    }
    // Unknown security-looking keys get a suggestion.
    let e = props(&[("bootstrap.servers", "a:1"), ("sasl.mechanizm", "PLAIN")]).unwrap_err();
    assert!(e.to_string().contains("sasl.mechanism"), "{e}");
}
