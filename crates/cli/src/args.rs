//! Command-line definitions: the commands and their flags (the values' parsers are in
//! `values`, the properties files in `properties`).

use clap::{Args, Parser, Subcommand};

use crate::values::{
    Delimiter, Header, Property, parse_codec, parse_count, parse_delimiter, parse_header,
    parse_property, parse_record_delimiter, parse_throughput,
};

/// kcat-style producer and perf test for ferrokafka.
#[derive(Debug, Parser)]
#[command(name = "ferrokafka-cli", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Examples printed after `produce --help`.
const PRODUCE_EXAMPLES: &str = "\
Examples:
  # One record per line of stdin
  printf 'hello\\nworld\\n' | ferrokafka-cli produce -b localhost:9092 -t events

  # key:value lines, gzip, acks=1, a header on every record
  ferrokafka-cli produce -P -b localhost:9092 -t events -K : -z gzip -X acks=1 -H source=cli < data.txt

  # Records of a file separated by ';', each with the key 'user-7', echoed to stdout
  ferrokafka-cli produce -b localhost:9092 -t events -l -D ';' -k user-7 -T batch.txt

  # Each file is one record (e.g. JSON documents); stop after 100 records
  ferrokafka-cli produce -b localhost:9092 -t docs -c 100 docs/*.json

  # Transactions of 1,000 lines each, quietly (errors only)
  ferrokafka-cli produce -q -b localhost:9092 -t events --transactional-id loader --txn-records 1000 < data.txt

  # Report each delivery's partition and offset
  ferrokafka-cli produce -v -b localhost:9092 -t events < data.txt";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Produce one record per stdin line (kcat -P style).
    #[command(after_help = PRODUCE_EXAMPLES)]
    Produce(ProduceArgs),
    /// Producer throughput/latency test (kafka-producer-perf-test style).
    Perf(PerfArgs),
}

/// Where both commands produce to.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// Bootstrap brokers, `host:port[,host:port...]` (sets bootstrap.servers).
    #[arg(
        short = 'b',
        long = "brokers",
        visible_alias = "bootstrap-server",
        value_name = "BROKERS"
    )]
    pub(crate) brokers: String,

    /// Topic to produce to. It must exist: it is never created.
    #[arg(short = 't', long = "topic", value_name = "TOPIC")]
    pub(crate) topic: String,
}

#[derive(Debug, Args)]
pub(crate) struct ProduceArgs {
    /// `-b` and `-t`.
    #[command(flatten)]
    pub(crate) target: Target,

    /// Partition for every record (default: the producer's partitioner).
    #[arg(short = 'p', long = "partition", value_name = "PARTITION", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(0..))]
    pub(crate) partition: Option<i32>,

    /// Split each line into `key DELIM value` at the first DELIM. Escapes: \t \r \\ \xNN.
    /// A line without DELIM is produced with a null key and the whole line as value.
    #[arg(short = 'K', long = "key-delimiter", value_name = "DELIM", value_parser = parse_delimiter)]
    pub(crate) key_delimiter: Option<Delimiter>,

    /// Header added to every record, `name=value` (`name` alone: null value). Repeatable; order kept.
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<Header>,

    /// Compression codec: none, gzip, snappy, lz4, zstd (sets compression.type).
    #[arg(short = 'z', long = "compression", value_name = "CODEC", value_parser = parse_codec)]
    pub(crate) compression: Option<String>,

    /// Any producer property, `key=value` (e.g. `-X linger.ms=5`). Repeatable.
    #[arg(short = 'X', long = "property", value_name = "PROP=VALUE", value_parser = parse_property)]
    pub(crate) properties: Vec<Property>,

    /// Read producer properties from a Java-style `client.properties` file (`key=value` lines,
    /// `#` comments); `-X` wins over it.
    #[arg(short = 'F', long = "config-file", value_name = "FILE")]
    pub(crate) config_file: Option<std::path::PathBuf>,

    /// Produce in transactions with this `transactional.id`.
    #[arg(long = "transactional-id", value_name = "ID")]
    pub(crate) transactional_id: Option<String>,

    /// Lines per transaction (default: all input in one transaction). Needs a transactional
    /// id (--transactional-id or -X transactional.id=ID).
    #[arg(long = "txn-records", value_name = "N", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) txn_records: Option<u64>,

    /// Abort every transaction instead of committing it (for testing read_committed
    /// consumers). Needs a transactional id.
    #[arg(long = "abort")]
    pub(crate) abort: bool,

    /// Producer mode, as kcat's `-P` (accepted for kcat command lines; `produce` always
    /// produces).
    #[arg(short = 'P')]
    pub(crate) producer_mode: bool,

    /// Record delimiter instead of a newline (escapes as for -K, `\n` included), for stdin
    /// and for the `-l` file.
    #[arg(short = 'D', long = "delimiter", value_name = "DELIM", value_parser = parse_record_delimiter)]
    pub(crate) delimiter: Option<Delimiter>,

    /// The key of every record.
    #[arg(
        short = 'k',
        long = "key",
        value_name = "KEY",
        conflicts_with = "key_delimiter"
    )]
    pub(crate) key: Option<String>,

    /// Read records from the one FILE given, separated by the delimiter, as from stdin
    /// (without -l, each FILE is one record).
    #[arg(short = 'l', requires = "files")]
    pub(crate) file_records: bool,

    /// Echo every record sent to stdout, as `tee` does.
    #[arg(short = 'T')]
    pub(crate) tee: bool,

    /// Stop after producing N records.
    #[arg(short = 'c', long = "count", value_name = "N", allow_negative_numbers = true,
          value_parser = parse_count)]
    pub(crate) count: Option<u64>,

    /// Quiet: print errors only (no summary).
    #[arg(short = 'q', long = "quiet", conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// Verbose: print each delivery's partition and offset, and the producer's tracing output
    /// at debug level (connections, requests, retries) on stderr.
    #[arg(short = 'v', long = "verbose")]
    pub(crate) verbose: bool,

    /// Files to produce instead of stdin: each file is one record, or, with -l, the one file
    /// holds delimited records.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PerfArgs {
    /// `-b` and `-t`.
    #[command(flatten)]
    pub(crate) target: Target,

    /// Number of records to produce.
    #[arg(long = "num-records", value_name = "N", allow_negative_numbers = true,
          value_parser = parse_count)]
    pub(crate) num_records: u64,

    /// Value size in bytes of every record.
    #[arg(long = "record-size", value_name = "S", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(0..))]
    pub(crate) record_size: u32,

    /// Give every record a key of S bytes: its number in the run in decimal digits,
    /// zero-padded (the last S digits), so the partitioner spreads keys over the partitions.
    /// 0, the default, sends keyless records, as Java's tool does.
    #[arg(long = "key-size", value_name = "S", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub(crate) key_size: u32,

    /// Throttle to at most T records/sec; T <= 0 (the default) means unthrottled.
    #[arg(long = "throughput", value_name = "T", default_value_t = -1.0,
          allow_negative_numbers = true, value_parser = parse_throughput)]
    pub(crate) throughput: f64,

    /// Any producer property, `key=value` (e.g. `-X acks=1`). Repeatable.
    #[arg(short = 'X', long = "property", value_name = "PROP=VALUE", value_parser = parse_property)]
    pub(crate) properties: Vec<Property>,

    /// Read producer properties from a Java-style `client.properties` file; `-X` wins over it.
    #[arg(short = 'F', long = "config-file", value_name = "FILE")]
    pub(crate) config_file: Option<std::path::PathBuf>,

    /// With `-X transactional.id=...`: commit a transaction every this many milliseconds
    /// (as Java's tool).
    #[arg(long = "transaction-duration-ms", value_name = "MS", default_value_t = 3000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) transaction_duration_ms: u64,

    /// Print the producer's metrics at the end of the run, as kafka-producer-perf-test does.
    #[arg(long = "print-metrics")]
    pub(crate) print_metrics: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ferrokafka-cli").chain(args.iter().copied()))
    }

    fn produce(args: &[&str]) -> ProduceArgs {
        match parse(args).expect("parses").command {
            Command::Produce(p) => p,
            Command::Perf(_) => panic!("expected produce"),
        }
    }

    fn perf(args: &[&str]) -> PerfArgs {
        match parse(args).expect("parses").command {
            Command::Perf(p) => p,
            Command::Produce(_) => panic!("expected perf"),
        }
    }

    /// `produce -b h -t t`, then `extra`.
    fn produce_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["produce", "-b", "h", "-t", "t"];
        args.extend_from_slice(extra);
        args
    }

    /// `perf` with its required flags (`num_records` records of one byte to `t`), then `extra`.
    fn perf_args<'a>(num_records: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "perf",
            "-b",
            "h",
            "-t",
            "t",
            "--num-records",
            num_records,
            "--record-size",
            "1",
        ];
        args.extend_from_slice(extra);
        args
    }

    #[test]
    fn kcat_producer_flags() {
        let p = produce(&[
            "produce",
            "-P",
            "-b",
            "h:1",
            "-t",
            "t",
            "-l",
            "-D",
            "\\n--\\n",
            "-k",
            "key",
            "-T",
            "-c",
            "7",
            "-v",
            "records.txt",
        ]);
        assert!(p.producer_mode && p.file_records && p.tee && p.verbose && !p.quiet);
        assert_eq!(p.delimiter, Some(Delimiter(b"\n--\n".to_vec())));
        assert_eq!(p.key.as_deref(), Some("key"));
        assert_eq!(p.count, Some(7));
        assert_eq!(p.files, vec![std::path::PathBuf::from("records.txt")]);
        let p = produce(&["produce", "-b", "h:1", "-t", "t", "-q", "a.json", "b.json"]);
        assert!(p.quiet && !p.file_records);
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.delimiter, None);
        for bad in [
            &["-k", "k", "-K", ":"][..],
            &["-q", "-v"],
            &["-l"],
            &["-c", "-1"],
            &["-D", ""],
        ] {
            assert!(
                parse(&produce_args(bad)).is_err(),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn produce_help_lists_the_kcat_flags_with_examples() {
        let err = parse(&["produce", "--help"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DisplayHelp);
        let help = err.to_string();
        for flag in ["-P", "-l", "-D", "-k", "-T", "-c", "-q", "-v", "[FILE]..."] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("-l -D ';' -k user-7 -T batch.txt"), "{help}");
    }

    #[test]
    fn produce_full_flag_set() {
        let p = produce(&[
            "produce",
            "-b",
            "h1:9092,h2:9092",
            "-t",
            "events",
            "-p",
            "3",
            "-K",
            ":",
            "-H",
            "a=1",
            "-H",
            "b",
            "-H",
            "a=2",
            "-z",
            "ZSTD",
            "-X",
            "linger.ms=5",
            "-X",
            "acks=all",
        ]);
        assert_eq!(p.target.brokers, "h1:9092,h2:9092");
        assert_eq!(p.target.topic, "events");
        assert_eq!(p.partition, Some(3));
        assert_eq!(p.key_delimiter, Some(Delimiter(b":".to_vec())));
        let hs: Vec<(&str, Option<&[u8]>)> = p
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_deref()))
            .collect();
        assert_eq!(
            hs,
            vec![("a", Some(&b"1"[..])), ("b", None), ("a", Some(&b"2"[..]))]
        );
        assert_eq!(p.compression.as_deref(), Some("zstd"));
        assert_eq!(
            p.properties,
            vec![
                Property {
                    key: "linger.ms".into(),
                    value: "5".into()
                },
                Property {
                    key: "acks".into(),
                    value: "all".into()
                },
            ]
        );
    }

    #[test]
    fn produce_defaults_and_long_names() {
        let p = produce(&["produce", "--bootstrap-server", "h:1", "--topic", "t"]);
        assert_eq!(p.target.brokers, "h:1");
        assert_eq!(p.partition, None);
        assert_eq!(p.key_delimiter, None);
        assert!(p.headers.is_empty());
        assert!(p.compression.is_none());
        assert!(p.properties.is_empty());
    }

    #[test]
    fn missing_required_flag_is_named() {
        let err = parse(&["produce", "-t", "t"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        assert!(err.to_string().contains("--brokers"), "{err}");
        let err = parse(&["perf", "-b", "h:1", "-t", "t", "--record-size", "10"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        assert!(err.to_string().contains("--num-records"), "{err}");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let cases: [(Vec<&str>, &str); 8] = [
            (produce_args(&["-X", "linger.ms"]), "--property"),
            (produce_args(&["-H", "=v"]), "--header"),
            (produce_args(&["-z", "brotli"]), "--compression"),
            (produce_args(&["-K", ""]), "--key-delimiter"),
            (produce_args(&["--partition=-1"]), "--partition"),
            (produce_args(&["-p", "x"]), "--partition"),
            (perf_args("x", &[]), "--num-records"),
            (perf_args("1", &["--throughput", "fast"]), "--throughput"),
        ];
        for (args, flag) in cases {
            let err = parse(&args).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::ValueValidation | ErrorKind::InvalidValue
                ),
                "{args:?}: {:?}",
                err.kind()
            );
            assert!(err.to_string().contains(flag), "{args:?}: {err}");
        }
    }

    #[test]
    fn unknown_flag_is_rejected_with_usage_exit_code() {
        let err = parse(&produce_args(&["--frobnicate"])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownArgument);
        assert!(err.to_string().contains("--frobnicate"));
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn perf_flags() {
        let p = perf(&[
            "perf",
            "-b",
            "h:1",
            "-t",
            "t",
            "--num-records",
            "1000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "-X",
            "acks=1",
        ]);
        assert_eq!((p.num_records, p.record_size), (1000, 100));
        assert_eq!(p.throughput, -1.0);
        assert_eq!(
            p.properties,
            vec![Property {
                key: "acks".into(),
                value: "1".into()
            }]
        );
        let p = perf(&perf_args("1", &[]));
        assert_eq!(p.throughput, -1.0, "unthrottled by default");
        assert_eq!(p.key_size, 0, "keyless by default");
        let p = perf(&perf_args("1", &["--key-size", "10"]));
        assert_eq!(p.key_size, 10);
        let err = parse(&perf_args("1", &["--key-size", "1025"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--key-size"), "{err}");
        let p = perf(&perf_args("1", &["--throughput", "2.5"]));
        assert_eq!(p.throughput, 2.5);
    }

    #[test]
    fn negative_counts_get_a_range_error_naming_the_value() {
        let err = parse(&perf_args("-5", &[])).unwrap_err().to_string();
        assert!(err.contains("-5 is not in 0.."), "{err}");
        let err = parse(&produce_args(&["-p", "-1"])).unwrap_err().to_string();
        assert!(err.contains("-1 is not in 0.."), "{err}");
    }
}
