//! `security.protocol`, TLS (`ssl.*`) and SASL (`sasl.*`) settings: Java's names, and
//! librdkafka's where Java has none (`ssl.ca.location`, `ssl.certificate.location`,
//! `ssl.key.location`, the `*.pem` keys, `sasl.username`/`sasl.password`,
//! `sasl.oauthbearer.config`, `enable.ssl.certificate.verification`).
//!
//! Values are checked here for form (known protocol and mechanism, PEM-only store types,
//! credentials present); files and PEM text are read when the producer starts, with errors that
//! name the key. Secrets (passwords, private keys, JAAS text, tokens) never appear in `Debug`
//! output or in errors.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use ferrokafka_engine::SaslConfig;
use ferrokafka_engine::sasl::{Credentials, Mechanism};

use super::ConfigError;

/// Every security key `set` accepts.
pub(super) const SECURITY_KEYS: &[&str] = &[
    "security.protocol",
    "ssl.ca.location",
    "ssl.ca.pem",
    "ssl.truststore.location",
    "ssl.truststore.type",
    "ssl.truststore.certificates",
    "ssl.truststore.password",
    "ssl.certificate.location",
    "ssl.certificate.pem",
    "ssl.key.location",
    "ssl.key.pem",
    "ssl.key.password",
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.password",
    "ssl.endpoint.identification.algorithm",
    "enable.ssl.certificate.verification",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.password",
    "sasl.jaas.config",
    "sasl.oauthbearer.config",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.scope",
];

/// A value that must not be shown: `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// No TLS, no SASL (the default).
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections use TLS.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SslConfig {
    /// `ssl.ca.location` / `ssl.truststore.location` (PEM): CA certificates to trust.
    pub ca_location: Option<(&'static str, PathBuf)>,
    /// `ssl.ca.pem` / `ssl.truststore.certificates`: CA certificates as PEM text.
    pub ca_pem: Option<(&'static str, String)>,
    /// `ssl.certificate.location` / `ssl.certificate.pem` / `ssl.keystore.certificate.chain`:
    /// the client certificate chain (mTLS).
    pub certificate: Option<(&'static str, PemSource)>,
    /// `ssl.key.location` / `ssl.key.pem` / `ssl.keystore.key`: the client's private key.
    pub key: Option<(&'static str, PemSource)>,
    /// `ssl.keystore.location`: one PEM file holding the key and the certificate chain.
    pub keystore_location: Option<PathBuf>,
    /// `ssl.key.password` (or `ssl.keystore.password` for a PEM keystore): decrypts an
    /// encrypted PKCS#8 key.
    pub key_password: Option<Secret>,
    /// `ssl.endpoint.identification.algorithm`: `https` (default) checks the broker's host
    /// name against its certificate; empty turns that off (Java's way).
    pub endpoint_identification: bool,
    /// `enable.ssl.certificate.verification` (default true): false accepts any certificate
    /// (test setups only; a warning says so).
    pub verify_certificates: bool,
}

impl Default for SslConfig {
    fn default() -> Self {
        SslConfig {
            ca_location: None,
            ca_pem: None,
            certificate: None,
            key: None,
            keystore_location: None,
            key_password: None,
            endpoint_identification: true,
            verify_certificates: true,
        }
    }
}

/// Where PEM text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A file.
    File(PathBuf),
    /// Inline text (private keys are kept as secrets).
    Inline(Secret),
}

/// What provides OAUTHBEARER tokens.
#[derive(Clone)]
pub enum TokenSource {
    /// An unsecured JWT (`alg: none`) made here: librdkafka's `sasl.oauthbearer.config`
    /// (`principal=alice [scope=..] [lifeSeconds=..]`) or Java's unsecured login module options.
    /// Only for test clusters whose brokers accept unsecured tokens.
    Unsecured {
        /// The `sub` claim.
        principal: String,
        /// The `scope` claim (space-separated), if any.
        scope: Option<String>,
        /// Token lifetime.
        life_seconds: u64,
    },
    /// The application's provider.
    Provider(Arc<dyn crate::OAuthBearerTokenProvider>),
    /// The built-in OIDC client-credentials provider (`sasl.oauthbearer.method=oidc`,
    /// feature `oidc`).
    Oidc {
        /// `sasl.oauthbearer.token.endpoint.url`.
        url: String,
        /// `sasl.oauthbearer.client.id`.
        client_id: String,
        /// `sasl.oauthbearer.client.secret`.
        client_secret: Secret,
        /// `sasl.oauthbearer.scope`.
        scope: Option<String>,
    },
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Unsecured { principal, .. } => f
                .debug_struct("Unsecured")
                .field("principal", principal)
                .finish_non_exhaustive(),
            TokenSource::Provider(_) => f.write_str("Provider(..)"),
            TokenSource::Oidc { url, client_id, .. } => f
                .debug_struct("Oidc")
                .field("url", url)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

impl PartialEq for TokenSource {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                TokenSource::Unsecured {
                    principal: a,
                    scope: b,
                    life_seconds: c,
                },
                TokenSource::Unsecured {
                    principal: x,
                    scope: y,
                    life_seconds: z,
                },
            ) => a == x && b == y && c == z,
            (TokenSource::Provider(a), TokenSource::Provider(b)) => Arc::ptr_eq(a, b),
            (
                TokenSource::Oidc {
                    url: a,
                    client_id: b,
                    client_secret: c,
                    scope: d,
                },
                TokenSource::Oidc {
                    url: w,
                    client_id: x,
                    client_secret: y,
                    scope: z,
                },
            ) => a == w && b == x && c == y && d == z,
            _ => false,
        }
    }
}

/// `security.protocol` with its TLS and SASL settings.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SecurityConfig {
    /// `security.protocol`.
    pub protocol: SecurityProtocol,
    /// TLS settings (used with `SSL` and `SASL_SSL`).
    pub ssl: SslConfig,
    /// The SASL mechanism and credentials (with `SASL_*`), set by `build`.
    pub sasl: Option<SaslConfig>,
    /// OAUTHBEARER's token source (with `sasl.mechanism=OAUTHBEARER`).
    pub oauth: Option<TokenSource>,
}

/// Raw `sasl.*` and store-type values, checked together at `build`.
#[derive(Debug, Clone, Default)]
pub(super) struct Pending {
    mechanism: Option<String>,
    username: Option<String>,
    password: Option<Secret>,
    jaas: Option<Secret>,
    oauthbearer_config: Option<Secret>,
    oauthbearer_method: Option<String>,
    token_endpoint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    scope: Option<String>,
    truststore_type: Option<String>,
    keystore_type: Option<String>,
}

fn invalid(key: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key,
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// An invalid secret value: the error names the key, never the value.
fn invalid_secret(key: &'static str, expected: &str) -> ConfigError {
    invalid(key, "<redacted>", expected)
}

/// Applies one security key; `Ok(false)` if `key` is not one.
pub(super) fn apply(
    s: &mut SecurityConfig,
    p: &mut Pending,
    key: &str,
    v: &str,
) -> Result<bool, ConfigError> {
    let none_if_empty = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    match key {
        "security.protocol" => {
            s.protocol = match v.to_ascii_uppercase().as_str() {
                "PLAINTEXT" => SecurityProtocol::Plaintext,
                "SSL" => SecurityProtocol::Ssl,
                "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
                "SASL_SSL" => SecurityProtocol::SaslSsl,
                _ => {
                    return Err(invalid(
                        "security.protocol",
                        v,
                        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                    ));
                }
            };
        }
        "ssl.ca.location" | "ssl.truststore.location" => {
            let key = if key == "ssl.ca.location" {
                "ssl.ca.location"
            } else {
                "ssl.truststore.location"
            };
            s.ssl.ca_location = none_if_empty(v).map(|v| (key, PathBuf::from(v)));
        }
        "ssl.ca.pem" | "ssl.truststore.certificates" => {
            let key = if key == "ssl.ca.pem" {
                "ssl.ca.pem"
            } else {
                "ssl.truststore.certificates"
            };
            s.ssl.ca_pem = none_if_empty(v).map(|v| (key, v));
        }
        "ssl.truststore.type" => p.truststore_type = none_if_empty(v),
        "ssl.keystore.type" => p.keystore_type = none_if_empty(v),
        // A PEM truststore has no password; accepted and ignored, as Java does for PEM.
        "ssl.truststore.password" => {}
        "ssl.certificate.location" => {
            s.ssl.certificate = none_if_empty(v).map(|v| {
                (
                    "ssl.certificate.location",
                    PemSource::File(PathBuf::from(v)),
                )
            });
        }
        "ssl.certificate.pem" | "ssl.keystore.certificate.chain" => {
            let key = if key == "ssl.certificate.pem" {
                "ssl.certificate.pem"
            } else {
                "ssl.keystore.certificate.chain"
            };
            s.ssl.certificate = none_if_empty(v).map(|v| (key, PemSource::Inline(Secret(v))));
        }
        "ssl.key.location" => {
            s.ssl.key =
                none_if_empty(v).map(|v| ("ssl.key.location", PemSource::File(PathBuf::from(v))));
        }
        "ssl.key.pem" | "ssl.keystore.key" => {
            let key = if key == "ssl.key.pem" {
                "ssl.key.pem"
            } else {
                "ssl.keystore.key"
            };
            s.ssl.key = none_if_empty(v).map(|v| (key, PemSource::Inline(Secret(v))));
        }
        "ssl.keystore.location" => s.ssl.keystore_location = none_if_empty(v).map(PathBuf::from),
        "ssl.key.password" | "ssl.keystore.password" => {
            s.ssl.key_password = none_if_empty(v).map(Secret);
        }
        "ssl.endpoint.identification.algorithm" => {
            s.ssl.endpoint_identification = match v.to_ascii_lowercase().as_str() {
                "https" => true,
                "" | "none" => false,
                _ => {
                    return Err(invalid(
                        "ssl.endpoint.identification.algorithm",
                        v,
                        "https, or empty to skip the host name check",
                    ));
                }
            };
        }
        "enable.ssl.certificate.verification" => {
            s.ssl.verify_certificates = match v.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(invalid(
                        "enable.ssl.certificate.verification",
                        v,
                        "true or false",
                    ));
                }
            };
        }
        "sasl.mechanism" | "sasl.mechanisms" => p.mechanism = none_if_empty(v),
        "sasl.username" => p.username = Some(v.to_owned()),
        "sasl.password" => p.password = Some(Secret(v.to_owned())),
        "sasl.jaas.config" => p.jaas = none_if_empty(v).map(Secret),
        "sasl.oauthbearer.config" => p.oauthbearer_config = none_if_empty(v).map(Secret),
        "sasl.oauthbearer.method" => {
            p.oauthbearer_method = match v.to_ascii_lowercase().as_str() {
                "" | "default" => None,
                "oidc" => Some("oidc".to_owned()),
                _ => return Err(invalid("sasl.oauthbearer.method", v, "default or oidc")),
            };
        }
        "sasl.oauthbearer.token.endpoint.url" => p.token_endpoint = none_if_empty(v),
        "sasl.oauthbearer.client.id" => p.client_id = none_if_empty(v),
        "sasl.oauthbearer.client.secret" => p.client_secret = none_if_empty(v).map(Secret),
        "sasl.oauthbearer.scope" => p.scope = none_if_empty(v),
        _ => return Ok(false),
    }
    Ok(true)
}

/// Java's JAAS line for the login modules we accept:
/// `<class> required key="value" key2="value2";`.
fn parse_jaas(text: &str) -> Result<(String, Vec<(String, String)>), ConfigError> {
    let bad = || {
        invalid_secret(
            "sasl.jaas.config",
            "`<LoginModule class> required key=\"value\" ...;`",
        )
    };
    let text = text.trim().trim_end_matches(';').trim();
    let (class, rest) = text.split_once(char::is_whitespace).ok_or_else(bad)?;
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix("required")
        .or_else(|| rest.strip_prefix("requisite"))
        .or_else(|| rest.strip_prefix("sufficient"))
        .or_else(|| rest.strip_prefix("optional"))
        .ok_or_else(bad)?;
    let mut options = Vec::new();
    let mut chars = rest.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim().to_owned();
        if key.is_empty() {
            return Err(bad());
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(bad()),
                }
            }
            value
        } else {
            chars.by_ref().take_while(|c| !c.is_whitespace()).collect()
        };
        options.push((key, value));
    }
    Ok((class.to_owned(), options))
}

/// Checks the SASL and store settings together and fills `s.sasl` and `s.oauth`.
pub(super) fn finish(
    s: &mut SecurityConfig,
    p: &Pending,
    provider: Option<TokenSource>,
) -> Result<(), ConfigError> {
    for (key, value) in [
        ("ssl.truststore.type", &p.truststore_type),
        ("ssl.keystore.type", &p.keystore_type),
    ] {
        if let Some(t) = value
            && !t.eq_ignore_ascii_case("PEM")
        {
            return Err(invalid(
                key,
                t,
                "PEM (JKS and PKCS12 stores are not read: convert them to PEM, e.g. with \
                 `keytool -importkeystore ... -deststoretype PKCS12` then `openssl pkcs12 -nodes`)",
            ));
        }
    }
    if s.ssl.certificate.is_some() != s.ssl.key.is_some() && s.ssl.keystore_location.is_none() {
        let missing = if s.ssl.certificate.is_some() {
            "ssl.key.location"
        } else {
            "ssl.certificate.location"
        };
        return Err(invalid(
            missing,
            "",
            "a client certificate and its key go together (ssl.certificate.* with ssl.key.*)",
        ));
    }
    if !s.protocol.sasl() {
        s.sasl = None;
        s.oauth = None;
        return Ok(());
    }
    let jaas = p
        .jaas
        .as_ref()
        .map(|j| parse_jaas(j.expose()))
        .transpose()?;
    let mechanism_name = p.mechanism.as_deref().unwrap_or("GSSAPI");
    let Some(mechanism) = Mechanism::parse(mechanism_name) else {
        return Err(invalid(
            "sasl.mechanism",
            mechanism_name,
            "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (GSSAPI/Kerberos is not \
             supported; it is Java's default when sasl.mechanism is unset)",
        ));
    };
    let jaas_option = |name: &str| {
        jaas.as_ref().and_then(|(_, options)| {
            options
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    if mechanism == Mechanism::OAuthBearer {
        s.sasl = Some(SaslConfig::new(mechanism, None));
        // Java: the token endpoint URL alone selects its OIDC login callback handler.
        let oidc = p.oauthbearer_method.is_some() || p.token_endpoint.is_some();
        s.oauth = Some(match provider {
            Some(provider) => provider,
            None if oidc => oidc_token_source(p, &jaas_option)?,
            None => unsecured_token_source(p, &jaas_option)?,
        });
        return Ok(());
    }
    if let Some((class, _)) = &jaas {
        let expected = match mechanism {
            Mechanism::Plain => "PlainLoginModule",
            _ => "ScramLoginModule",
        };
        if !class.ends_with(expected) {
            return Err(invalid_secret(
                "sasl.jaas.config",
                &format!("a {expected} for sasl.mechanism={mechanism}"),
            ));
        }
    }
    let username = p
        .username
        .clone()
        .or_else(|| jaas_option("username"))
        .ok_or_else(|| {
            invalid(
                "sasl.username",
                "",
                &format!("a user name for {mechanism} (or sasl.jaas.config with username=...)"),
            )
        })?;
    let password = p
        .password
        .as_ref()
        .map(|s| s.expose().to_owned())
        .or_else(|| jaas_option("password"))
        .ok_or_else(|| {
            invalid(
                "sasl.password",
                "",
                &format!("a password for {mechanism} (or sasl.jaas.config with password=...)"),
            )
        })?;
    s.sasl = Some(SaslConfig::new(
        mechanism,
        Some(Credentials { username, password }),
    ));
    s.oauth = None;
    Ok(())
}

mod oauthbearer;
use oauthbearer::{oidc_token_source, unsecured_token_source};

#[cfg(test)]
mod tests;
