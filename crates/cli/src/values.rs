//! The values of the flags: the small parsers behind `-H`, `-X`, `-K`, `-D`, `-z`, the counts
//! and `--throughput`, and the types they produce.

use bytes::Bytes;

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn counts_refuse_negative_numbers_with_a_range_error() {
        assert_eq!(parse_count("5"), Ok(5));
        assert_eq!(parse_count("0"), Ok(0));
        assert!(parse_count("-5").unwrap_err().contains("not in 0.."));
        assert!(parse_count("x").unwrap_err().contains("not a whole number"));
    }
}
