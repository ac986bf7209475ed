//! Command-line definitions and the small parsers behind `-H`, `-X`, `-K` and `-z`.

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};

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

#[derive(Debug, Args)]
pub(crate) struct ProduceArgs {
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

    /// Number of records to produce.
    #[arg(long = "num-records", value_name = "N", allow_negative_numbers = true,
          value_parser = parse_count)]
    pub(crate) num_records: u64,

    /// Value size in bytes of every record.
    #[arg(long = "record-size", value_name = "S", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(0..))]
    pub(crate) record_size: u32,

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

/// A `-H` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) value: Option<Bytes>,
}

/// A `-X` property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    pub(crate) key: String,
    pub(crate) value: String,
}

/// A `-K` delimiter (raw bytes after unescaping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delimiter(pub(crate) Vec<u8>);

/// A count: a whole number ≥ 0 (a negative one gets a range error, not a parse error).
pub(crate) fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if n < 0 => Err(format!("{n} is not in 0..={}", u64::MAX)),
        Ok(n) => u64::try_from(n).map_err(|_| format!("{n} is not in 0..={}", u64::MAX)),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

/// `name=value` splits at the first `=`; `name` alone is a null value; `name=` an empty one.
pub(crate) fn parse_header(s: &str) -> Result<Header, String> {
    let (name, value) = match s.split_once('=') {
        Some((n, v)) => (n, Some(Bytes::copy_from_slice(v.as_bytes()))),
        None => (s, None),
    };
    if name.is_empty() {
        return Err("header name must not be empty (expected NAME=VALUE or NAME)".to_owned());
    }
    Ok(Header {
        name: name.to_owned(),
        value,
    })
}

/// `key=value` splits at the first `=`; both parts required, key non-empty.
pub(crate) fn parse_property(s: &str) -> Result<Property, String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok(Property {
            key: k.trim().to_owned(),
            value: v.to_owned(),
        }),
        Some(_) => Err("property name must not be empty (expected PROP=VALUE)".to_owned()),
        None => Err(format!("expected PROP=VALUE, got `{s}` (no `=`)")),
    }
}

/// The codecs Kafka's `compression.type` accepts for a producer.
pub(crate) fn parse_codec(s: &str) -> Result<String, String> {
    const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
    let lower = s.to_ascii_lowercase();
    if CODECS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "unknown codec `{s}` (expected one of: {})",
            CODECS.join(", ")
        ))
    }
}

/// A `-K` key delimiter: [`unescape_delimiter`], without newlines (records are split on
/// `\n` first by default, so a newline could never match).
pub(crate) fn parse_delimiter(s: &str) -> Result<Delimiter, String> {
    let out = unescape_delimiter(s)?;
    if out.contains(&b'\n') {
        return Err("delimiter must not contain a newline (records are one per line)".to_owned());
    }
    Ok(Delimiter(out))
}

/// A `-D` record delimiter: [`unescape_delimiter`], newlines allowed.
pub(crate) fn parse_record_delimiter(s: &str) -> Result<Delimiter, String> {
    unescape_delimiter(s).map(Delimiter)
}

/// Unescapes `\t`, `\r`, `\n`, `\\` and `\xNN`; rejects empty delimiters.
fn unescape_delimiter(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let text = std::str::from_utf8(&hex).unwrap_or("");
                match (hex.len(), u8::from_str_radix(text, 16)) {
                    (2, Ok(v)) => out.push(v),
                    _ => return Err(format!("bad escape in `{s}`: \\x needs two hex digits")),
                }
            }
            Some(other) => {
                return Err(format!("unknown escape `\\{}` in `{s}`", char::from(other)));
            }
            None => return Err(format!("trailing `\\` in `{s}`")),
        }
    }
    if out.is_empty() {
        return Err("delimiter must not be empty".to_owned());
    }
    Ok(out)
}

pub(crate) fn parse_throughput(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("expected a number of records/sec, got `{s}`")),
    }
}

/// The producer properties for a run: `-X` pairs in first-seen order (a repeated key
/// keeps its last value), then the dedicated flags, which win over `-X`.
/// Parses a Java `.properties` text: `key=value`, `key: value` or `key value` lines, `#` and
/// `!` comments, a trailing `\` continues a line, and `\\ \t \n \r \= \: \uXXXX` escapes.
pub(crate) fn parse_properties_file(text: &str) -> Result<Vec<Property>, String> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut first_line = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = if logical.is_empty() {
            first_line = n + 1;
            raw.trim_start()
        } else {
            raw.trim_start()
        };
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let (key, value) = split_property_line(&entry);
        let key = unescape(key).map_err(|e| format!("line {first_line}: {e}"))?;
        if key.is_empty() {
            return Err(format!("line {first_line}: a value without a key"));
        }
        let value = unescape(value).map_err(|e| format!("line {first_line}: {e}"))?;
        out.push(Property { key, value });
    }
    if !logical.is_empty() {
        let (key, value) = split_property_line(&logical);
        out.push(Property {
            key: unescape(key)?,
            value: unescape(value)?,
        });
    }
    Ok(out)
}

/// Splits at the first unescaped `=`, `:` or whitespace (Java `Properties.load`).
fn split_property_line(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (line[..i].trim_end(), line[i + 1..].trim_start()),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&line[..i], rest.trim_start());
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad escape \\u{hex}"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

pub(crate) fn producer_properties(
    brokers: &str,
    compression: Option<&str>,
    extra: &[Property],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: &str| match out.iter_mut().find(|(key, _)| key == k) {
        Some(slot) => v.clone_into(&mut slot.1),
        None => out.push((k.to_owned(), v.to_owned())),
    };
    for p in extra {
        put(&p.key, &p.value);
    }
    put("bootstrap.servers", brokers);
    if let Some(codec) = compression {
        put("compression.type", codec);
    }
    out
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
            let mut args = vec!["produce", "-b", "h:1", "-t", "t"];
            args.extend_from_slice(bad);
            assert!(parse(&args).is_err(), "{bad:?} must be refused");
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
        assert_eq!(p.brokers, "h1:9092,h2:9092");
        assert_eq!(p.topic, "events");
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
        assert_eq!(p.brokers, "h:1");
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
        let cases: [(&[&str], &str); 8] = [
            (
                &["produce", "-b", "h", "-t", "t", "-X", "linger.ms"],
                "--property",
            ),
            (&["produce", "-b", "h", "-t", "t", "-H", "=v"], "--header"),
            (
                &["produce", "-b", "h", "-t", "t", "-z", "brotli"],
                "--compression",
            ),
            (
                &["produce", "-b", "h", "-t", "t", "-K", ""],
                "--key-delimiter",
            ),
            (
                &["produce", "-b", "h", "-t", "t", "--partition=-1"],
                "--partition",
            ),
            (&["produce", "-b", "h", "-t", "t", "-p", "x"], "--partition"),
            (
                &[
                    "perf",
                    "-b",
                    "h",
                    "-t",
                    "t",
                    "--num-records",
                    "x",
                    "--record-size",
                    "1",
                ],
                "--num-records",
            ),
            (
                &[
                    "perf",
                    "-b",
                    "h",
                    "-t",
                    "t",
                    "--num-records",
                    "1",
                    "--record-size",
                    "1",
                    "--throughput",
                    "fast",
                ],
                "--throughput",
            ),
        ];
        for (args, flag) in cases {
            let err = parse(args).unwrap_err();
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
        let err = parse(&["produce", "-b", "h", "-t", "t", "--frobnicate"]).unwrap_err();
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
        let p = perf(&[
            "perf",
            "-b",
            "h",
            "-t",
            "t",
            "--num-records",
            "1",
            "--record-size",
            "1",
        ]);
        assert_eq!(p.throughput, -1.0, "unthrottled by default");
        let p = perf(&[
            "perf",
            "-b",
            "h",
            "-t",
            "t",
            "--num-records",
            "1",
            "--record-size",
            "1",
            "--throughput",
            "2.5",
        ]);
        assert_eq!(p.throughput, 2.5);
    }

    #[test]
    fn header_parsing() {
        assert_eq!(
            parse_header("trace-id=a=b").unwrap(),
            Header {
                name: "trace-id".into(),
                value: Some(Bytes::from_static(b"a=b"))
            }
        );
        assert_eq!(
            parse_header("flag").unwrap(),
            Header {
                name: "flag".into(),
                value: None
            }
        );
        assert_eq!(
            parse_header("empty=").unwrap(),
            Header {
                name: "empty".into(),
                value: Some(Bytes::new())
            }
        );
        assert!(parse_header("=x").is_err());
        assert!(parse_header("").is_err());
    }

    #[test]
    fn property_parsing() {
        assert_eq!(
            parse_property("sasl.jaas.config=a=b").unwrap(),
            Property {
                key: "sasl.jaas.config".into(),
                value: "a=b".into()
            }
        );
        assert_eq!(
            parse_property("client.id=").unwrap(),
            Property {
                key: "client.id".into(),
                value: String::new()
            }
        );
        assert!(parse_property("linger.ms").unwrap_err().contains("no `=`"));
        assert!(parse_property("=5").is_err());
    }

    #[test]
    fn delimiter_unescaping() {
        assert_eq!(parse_delimiter("::").unwrap().0, b"::");
        assert_eq!(parse_delimiter("\\t").unwrap().0, b"\t");
        assert_eq!(parse_delimiter("\\x1f|\\\\").unwrap().0, b"\x1f|\\");
        assert!(parse_delimiter("").is_err());
        assert!(parse_delimiter("\\n").unwrap_err().contains("newline"));
        assert!(parse_delimiter("\\xZZ").is_err());
        assert!(parse_delimiter("\\x1").is_err());
        assert!(parse_delimiter("\\q").is_err());
        assert!(parse_delimiter("a\\").is_err());
    }

    #[test]
    fn properties_merge_with_dedicated_flags_winning() {
        let extra = vec![
            Property {
                key: "linger.ms".into(),
                value: "5".into(),
            },
            Property {
                key: "bootstrap.servers".into(),
                value: "ignored:1".into(),
            },
            Property {
                key: "compression.type".into(),
                value: "gzip".into(),
            },
            Property {
                key: "linger.ms".into(),
                value: "7".into(),
            },
        ];
        let props = producer_properties("b:9092", Some("lz4"), &extra);
        let expect = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            props,
            vec![
                expect("linger.ms", "7"),
                expect("bootstrap.servers", "b:9092"),
                expect("compression.type", "lz4"),
            ]
        );
        let props = producer_properties("b:9092", None, &extra[2..3]);
        assert_eq!(
            props,
            vec![
                expect("compression.type", "gzip"),
                expect("bootstrap.servers", "b:9092")
            ]
        );
    }

    #[test]
    fn properties_files_parse_like_java() {
        let text = "# comment\n! also\n\nsecurity.protocol=SASL_SSL\nsasl.mechanism : PLAIN\n\
                    sasl.jaas.config=org.X required \\\n    username=\"a\" password=\"b\";\n\
                    key\\=with\\:specials = v\\tw\nbare value\n";
        let props = parse_properties_file(text).unwrap();
        let kv: Vec<(&str, &str)> = props
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "PLAIN"),
                (
                    "sasl.jaas.config",
                    "org.X required username=\"a\" password=\"b\";"
                ),
                ("key=with:specials", "v\tw"),
                ("bare", "value"),
            ]
        );
        assert!(parse_properties_file("=v").unwrap_err().contains("line 1"));
    }

    #[test]
    fn counts_refuse_negative_numbers_with_a_range_error() {
        assert_eq!(parse_count("5"), Ok(5));
        assert_eq!(parse_count("0"), Ok(0));
        assert!(parse_count("-5").unwrap_err().contains("not in 0.."));
        assert!(parse_count("x").unwrap_err().contains("not a whole number"));
        let err = Cli::try_parse_from([
            "ferrokafka-cli",
            "perf",
            "-b",
            "a:1",
            "-t",
            "t",
            "--num-records",
            "-5",
            "--record-size",
            "10",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("-5 is not in 0.."), "{err}");
        let err = Cli::try_parse_from([
            "ferrokafka-cli",
            "produce",
            "-b",
            "a:1",
            "-t",
            "t",
            "-p",
            "-1",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("-1 is not in 0.."), "{err}");
    }
}
