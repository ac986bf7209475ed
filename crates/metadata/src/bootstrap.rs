//! Parsing `bootstrap.servers`: a comma-separated list of `host:port` entries.
//!
//! Follows the Java client (`ClientUtils.parseAndValidateAddresses`,
//! `Utils.getHost`/`getPort`): whitespace around entries is trimmed, empty
//! entries are skipped, IPv6 literals go in brackets (`[::1]:9092`), and the
//! port is whatever follows the last `:` of an unbracketed entry. Name
//! resolution is the driver's business; this module never touches the network.

use std::fmt;

use crate::error::BootstrapError;

/// One `host:port` entry of `bootstrap.servers`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddress {
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// TCP port, never 0.
    pub port: u16,
}

impl BrokerAddress {
    /// Builds an address.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for BrokerAddress {
    /// `host:port`, with IPv6 literals bracketed so the output parses again.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses a `bootstrap.servers` value into its addresses, in order.
///
/// ```
/// use ferrokafka_metadata::{parse_bootstrap, BrokerAddress};
/// let got = parse_bootstrap("a:9092, b:9093,[::1]:9094").unwrap();
/// assert_eq!(got, vec![
///     BrokerAddress::new("a", 9092),
///     BrokerAddress::new("b", 9093),
///     BrokerAddress::new("::1", 9094),
/// ]);
/// ```
pub fn parse_bootstrap(servers: &str) -> Result<Vec<BrokerAddress>, BootstrapError> {
    let mut out = Vec::new();
    for entry in servers.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        out.push(parse_entry(entry)?);
    }
    if out.is_empty() {
        return Err(BootstrapError::Empty);
    }
    Ok(out)
}

/// Parses one trimmed, non-empty entry.
fn parse_entry(entry: &str) -> Result<BrokerAddress, BootstrapError> {
    let owned = || entry.to_owned();
    // Java quietly skips such a prefix; a URL here is almost always a copy-paste from a broker's
    // listener config, and taking `tcp://host` as a host name fails much later on a DNS lookup.
    if let Some((scheme, address)) = entry.split_once("://") {
        return Err(BootstrapError::UrlScheme {
            entry: owned(),
            scheme: scheme.to_owned(),
            address: address.to_owned(),
        });
    }
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(BootstrapError::UnclosedBracket { entry: owned() });
        };
        let host = &rest[..close];
        let after = &rest[close + 1..];
        if after.is_empty() {
            return Err(BootstrapError::MissingPort { entry: owned() });
        }
        let Some(port) = after.strip_prefix(':') else {
            return Err(BootstrapError::UnclosedBracket { entry: owned() });
        };
        (host, port)
    } else {
        let Some(colon) = entry.rfind(':') else {
            return Err(BootstrapError::MissingPort { entry: owned() });
        };
        (&entry[..colon], &entry[colon + 1..])
    };
    if host.is_empty() {
        return Err(BootstrapError::MissingHost { entry: owned() });
    }
    if port.is_empty() {
        return Err(BootstrapError::MissingPort { entry: owned() });
    }
    let bad_port = || BootstrapError::InvalidPort {
        entry: owned(),
        port: port.to_owned(),
    };
    // `u16::from_str` would accept a leading `+`; Kafka ports are plain digits.
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_port());
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad_port()),
        Ok(p) => Ok(BrokerAddress::new(host, p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(h: &str, p: u16) -> BrokerAddress {
        BrokerAddress::new(h, p)
    }

    #[test]
    fn a_url_scheme_is_refused_with_the_address_it_should_be() {
        let err = parse_bootstrap("a:1,tcp://127.0.0.1:9092").unwrap_err();
        assert_eq!(
            err,
            BootstrapError::UrlScheme {
                entry: "tcp://127.0.0.1:9092".into(),
                scheme: "tcp".into(),
                address: "127.0.0.1:9092".into(),
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("bootstrap.servers"), "{msg}");
        assert!(msg.contains("did you mean `127.0.0.1:9092`"), "{msg}");
        assert!(matches!(
            parse_bootstrap("PLAINTEXT://[::1]:9092"),
            Err(BootstrapError::UrlScheme { .. })
        ));
    }

    #[test]
    fn mixed_list_with_whitespace_and_ipv6() {
        assert_eq!(
            parse_bootstrap("a:9092, b:9093,[::1]:9094").unwrap(),
            vec![addr("a", 9092), addr("b", 9093), addr("::1", 9094)]
        );
        assert_eq!(
            parse_bootstrap("  host.example.com:1  ,\t10.0.0.1:65535 ").unwrap(),
            vec![addr("host.example.com", 1), addr("10.0.0.1", 65535)]
        );
    }

    #[test]
    fn empty_entries_are_skipped() {
        assert_eq!(
            parse_bootstrap(",a:1,, ,b:2,").unwrap(),
            vec![addr("a", 1), addr("b", 2)]
        );
    }

    #[test]
    fn empty_list_is_an_error() {
        for s in ["", "   ", ",", " , ,"] {
            let err = parse_bootstrap(s).unwrap_err();
            assert_eq!(err, BootstrapError::Empty);
            assert!(err.to_string().contains("bootstrap.servers"));
        }
    }

    #[test]
    fn missing_port() {
        for s in ["a", "a:", "[::1]", "[::1]:"] {
            let err = parse_bootstrap(s).unwrap_err();
            assert!(
                matches!(err, BootstrapError::MissingPort { ref entry } if entry == s),
                "{s}: {err:?}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("bootstrap.servers") && msg.contains(s),
                "{msg}"
            );
        }
    }

    #[test]
    fn bad_ports_name_the_entry() {
        for (s, port) in [
            ("a:0", "0"),
            ("a:65536", "65536"),
            ("a:99999999999", "99999999999"),
            ("a:x", "x"),
            ("a:+1", "+1"),
            ("a:-1", "-1"),
        ] {
            let err = parse_bootstrap(&format!("ok:1, {s}")).unwrap_err();
            assert_eq!(
                err,
                BootstrapError::InvalidPort {
                    entry: s.into(),
                    port: port.into()
                }
            );
            let msg = err.to_string();
            assert!(
                msg.contains(s) && msg.contains("bootstrap.servers"),
                "{msg}"
            );
        }
    }

    #[test]
    fn brackets() {
        assert!(matches!(
            parse_bootstrap("[::1:9092"),
            Err(BootstrapError::UnclosedBracket { .. })
        ));
        assert!(matches!(
            parse_bootstrap("[::1]9092"),
            Err(BootstrapError::UnclosedBracket { .. })
        ));
        assert!(matches!(
            parse_bootstrap("[]:9092"),
            Err(BootstrapError::MissingHost { .. })
        ));
        assert!(matches!(
            parse_bootstrap(":9092"),
            Err(BootstrapError::MissingHost { .. })
        ));
        assert_eq!(
            parse_bootstrap("[fe80::1%eth0]:1").unwrap(),
            vec![addr("fe80::1%eth0", 1)]
        );
        // Like Java's Utils.getHost, an unbracketed entry splits at the last colon.
        assert_eq!(
            parse_bootstrap("::1:9092").unwrap(),
            vec![addr("::1", 9092)]
        );
    }

    #[test]
    fn display_round_trips() {
        for a in [addr("a", 1), addr("::1", 9094)] {
            assert_eq!(parse_bootstrap(&a.to_string()).unwrap(), vec![a]);
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "[a-z0-9:\\[\\], .%+-]{0,40}") {
            let _ = parse_bootstrap(&s);
        }

        #[test]
        fn formatted_lists_parse_back(
            entries in proptest::collection::vec(
                ("[a-z][a-z0-9.-]{0,10}|[0-9a-f:]{2,10}", 1u16..), 1..5)
        ) {
            let addrs: Vec<_> = entries.into_iter().map(|(h, p)| addr(&h, p)).collect();
            let text = addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(" , ");
            prop_assert_eq!(parse_bootstrap(&text).unwrap(), addrs);
        }
    }
}
