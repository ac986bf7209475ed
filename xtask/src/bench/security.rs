//! `cargo xtask bench security`: what TLS and SASL cost each client on real Kafka (issue 13).
//!
//! One Apache Kafka node from the harness's [`SecureKafka`] (certificates made with rcgen, SCRAM
//! users formatted in), tuned as the `kafka` broker of the other modes (1 GiB heap,
//! `test_jvm: false`), and the same workload as `cargo xtask bench` (10-byte keys, 100-byte
//! values, idempotence on, acks=all, linger.ms=5, batch.size 1 MiB). Every client produces to
//! the same topic through each listener asked for: `PLAINTEXT` (the harness's own), `SSL`
//! (server certificate, the client trusts the CA and checks the host name), `SASL_PLAINTEXT`
//! and `SASL_SSL` (the `--mechanism`, SCRAM-SHA-512 by default, as [`USER`]). The properties are
//! each client's own spelling: librdkafka and ferrokafka take `ssl.ca.location`,
//! `sasl.username` and `sasl.password`; the Java producer takes a PEM truststore and
//! `sasl.jaas.config`. The high watermarks are read through PLAINTEXT.
//!
//! Order: one uncounted warm-up per listener (the broker's JIT warms up its TLS path too), then
//! for each run, for each client, the listeners one after the other, in reverse order on even
//! runs, so that a client's measurements on the listeners of one run are close together in
//! time. The table gives the medians per (client, listener) and, per client, each listener
//! against PLAINTEXT twice: the ratio of the medians, and the median of the same-run ratios
//! (each run's secured measurement over the same run's PLAINTEXT one), which is less sensitive
//! to load that changes during the series.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use ferrokafka_tests::security::{self as secure, PASSWORD, SecureKafka, USER};

use super::{
    Bins, Broker, CLIENTS, JavaClient, Options, Sample, build, capabilities, create_kafka_topic,
    exit_code, kafka_log_note, list, load_note, measure_at, median, thousands, wait_for_watermarks,
};
use crate::util::take_option;

/// Records per measurement unless `--kafka-records` (or `--records`) is given.
const DEFAULT_RECORDS: u64 = 2_000_000;

/// The listeners `--listeners` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl Listener {
    fn name(self) -> &'static str {
        match self {
            Listener::Plaintext => "PLAINTEXT",
            Listener::Ssl => "SSL",
            Listener::SaslPlaintext => "SASL_PLAINTEXT",
            Listener::SaslSsl => "SASL_SSL",
        }
    }

    fn parse(s: &str) -> Result<Listener> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "plaintext" => Listener::Plaintext,
            "ssl" => Listener::Ssl,
            "sasl_plaintext" => Listener::SaslPlaintext,
            "sasl_ssl" => Listener::SaslSsl,
            other => {
                bail!("unknown listener {other:?} (plaintext, ssl, sasl_plaintext or sasl_ssl)")
            }
        })
    }

    /// The harness's listener (`None`: its PLAINTEXT bootstrap).
    fn harness(self) -> Option<secure::Listener> {
        match self {
            Listener::Plaintext => None,
            Listener::Ssl => Some(secure::Listener::Ssl),
            Listener::SaslPlaintext => Some(secure::Listener::SaslPlaintext),
            Listener::SaslSsl => Some(secure::Listener::SaslSsl),
        }
    }

    fn tls(self) -> bool {
        matches!(self, Listener::Ssl | Listener::SaslSsl)
    }

    fn sasl(self) -> bool {
        matches!(self, Listener::SaslPlaintext | Listener::SaslSsl)
    }
}

/// The SASL mechanisms `--mechanism` may name (those with a user and password).
const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

#[derive(Debug, Clone)]
struct SecurityOptions {
    listeners: Vec<Listener>,
    mechanism: String,
    opts: Options,
}

impl SecurityOptions {
    fn parse(args: &[String]) -> Result<SecurityOptions> {
        let mut args = args.to_vec();
        let listeners = list(
            take_option(&mut args, "--listeners")?,
            "plaintext,ssl,sasl_ssl",
        )
        .iter()
        .map(|l| Listener::parse(l))
        .collect::<Result<Vec<_>>>()?;
        ensure!(
            listeners.first() == Some(&Listener::Plaintext),
            "--listeners must start with plaintext (the ratios are against it)"
        );
        ensure!(
            (1..listeners.len()).all(|i| !listeners[..i].contains(&listeners[i])),
            "--listeners names a listener twice"
        );
        let mechanism = take_option(&mut args, "--mechanism")?
            .unwrap_or_else(|| "SCRAM-SHA-512".into())
            .to_ascii_uppercase();
        ensure!(
            MECHANISMS.contains(&mechanism.as_str()),
            "--mechanism takes one of {MECHANISMS:?}, got {mechanism:?}"
        );
        let mut opts = Options::parse(&args)?;
        ensure!(
            !opts.brokers_given,
            "`cargo xtask bench security` runs on its own Kafka node; --brokers does not apply"
        );
        opts.brokers = vec![Broker::Kafka];
        if !opts.records_given {
            opts.kafka_records = DEFAULT_RECORDS;
        } else if args.iter().any(|a| a.starts_with("--records"))
            && !args.iter().any(|a| a.starts_with("--kafka-records"))
        {
            // `--records` alone: the count of the only broker there is.
            opts.kafka_records = opts.mock_records;
        }
        Ok(SecurityOptions {
            listeners,
            mechanism,
            opts,
        })
    }
}

/// The properties (`key=value`) with which `client` connects to `listener`, trusting the CA
/// at `ca` and authenticating as [`USER`] with `mechanism`.
fn client_props(client: &str, listener: Listener, mechanism: &str, ca: &Path) -> Vec<String> {
    let mut props = Vec::new();
    if listener == Listener::Plaintext {
        return props;
    }
    let ca = ca.display();
    props.push(format!("security.protocol={}", listener.name()));
    let java = client == "java";
    if listener.tls() {
        if java {
            // Java checks the host name by default (`https`).
            props.push("ssl.truststore.type=PEM".into());
            props.push(format!("ssl.truststore.location={ca}"));
        } else {
            props.push(format!("ssl.ca.location={ca}"));
            props.push("ssl.endpoint.identification.algorithm=https".into());
        }
    }
    if listener.sasl() {
        props.push(format!("sasl.mechanism={mechanism}"));
        if java {
            let module = if mechanism == "PLAIN" {
                "org.apache.kafka.common.security.plain.PlainLoginModule"
            } else {
                "org.apache.kafka.common.security.scram.ScramLoginModule"
            };
            props.push(format!(
                "sasl.jaas.config={module} required username=\"{USER}\" password=\"{PASSWORD}\";"
            ));
        } else {
            props.push(format!("sasl.username={USER}"));
            props.push(format!("sasl.password={PASSWORD}"));
        }
    }
    props
}

/// One client's measurements on one listener, by run (`None`: that run failed).
#[derive(Debug, Clone)]
struct Series {
    client: String,
    listener: Listener,
    runs: Vec<Option<Sample>>,
}

impl Series {
    fn ok(&self) -> impl Iterator<Item = &Sample> {
        self.runs.iter().flatten()
    }

    fn median(&self, f: fn(&Sample) -> f64) -> f64 {
        median(self.ok().map(f).collect())
    }
}

/// The median over runs of `f(secured) / f(plaintext)`, both from the same run.
fn same_run_ratio(secured: &Series, plain: &Series, f: fn(&Sample) -> f64) -> f64 {
    median(
        secured
            .runs
            .iter()
            .zip(&plain.runs)
            .filter_map(|(s, p)| Some(f(s.as_ref()?) / f(p.as_ref()?)))
            .collect(),
    )
}

fn table(series: &[Series], so: &SecurityOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "medians; CPU = user+sys of the client process per million records; RSS = peak \
         resident set; SASL = {}",
        so.mechanism
    );
    let _ = writeln!(
        out,
        "{:<11} {:<15} {:>9} {:>5} {:>12} {:>8} {:>12} {:>13}",
        "client", "listener", "records", "runs", "records/s", "MB/s", "CPU s/M rec", "peak RSS MiB"
    );
    let records = thousands(so.opts.kafka_records as f64);
    for s in series {
        let _ = writeln!(
            out,
            "{:<11} {:<15} {:>9} {:>5} {:>12} {:>8.1} {:>12.3} {:>13.1}",
            s.client,
            s.listener.name(),
            records,
            s.ok().count(),
            thousands(s.median(Sample::records_per_s)),
            s.median(Sample::mb_per_s),
            s.median(Sample::cpu_per_million),
            s.median(Sample::rss_mib),
        );
    }
    let _ = writeln!(
        out,
        "\noverhead against PLAINTEXT, per client: ratio of the medians (median of the same-run \
         ratios)"
    );
    let _ = writeln!(
        out,
        "{:<11} {:<26} {:>16} {:>16} {:>9}",
        "client", "listener", "records/s", "CPU per record", "RSS"
    );
    let of = |client: &str, l: Listener| {
        series
            .iter()
            .find(|s| s.client == client && s.listener == l && s.ok().next().is_some())
    };
    let both = |a: f64, b: f64| format!("{a:.2}x ({b:.2}x)");
    for client in CLIENTS {
        let Some(plain) = of(client, Listener::Plaintext) else {
            continue;
        };
        for &l in so.listeners.iter().filter(|&&l| l != Listener::Plaintext) {
            let Some(secured) = of(client, l) else {
                continue;
            };
            let ratio = |f: fn(&Sample) -> f64| {
                both(
                    secured.median(f) / plain.median(f),
                    same_run_ratio(secured, plain, f),
                )
            };
            let _ = writeln!(
                out,
                "{:<11} {:<26} {:>16} {:>16} {:>8.2}x",
                client,
                format!("{}/PLAINTEXT", l.name()),
                ratio(Sample::records_per_s),
                ratio(Sample::cpu_per_million),
                secured.median(Sample::rss_mib) / plain.median(Sample::rss_mib),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nferrokafka against the others, per listener (medians)"
    );
    for &l in &so.listeners {
        let Some(f) = of("ferrokafka", l) else {
            continue;
        };
        for other in ["librdkafka", "java"] {
            if let Some(o) = of(other, l) {
                let m = |s: &Series, g: fn(&Sample) -> f64| s.median(g);
                let _ = writeln!(
                    out,
                    "{:<15} ferrokafka/{other:<10} records/s {:.2}x, CPU per record {:.2}x, RSS \
                     {:.2}x",
                    l.name(),
                    m(f, Sample::records_per_s) / m(o, Sample::records_per_s),
                    m(f, Sample::cpu_per_million) / m(o, Sample::cpu_per_million),
                    m(f, Sample::rss_mib) / m(o, Sample::rss_mib),
                );
            }
        }
    }
    out
}

pub(super) fn run(args: &[String]) -> Result<ExitCode> {
    let so = SecurityOptions::parse(args)?;
    let opts = &so.opts;
    let features = match opts.features.as_deref() {
        Some(f) => format!("{f},ssl"),
        None => "ssl".into(),
    };
    let mut bins: Bins = build(Some(&features), opts.no_ferrokafka)?;
    let runnable = capabilities(&bins.client)?;
    let mut clients: Vec<String> = opts
        .clients(Broker::Kafka)
        .into_iter()
        .filter(|c| c == "java" || runnable.contains(c))
        .collect();
    ensure!(!clients.is_empty(), "no client to measure");
    if clients.iter().any(|c| c == "java") {
        bins.java = Some(JavaClient::prepare()?);
    }
    clients.sort_by_key(|c| CLIENTS.iter().position(|k| k == c));

    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "ferrokafka-bench security: {} on {}; {} records per measurement, {} runs; keys 10 B, \
         values 100 B, enable.idempotence={}, acks=all, linger.ms=5, batch.size=1048576, \
         compression={}, {} partitions; SASL mechanism {}; {cpus} CPUs",
        clients.join(", "),
        so.listeners
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", "),
        thousands(opts.kafka_records as f64),
        opts.runs,
        opts.idempotence,
        opts.compression,
        opts.partitions,
        so.mechanism,
    );
    let started = Instant::now();
    let kafka = SecureKafka::start_with(0, |o| {
        o.heap_mb = 1024;
        o.test_jvm = false;
        o.broker_props
            .push(("log.retention.check.interval.ms".into(), "10000".into()));
    })
    .context("start the secured Kafka node")?;
    let plain = kafka.plaintext_bootstrap();
    create_kafka_topic(&plain, opts)?;
    println!(
        "kafka up in {:.1} s ({}): {}",
        started.elapsed().as_secs_f64(),
        kafka.cluster().dir().display(),
        so.listeners
            .iter()
            .map(|&l| format!("{}={}", l.name(), bootstrap(&kafka, l)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    wait_for_watermarks(&bins.client, &plain)?;
    println!("{}", load_note(cpus));

    let mut failures = Vec::new();
    let mut one = |client: &str, l: Listener, label: &str| -> Option<Sample> {
        let props = client_props(client, l, &so.mechanism, &kafka.files().ca);
        let at = bootstrap(&kafka, l);
        match measure_at(&bins, client, &at, &plain, &props, Broker::Kafka, opts) {
            Ok(s) => {
                println!("{label}: {}", s.describe());
                Some(s)
            }
            Err(e) => {
                println!("{label}: FAILED: {e:#}");
                failures.push(format!("{label}: {e:#}"));
                None
            }
        }
    };
    for &l in &so.listeners {
        let client = &clients[0];
        one(
            client,
            l,
            &format!("{client:<11} {:<15} warm-up (not counted)", l.name()),
        );
    }
    let mut series: Vec<Series> = clients
        .iter()
        .flat_map(|c| {
            so.listeners.iter().map(|&l| Series {
                client: c.clone(),
                listener: l,
                runs: Vec::new(),
            })
        })
        .collect();
    for run in 1..=opts.runs {
        for client in &clients {
            let mut order = so.listeners.clone();
            if run % 2 == 0 {
                order.reverse();
            }
            for l in order {
                let label = format!("{client:<11} {:<15} run {run}/{}", l.name(), opts.runs);
                let got = one(client, l, &label);
                if let Some(s) = series
                    .iter_mut()
                    .find(|s| &s.client == client && s.listener == l)
                {
                    s.runs.push(got);
                }
            }
        }
    }
    println!(
        "\n== security ({:.0} s; {})\n",
        started.elapsed().as_secs_f64(),
        load_note(cpus)
    );
    println!("{}", table(&series, &so));
    if let Some(note) = kafka_log_note(kafka.cluster(), "security") {
        println!("note: {note}");
    }
    Ok(exit_code(&failures))
}

fn bootstrap(kafka: &SecureKafka, l: Listener) -> String {
    l.harness()
        .map_or_else(|| kafka.plaintext_bootstrap(), |h| kafka.bootstrap(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn security_options_default_to_plaintext_ssl_and_sasl_ssl_with_scram_sha_512() {
        let so = SecurityOptions::parse(&[]).unwrap();
        assert_eq!(
            so.listeners,
            vec![Listener::Plaintext, Listener::Ssl, Listener::SaslSsl]
        );
        assert_eq!(so.mechanism, "SCRAM-SHA-512");
        assert_eq!(so.opts.brokers, vec![Broker::Kafka]);
        assert_eq!(so.opts.kafka_records, DEFAULT_RECORDS);
        assert_eq!(so.opts.runs, 5);
        assert_eq!(so.opts.idempotence, "true");
        assert_eq!(
            so.opts.clients(Broker::Kafka),
            vec!["librdkafka", "ferrokafka", "java"]
        );
        let so = SecurityOptions::parse(&args(
            "--listeners plaintext,sasl_ssl --mechanism scram-sha-256 --kafka-records 7 \
             --runs 3 --clients ferrokafka",
        ))
        .unwrap();
        assert_eq!(so.listeners, vec![Listener::Plaintext, Listener::SaslSsl]);
        assert_eq!(so.mechanism, "SCRAM-SHA-256");
        assert_eq!(so.opts.kafka_records, 7);
        assert_eq!(so.opts.runs, 3);
        assert_eq!(so.opts.clients(Broker::Kafka), vec!["ferrokafka"]);
        let so = SecurityOptions::parse(&args("--records 9 --listeners=PLAINTEXT,SSL")).unwrap();
        assert_eq!(so.opts.kafka_records, 9);
        assert_eq!(so.listeners, vec![Listener::Plaintext, Listener::Ssl]);
        assert!(SecurityOptions::parse(&args("--listeners ssl,plaintext")).is_err());
        assert!(SecurityOptions::parse(&args("--listeners plaintext,plaintext")).is_err());
        assert!(SecurityOptions::parse(&args("--listeners plaintext,mtls")).is_err());
        assert!(SecurityOptions::parse(&args("--mechanism OAUTHBEARER")).is_err());
        assert!(SecurityOptions::parse(&args("--brokers kafka")).is_err());
        assert!(SecurityOptions::parse(&args("stray")).is_err());
    }

    #[test]
    fn each_client_gets_its_own_spelling_of_the_security_properties() {
        let ca = Path::new("/certs/ca.pem");
        assert!(client_props("ferrokafka", Listener::Plaintext, "PLAIN", ca).is_empty());
        let rdk = client_props("librdkafka", Listener::SaslSsl, "SCRAM-SHA-512", ca);
        assert_eq!(
            rdk,
            vec![
                "security.protocol=SASL_SSL",
                "ssl.ca.location=/certs/ca.pem",
                "ssl.endpoint.identification.algorithm=https",
                "sasl.mechanism=SCRAM-SHA-512",
                format!("sasl.username={USER}").as_str(),
                format!("sasl.password={PASSWORD}").as_str(),
            ]
        );
        assert_eq!(
            client_props("ferrokafka", Listener::SaslSsl, "SCRAM-SHA-512", ca),
            rdk
        );
        let java = client_props("java", Listener::SaslSsl, "SCRAM-SHA-512", ca);
        assert!(java.contains(&"ssl.truststore.type=PEM".to_string()));
        assert!(java.contains(&"ssl.truststore.location=/certs/ca.pem".to_string()));
        assert!(java.iter().any(|p| p.starts_with("sasl.jaas.config=")
            && p.contains("ScramLoginModule required")
            && p.contains(&format!("username=\"{USER}\""))));
        let ssl = client_props("librdkafka", Listener::Ssl, "SCRAM-SHA-512", ca);
        assert!(ssl.iter().all(|p| !p.starts_with("sasl.")));
        let plain = client_props("java", Listener::SaslPlaintext, "PLAIN", ca);
        assert!(plain.iter().all(|p| !p.starts_with("ssl.")));
        assert!(plain.iter().any(|p| p.contains("PlainLoginModule")));
    }

    #[test]
    fn the_table_gives_ratios_of_medians_and_same_run_ratios() {
        let so = SecurityOptions::parse(&args(
            "--listeners plaintext,sasl_ssl --kafka-records 1000000",
        ))
        .unwrap();
        let s = |seconds: f64, cpu_s: f64| Sample {
            records: 1_000_000,
            stored: 1_000_000,
            seconds,
            cpu_s,
            peak_rss_kib: 20 * 1024,
            transactions: 0,
            markers: 0,
            process_cpu_s: None,
        };
        let series = vec![
            Series {
                client: "ferrokafka".into(),
                listener: Listener::Plaintext,
                runs: vec![Some(s(1.0, 0.5)), Some(s(2.0, 0.5)), None],
            },
            Series {
                client: "ferrokafka".into(),
                listener: Listener::SaslSsl,
                runs: vec![Some(s(1.25, 0.6)), Some(s(2.5, 0.6)), Some(s(9.0, 0.6))],
            },
        ];
        assert!((same_run_ratio(&series[1], &series[0], Sample::records_per_s) - 0.8).abs() < 1e-9);
        let t = table(&series, &so);
        assert!(t.contains("SASL_SSL/PLAINTEXT"), "{t}");
        assert!(t.contains("(0.80x)"), "{t}");
        assert!(t.contains("1.20x (1.20x)"), "{t}");
        assert!(!t.contains("ferrokafka/librdkafka"), "{t}");
    }
}
