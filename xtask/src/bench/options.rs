//! The bench's command line: brokers, clients, workload sizes, and the modes (plain,
//! idempotent, transactional) with their record counts.

use std::time::Duration;

use anyhow::{Result, bail, ensure};

use crate::util::take_option;

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Broker {
    Mock,
    Tansu,
    Kafka,
}

impl Broker {
    pub(super) fn name(self) -> &'static str {
        match self {
            Broker::Mock => "mock",
            Broker::Tansu => "tansu",
            Broker::Kafka => "kafka",
        }
    }

    pub(super) fn parse(name: &str) -> Result<Broker> {
        match name {
            "mock" => Ok(Broker::Mock),
            "tansu" => Ok(Broker::Tansu),
            "kafka" => Ok(Broker::Kafka),
            other => bail!("unknown broker {other:?} (mock, tansu or kafka)"),
        }
    }
}

/// The clients `--clients` may name.
pub(super) const CLIENTS: [&str; 3] = ["librdkafka", "ferrokafka", "java"];

/// The Kafka topic's `retention.bytes` (per partition) and `segment.bytes`: a series of
/// measurements writes several GB, of which the broker keeps the last few hundred MB.
pub(super) const KAFKA_RETENTION_BYTES: u64 = 128 << 20;
pub(super) const KAFKA_SEGMENT_BYTES: u64 = 32 << 20;

#[derive(Debug, Clone)]
pub(super) struct Options {
    pub(super) mock_records: u64,
    pub(super) tansu_records: u64,
    pub(super) kafka_records: u64,
    pub(super) runs: usize,
    pub(super) brokers: Vec<Broker>,
    /// Whether `--brokers` was given (the suite's default is every broker).
    pub(super) brokers_given: bool,
    /// `--clients`; `None`: librdkafka and ferrokafka, plus java on Kafka ([`Options::clients`]).
    pub(super) clients: Option<Vec<String>>,
    pub(super) partitions: u32,
    pub(super) mock_brokers: u32,
    pub(super) compression: String,
    pub(super) idempotence: String,
    pub(super) transaction_size: Option<u64>,
    /// Whether a record count option was given (the modes then keep the counts).
    pub(super) records_given: bool,
    /// Whether `--idempotence` or `--transaction-size` was given (the modes set them).
    pub(super) semantics_given: bool,
    pub(super) timeout: Duration,
    pub(super) extra: Vec<String>,
    pub(super) features: Option<String>,
    pub(super) no_ferrokafka: bool,
    /// `--jvm-opt`: options for the Java client's JVM.
    pub(super) jvm_opts: Vec<String>,
}

pub(super) fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != name);
    args.len() != before
}

/// Takes option `name` from `args` as a number: `default` when it is not there.
pub(super) fn number_option<T: std::str::FromStr>(
    args: &mut Vec<String>,
    name: &str,
    default: T,
) -> Result<T> {
    parse_number(name, take_option(args, name)?, default)
}

pub(super) fn parse_number<T: std::str::FromStr>(
    name: &str,
    v: Option<String>,
    default: T,
) -> Result<T> {
    match v {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} takes a number, got {v:?}")),
    }
}

pub(super) fn list(v: Option<String>, default: &str) -> Vec<String> {
    v.as_deref()
        .unwrap_or(default)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Options {
    pub(super) fn parse(args: &[String]) -> Result<Options> {
        let mut args = args.to_vec();
        let mut extra = Vec::new();
        let records_given = args.iter().any(|a| {
            a.starts_with("--records")
                || a.starts_with("--tansu-records")
                || a.starts_with("--kafka-records")
        });
        let semantics_given = args
            .iter()
            .any(|a| a.starts_with("--idempotence") || a.starts_with("--transaction-size"));
        while let Some(kv) = take_option(&mut args, "-X")? {
            ensure!(kv.contains('='), "-X takes key=value, got {kv:?}");
            extra.push(kv);
        }
        let mock_records = number_option(&mut args, "--records", 5_000_000)?;
        let tansu_records = number_option(&mut args, "--tansu-records", 5_000_000)?;
        let kafka_records = number_option(&mut args, "--kafka-records", 5_000_000)?;
        let runs = number_option(&mut args, "--runs", 5)?;
        let partitions = number_option(&mut args, "--partitions", 6)?;
        let mock_brokers = number_option(&mut args, "--mock-brokers", 3)?;
        let timeout = Duration::from_secs(number_option(&mut args, "--timeout-s", 300)?);
        let brokers_option = take_option(&mut args, "--brokers")?;
        let brokers_given = brokers_option.is_some();
        let brokers = list(brokers_option, "mock,tansu")
            .iter()
            .map(|b| Broker::parse(b))
            .collect::<Result<Vec<_>>>()?;
        let clients = take_option(&mut args, "--clients")?.map(|v| list(Some(v), ""));
        for c in clients.iter().flatten() {
            ensure!(
                CLIENTS.contains(&c.as_str()),
                "unknown client {c:?} (librdkafka, ferrokafka or java)"
            );
        }
        let features = take_option(&mut args, "--features")?;
        let no_ferrokafka = take_flag(&mut args, "--no-ferrokafka");
        let mut jvm_opts = Vec::new();
        while let Some(o) = take_option(&mut args, "--jvm-opt")? {
            jvm_opts.push(o);
        }
        let compression = take_option(&mut args, "--compression")?.unwrap_or_else(|| "none".into());
        let idempotence = take_option(&mut args, "--idempotence")?.unwrap_or_else(|| "true".into());
        ensure!(
            idempotence == "true" || idempotence == "false",
            "--idempotence takes true or false"
        );
        let transaction_size = take_option(&mut args, "--transaction-size")?
            .map(|v| parse_number("--transaction-size", Some(v), 0_u64))
            .transpose()?;
        ensure!(
            transaction_size != Some(0),
            "--transaction-size must be positive"
        );
        ensure!(
            transaction_size.is_none() || idempotence == "true",
            "--transaction-size needs --idempotence true"
        );
        if !args.is_empty() {
            bail!("unexpected arguments {args:?}\n\n{USAGE}");
        }
        ensure!(runs > 0, "--runs must be positive");
        ensure!(
            mock_records > 0 && tansu_records > 0 && kafka_records > 0,
            "record counts must be positive"
        );
        ensure!(
            !brokers.is_empty() && clients.as_ref().is_none_or(|c| !c.is_empty()),
            "nothing to run"
        );
        Ok(Options {
            mock_records,
            tansu_records,
            kafka_records,
            runs,
            brokers,
            brokers_given,
            clients,
            partitions,
            mock_brokers,
            compression,
            idempotence,
            transaction_size,
            records_given,
            semantics_given,
            timeout,
            extra,
            features,
            no_ferrokafka,
            jvm_opts,
        })
    }

    pub(super) fn records(&self, broker: Broker) -> u64 {
        match broker {
            Broker::Mock => self.mock_records,
            Broker::Tansu => self.tansu_records,
            Broker::Kafka => self.kafka_records,
        }
    }

    /// The clients measured on `broker`: `--clients`, or librdkafka and ferrokafka, plus java
    /// on Kafka.
    pub(super) fn clients(&self, broker: Broker) -> Vec<String> {
        match &self.clients {
            Some(given) => given.clone(),
            None => CLIENTS
                .iter()
                .filter(|&&c| c != "java" || broker == Broker::Kafka)
                .map(|c| (*c).to_string())
                .collect(),
        }
    }

    /// What the measurements of these options do, for titles.
    pub(super) fn semantics(&self) -> String {
        match self.transaction_size {
            Some(n) => format!(
                "transactional, {} records per transaction",
                thousands(n as f64)
            ),
            None if self.idempotence == "true" => "idempotence on".into(),
            None => "idempotence off".into(),
        }
    }
}

/// A series of measurements with one set of options: one table.
#[derive(Debug, Clone)]
pub(super) struct Mode {
    pub(super) title: String,
    pub(super) opts: Options,
}

/// Records per measurement in the idempotence modes (mock, Tansu, Kafka), unless given.
pub(super) const IDEMPOTENCE_RECORDS: (u64, u64, u64) = (2_000_000, 2_000_000, 2_000_000);
/// Records per measurement in the transactional modes (mock, Tansu, Kafka), unless given.
pub(super) const TXN_RECORDS: (u64, u64, u64) = (1_000_000, 1_000_000, 1_000_000);

/// The modes of `cargo xtask bench [SUBCOMMAND]`.
pub(super) fn modes(subcommand: Option<&str>, base: &Options) -> Result<Vec<Mode>> {
    let Some(sub) = subcommand else {
        return Ok(vec![Mode {
            title: base.semantics(),
            opts: base.clone(),
        }]);
    };
    ensure!(
        !base.semantics_given,
        "`cargo xtask bench {sub}` sets --idempotence and --transaction-size itself"
    );
    let with = |title: &str, records: (u64, u64, u64), idempotence: &str, txn: Option<u64>| {
        let mut opts = base.clone();
        if !base.records_given {
            (opts.mock_records, opts.tansu_records, opts.kafka_records) = records;
        }
        if sub == "suite" && !base.brokers_given {
            opts.brokers = vec![Broker::Mock, Broker::Tansu, Broker::Kafka];
        }
        opts.idempotence = idempotence.to_string();
        opts.transaction_size = txn;
        Mode {
            title: format!("{title}: {}", opts.semantics()),
            opts,
        }
    };
    let default_records = (base.mock_records, base.tansu_records, base.kafka_records);
    let on = with("idempotence", IDEMPOTENCE_RECORDS, "true", None);
    let off = with("idempotence", IDEMPOTENCE_RECORDS, "false", None);
    let txn_small = with("txn", TXN_RECORDS, "true", Some(1_000));
    let txn_large = with("txn", TXN_RECORDS, "true", Some(100_000));
    Ok(match sub {
        "idempotence" => vec![on, off],
        "txn" => vec![txn_small, txn_large],
        "suite" => vec![
            with("default", default_records, "true", None),
            with("idempotence", IDEMPOTENCE_RECORDS, "false", None),
            txn_small,
            txn_large,
        ],
        other => bail!("unknown bench mode {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_default_to_the_spec_workload_and_take_overrides() {
        let o = Options::parse(&[]).unwrap();
        assert_eq!(o.mock_records, 5_000_000);
        assert_eq!(o.runs, 5);
        assert_eq!(o.brokers, vec![Broker::Mock, Broker::Tansu]);
        assert_eq!(o.clients(Broker::Mock), vec!["librdkafka", "ferrokafka"]);
        assert_eq!(o.clients(Broker::Tansu), vec!["librdkafka", "ferrokafka"]);
        assert_eq!(
            o.clients(Broker::Kafka),
            vec!["librdkafka", "ferrokafka", "java"]
        );
        assert_eq!(o.compression, "none");
        let o = Options::parse(&args(
            "--records 10 --brokers tansu --runs 1 -X a=b -X c=d --compression lz4",
        ))
        .unwrap();
        assert_eq!(o.mock_records, 10);
        assert_eq!(o.brokers, vec![Broker::Tansu]);
        assert_eq!(o.extra, vec!["a=b", "c=d"]);
        assert_eq!(o.compression, "lz4");
        let o = Options::parse(&args(
            "--brokers kafka --kafka-records 9 --clients java,ferrokafka",
        ))
        .unwrap();
        assert_eq!(o.brokers, vec![Broker::Kafka]);
        assert_eq!(o.records(Broker::Kafka), 9);
        assert_eq!(o.clients(Broker::Mock), vec!["java", "ferrokafka"]);
        assert_eq!(o.jvm_opts, Vec::<String>::new());
        let o = Options::parse(&args("--jvm-opt -Xmx256m --jvm-opt -XX:+UseSerialGC")).unwrap();
        assert_eq!(o.jvm_opts, vec!["-Xmx256m", "-XX:+UseSerialGC"]);
        assert!(Options::parse(&args("--brokers redpanda")).is_err());
        assert!(Options::parse(&args("--clients kcat")).is_err());
        assert!(Options::parse(&args("--runs 0")).is_err());
        assert!(Options::parse(&args("stray")).is_err());
        assert!(Options::parse(&args("-X novalue")).is_err());
        assert!(
            Options::parse(&args("--no-ferrokafka"))
                .unwrap()
                .no_ferrokafka
        );
        assert!(!Options::parse(&[]).unwrap().no_ferrokafka);
    }

    #[test]
    fn modes_set_idempotence_and_transactions_and_scale_the_record_counts() {
        let base = Options::parse(&[]).unwrap();
        let plain = modes(None, &base).unwrap();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].opts.mock_records, 5_000_000);
        assert_eq!(plain[0].opts.transaction_size, None);
        let suite = modes(Some("suite"), &base).unwrap();
        let got: Vec<_> = suite
            .iter()
            .map(|m| {
                (
                    m.opts.idempotence.as_str(),
                    m.opts.transaction_size,
                    m.opts.mock_records,
                    m.opts.tansu_records,
                    m.opts.kafka_records,
                )
            })
            .collect();
        let (i, t) = (IDEMPOTENCE_RECORDS, TXN_RECORDS);
        assert_eq!(
            got,
            vec![
                ("true", None, 5_000_000, 5_000_000, 5_000_000),
                ("false", None, i.0, i.1, i.2),
                ("true", Some(1_000), t.0, t.1, t.2),
                ("true", Some(100_000), t.0, t.1, t.2),
            ]
        );
        let every = vec![Broker::Mock, Broker::Tansu, Broker::Kafka];
        assert!(suite.iter().all(|m| m.opts.brokers == every));
        assert_eq!(modes(None, &base).unwrap()[0].opts.brokers.len(), 2);
        let mock_only = Options::parse(&args("--brokers mock")).unwrap();
        assert!(
            modes(Some("suite"), &mock_only)
                .unwrap()
                .iter()
                .all(|m| m.opts.brokers == [Broker::Mock])
        );
        let idem = modes(Some("idempotence"), &base).unwrap();
        assert_eq!(idem.len(), 2);
        assert_eq!(idem[1].opts.idempotence, "false");
        let given = Options::parse(&args("--records 7")).unwrap();
        let txn = modes(Some("txn"), &given).unwrap();
        assert!(txn.iter().all(|m| m.opts.mock_records == 7));
        assert!(txn[0].title.contains("1,000 records per transaction"));
        let sized = Options::parse(&args("--transaction-size 10")).unwrap();
        assert_eq!(sized.transaction_size, Some(10));
        assert!(modes(Some("txn"), &sized).is_err());
        assert!(Options::parse(&args("--transaction-size 10 --idempotence false")).is_err());
        assert!(Options::parse(&args("--transaction-size 0")).is_err());
    }
}
