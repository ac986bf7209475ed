//! Apache Kafka with TLS and SASL: certificates made here (rcgen), and a one-node cluster whose
//! extra listeners cover every security setup the producer is tested with.
//!
//! # Certificates ([`Certs`])
//!
//! Generated afresh for each cluster, ECDSA P-256, valid 2025–2100 unless said otherwise:
//!
//! - a CA (`CN=ferrokafka test CA`), and a second, unrelated CA that signed nothing the brokers
//!   use ([`Certs::other_ca`], for "untrusted CA" cases);
//! - the broker's certificate for `127.0.0.1` (IP SAN) and `localhost` (DNS SAN), signed by the
//!   CA, with `serverAuth`;
//! - a broker certificate signed by the CA but only for `wrong-host.invalid`, served on the
//!   [`Listener::WrongHost`] listener (hostname verification must refuse it);
//! - a client certificate (`CN=alice`, `clientAuth`) signed by the CA, its key as PKCS#8 PEM,
//!   also encrypted (PBES2: PBKDF2-SHA256 and AES-256-CBC, [`CLIENT_KEY_PASSWORD`]);
//! - an expired client certificate (`CN=expired`, valid 2020-01-01 to 2021-01-01) signed by the CA.
//!
//! [`SecureKafka::start`] writes them under the cluster's directory, in `certs/`
//! ([`CertFiles`]). The brokers read theirs inline, as Kafka's PEM keystores.
//!
//! # Listeners ([`Listener`])
//!
//! `PLAINTEXT` stays as the harness has it (Admin helper, inter-broker traffic, controller
//! checks). Next to it, each with its own port:
//!
//! | listener | protocol | what |
//! |---|---|---|
//! | `SSL` | SSL | server certificate only |
//! | `MTLS` | SSL | `ssl.client.auth=required`, clients must present a CA-signed certificate |
//! | `WRONGHOST` | SSL | the certificate for `wrong-host.invalid` |
//! | `SASL_PLAINTEXT` | SASL_PLAINTEXT | PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER |
//! | `SASL_SSL` | SASL_SSL | the same mechanisms over TLS |
//! | `PLAIN_ONLY` | SASL_PLAINTEXT | PLAIN only (for "mechanism not enabled") |
//! | `REAUTH_PLAINTEXT` | SASL_PLAINTEXT | every mechanism, `connections.max.reauth.ms` set |
//! | `REAUTH_SSL` | SASL_SSL | the same over TLS |
//!
//! # Kafka 4.4 facts this relies on
//!
//! - **PEM keystores** (KIP-651): `ssl.keystore.type=PEM` with `ssl.keystore.key` (an unencrypted
//!   PKCS#8 `PRIVATE KEY` needs no `ssl.key.password`) and `ssl.keystore.certificate.chain`, or
//!   `ssl.keystore.location` naming one file with the key and the chain; `ssl.truststore.type=PEM`
//!   with `ssl.truststore.certificates` or `ssl.truststore.location`, and no truststore password
//!   ("SSL trust store password cannot be specified for PEM format"). Inline values go into
//!   `server.properties` with their line breaks written as `\n` (Java properties escapes). Every
//!   setting is per listener: `listener.name.<listener in lower case>.ssl.*`.
//! - **SASL** per listener: `listener.name.<l>.sasl.enabled.mechanisms` and one JAAS entry per
//!   mechanism, `listener.name.<l>.<mechanism in lower case>.sasl.jaas.config`. PLAIN users are
//!   the `user_<name>="<password>"` options of `PlainLoginModule`; SCRAM users are stored in the
//!   cluster metadata, created at format time (`StorageTool format --add-scram
//!   'SCRAM-SHA-256=[name=alice,password=...]'`, once per mechanism), and the JAAS entry is a bare
//!   `ScramLoginModule required;`.
//! - **OAUTHBEARER, unsecured JWTs**: with no `sasl.server.callback.handler.class`, Kafka 4.4's
//!   `SaslChannelBuilder` still validates OAUTHBEARER with
//!   `OAuthBearerUnsecuredValidatorCallbackHandler` (read off the 4.4.0 `kafka-clients` jar), so no
//!   system property and no JWKS URL is needed; the secured `OAuthBearerValidatorCallbackHandler`
//!   would insist on `sasl.oauthbearer.jwks.endpoint.url`. The JAAS entry is
//!   `OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";` (the broker's own
//!   login token comes from `OAuthBearerUnsecuredLoginCallbackHandler`, the default
//!   `sasl.login.callback.handler.class` for OAUTHBEARER). The validator wants an unsigned JWS
//!   (`{"alg":"none"}`) whose claims hold the principal (`sub`, option
//!   `unsecuredValidatorPrincipalClaimName`) and a numeric `exp` in the future (`iat`, if present,
//!   not in the future); options `unsecuredValidatorRequiredScope` and
//!   `unsecuredValidatorAllowableClockSkewMs` are not set here.
//! - **Re-authentication** (KIP-368): `connections.max.reauth.ms` takes the listener prefix
//!   (`listener.name.<l>.connections.max.reauth.ms`) and, optionally, a mechanism prefix too; the
//!   broker tells the client the session lifetime in SaslAuthenticate v1+ and closes a connection
//!   that is used past it without re-authenticating.
//!
//! The users: [`USER`] with [`PASSWORD`] for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; OAUTHBEARER
//! accepts any principal with an unsecured token.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use pkcs8::der::pem::LineEnding;
use pkcs8::pkcs5::pbes2;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};

use crate::HarnessError;
use crate::kafka::{KafkaCluster, KafkaOptions};

/// The SASL user every mechanism knows.
pub const USER: &str = "alice";
/// [`USER`]'s password (PLAIN and both SCRAM mechanisms).
pub const PASSWORD: &str = "alice-secret";
/// A second SASL user, known to PLAIN and both SCRAM mechanisms.
pub const OTHER_USER: &str = "bob";
/// [`OTHER_USER`]'s password.
pub const OTHER_PASSWORD: &str = "bob-secret";
/// The password of [`CertFiles::client_key_encrypted`] / [`Certs::client_key_encrypted`].
pub const CLIENT_KEY_PASSWORD: &str = "client-key-secret";
/// Every SASL mechanism the SASL listeners enable.
pub const MECHANISMS: [&str; 4] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];
/// The only DNS name in the [`Listener::WrongHost`] listener's certificate.
pub const WRONG_HOST: &str = "wrong-host.invalid";
/// `connections.max.reauth.ms` of the re-authentication listeners of [`shared`].
pub const SHARED_REAUTH_MS: u64 = 2500;

/// The extra listeners of a [`SecureKafka`] (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listener {
    /// SSL, server certificate only.
    Ssl,
    /// SSL with `ssl.client.auth=required`.
    Mtls,
    /// SSL with a certificate for [`WRONG_HOST`] only.
    WrongHost,
    /// SASL_PLAINTEXT, every mechanism of [`MECHANISMS`].
    SaslPlaintext,
    /// SASL_SSL, every mechanism of [`MECHANISMS`].
    SaslSsl,
    /// SASL_PLAINTEXT with PLAIN only.
    PlainOnly,
    /// SASL_PLAINTEXT, every mechanism, `connections.max.reauth.ms` set.
    ReauthPlaintext,
    /// SASL_SSL, every mechanism, `connections.max.reauth.ms` set.
    ReauthSsl,
}

impl Listener {
    /// Every listener.
    pub const ALL: [Listener; 8] = [
        Listener::Ssl,
        Listener::Mtls,
        Listener::WrongHost,
        Listener::SaslPlaintext,
        Listener::SaslSsl,
        Listener::PlainOnly,
        Listener::ReauthPlaintext,
        Listener::ReauthSsl,
    ];

    /// The listener's name in `listeners`.
    pub fn name(self) -> &'static str {
        match self {
            Listener::Ssl => "SSL",
            Listener::Mtls => "MTLS",
            Listener::WrongHost => "WRONGHOST",
            Listener::SaslPlaintext => "SASL_PLAINTEXT",
            Listener::SaslSsl => "SASL_SSL",
            Listener::PlainOnly => "PLAIN_ONLY",
            Listener::ReauthPlaintext => "REAUTH_PLAINTEXT",
            Listener::ReauthSsl => "REAUTH_SSL",
        }
    }

    /// Its `security.protocol`.
    pub fn protocol(self) -> &'static str {
        match self {
            Listener::Ssl | Listener::Mtls | Listener::WrongHost => "SSL",
            Listener::SaslPlaintext | Listener::PlainOnly | Listener::ReauthPlaintext => {
                "SASL_PLAINTEXT"
            }
            Listener::SaslSsl | Listener::ReauthSsl => "SASL_SSL",
        }
    }

    /// Whether the listener speaks TLS.
    pub fn tls(self) -> bool {
        matches!(self.protocol(), "SSL" | "SASL_SSL")
    }

    /// The SASL mechanisms it enables (none for SSL listeners).
    pub fn mechanisms(self) -> &'static [&'static str] {
        match self {
            Listener::Ssl | Listener::Mtls | Listener::WrongHost => &[],
            Listener::PlainOnly => &["PLAIN"],
            _ => &MECHANISMS,
        }
    }

    fn reauth(self) -> bool {
        matches!(self, Listener::ReauthPlaintext | Listener::ReauthSsl)
    }
}

/// A certificate (its chain, leaf first, as PEM) and its PKCS#8 private key (PEM).
#[derive(Clone)]
pub struct Identity {
    /// `-----BEGIN CERTIFICATE-----` blocks, leaf first, then the CA.
    pub chain_pem: String,
    /// `-----BEGIN PRIVATE KEY-----` (unencrypted PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("chain_pem", &format!("{} bytes", self.chain_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Every certificate and key of a [`SecureKafka`], as PEM text.
#[derive(Debug, Clone)]
pub struct Certs {
    /// The CA that signed every broker and client certificate.
    pub ca: String,
    /// An unrelated CA that signed nothing the brokers use.
    pub other_ca: String,
    /// The brokers' certificate (127.0.0.1, localhost).
    pub server: Identity,
    /// The [`Listener::WrongHost`] certificate ([`WRONG_HOST`] only).
    pub wrong_host: Identity,
    /// A client certificate signed by the CA (`CN=alice`).
    pub client: Identity,
    /// The client key encrypted with [`CLIENT_KEY_PASSWORD`] (`ENCRYPTED PRIVATE KEY`).
    pub client_key_encrypted: String,
    /// An expired client certificate signed by the CA.
    pub expired_client: Identity,
}

/// Where [`SecureKafka::start`] wrote the PEM files (`<cluster dir>/certs/`).
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The directory.
    pub dir: PathBuf,
    /// The CA certificate.
    pub ca: PathBuf,
    /// The unrelated CA's certificate.
    pub other_ca: PathBuf,
    /// The client certificate chain (leaf, CA).
    pub client_cert: PathBuf,
    /// The client's unencrypted PKCS#8 key.
    pub client_key: PathBuf,
    /// The client's key encrypted with [`CLIENT_KEY_PASSWORD`].
    pub client_key_encrypted: PathBuf,
    /// The client's key followed by its chain: a Java PEM keystore file.
    pub client_keystore: PathBuf,
    /// The expired client certificate chain.
    pub expired_cert: PathBuf,
    /// The expired client certificate's key.
    pub expired_key: PathBuf,
}

/// A one-node Kafka cluster with every [`Listener`], its certificates and their files.
#[derive(Debug)]
pub struct SecureKafka {
    cluster: KafkaCluster,
    certs: Certs,
    files: CertFiles,
    reauth_ms: u64,
}

impl SecureKafka {
    /// Makes the certificates, starts the cluster (SCRAM users formatted in, every listener
    /// configured, `connections.max.reauth.ms = reauth_ms` on the re-authentication listeners)
    /// and writes the PEM files under its directory.
    pub fn start(reauth_ms: u64) -> Result<SecureKafka, HarnessError> {
        SecureKafka::start_with(reauth_ms, |_| {})
    }

    /// [`SecureKafka::start`] with the cluster's options adjusted by `adjust` once the
    /// listeners, certificates and SCRAM users are in them (e.g. a bigger heap and
    /// `test_jvm: false` for benchmarks).
    pub fn start_with(
        reauth_ms: u64,
        adjust: impl FnOnce(&mut KafkaOptions),
    ) -> Result<SecureKafka, HarnessError> {
        let certs = Certs::generate()?;
        let mut options = options(&certs, reauth_ms);
        adjust(&mut options);
        let cluster = KafkaCluster::start(options)?;
        let files = write_files(&certs, &cluster.dir().join("certs"))?;
        Ok(SecureKafka {
            cluster,
            certs,
            files,
            reauth_ms,
        })
    }

    /// The cluster (its `bootstrap()` is the PLAINTEXT listener).
    pub fn cluster(&self) -> &KafkaCluster {
        &self.cluster
    }

    /// The bootstrap address of `listener`.
    pub fn bootstrap(&self, listener: Listener) -> String {
        self.cluster.listener_bootstrap(listener.name())
    }

    /// The PLAINTEXT bootstrap address (Admin helper, unauthenticated reads).
    pub fn plaintext_bootstrap(&self) -> String {
        self.cluster.bootstrap()
    }

    /// The certificates and keys as PEM text.
    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    /// The PEM files.
    pub fn files(&self) -> &CertFiles {
        &self.files
    }

    /// `connections.max.reauth.ms` of [`Listener::ReauthPlaintext`] and [`Listener::ReauthSsl`].
    pub fn reauth_ms(&self) -> u64 {
        self.reauth_ms
    }

    /// Creates a topic through the PLAINTEXT listener (see [`KafkaCluster::create_topic`]).
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<(), HarnessError> {
        self.cluster.create_topic(name, partitions, 1, &[])
    }

    /// librdkafka properties that connect to `listener` as a client with the CA trusted, the
    /// client certificate presented on [`Listener::Mtls`], and `mechanism` (if the listener
    /// speaks SASL) for [`USER`]: what [`crate::consume::read_back_with`] takes to read back
    /// "with the same credentials".
    pub fn rdkafka_props(&self, listener: Listener, mechanism: &str) -> Vec<(String, String)> {
        let mut props = vec![
            ("bootstrap.servers".to_string(), self.bootstrap(listener)),
            (
                "security.protocol".to_string(),
                listener.protocol().to_string(),
            ),
        ];
        let mut add = |k: &str, v: &str| props.push((k.to_string(), v.to_string()));
        if listener.tls() {
            add("ssl.ca.location", &self.files.ca.display().to_string());
            add("ssl.endpoint.identification.algorithm", "https");
        }
        if listener == Listener::Mtls {
            add(
                "ssl.certificate.location",
                &self.files.client_cert.display().to_string(),
            );
            add(
                "ssl.key.location",
                &self.files.client_key.display().to_string(),
            );
        }
        if !listener.mechanisms().is_empty() {
            add("sasl.mechanism", mechanism);
            if mechanism == "OAUTHBEARER" {
                add("enable.sasl.oauthbearer.unsecure.jwt", "true");
                add("sasl.oauthbearer.config", &format!("principal={USER}"));
            } else {
                add("sasl.username", USER);
                add("sasl.password", PASSWORD);
            }
        }
        props
    }
}

/// The [`SecureKafka`] shared by every test of this test binary (re-authentication listeners
/// at [`SHARED_REAUTH_MS`]), started on first use. Panics (failing the calling test, with the
/// node's log) if it cannot start.
pub fn shared() -> &'static SecureKafka {
    static CELL: OnceLock<SecureKafka> = OnceLock::new();
    static START: Mutex<()> = Mutex::new(());
    if let Some(k) = CELL.get() {
        return k;
    }
    let _guard = START
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(k) = CELL.get() {
        return k;
    }
    let started = Instant::now();
    let kafka = SecureKafka::start(SHARED_REAUTH_MS)
        .unwrap_or_else(|e| panic!("cannot start the secured Kafka cluster: {e}"));
    let mut listeners = String::new();
    for l in Listener::ALL {
        let _ = write!(listeners, " {}={}", l.name(), kafka.bootstrap(l));
    }
    eprintln!(
        "[kafka] secured cluster up in {:.1} s ({}): PLAINTEXT={}{listeners}",
        started.elapsed().as_secs_f64(),
        kafka.cluster().dir().display(),
        kafka.plaintext_bootstrap(),
    );
    let _ = CELL.set(kafka);
    CELL.get().expect("just set")
}

fn cert_error(what: &str) -> impl FnOnce(rcgen::Error) -> HarnessError + '_ {
    move |e| HarnessError::Certificates {
        detail: format!("{what}: {e}"),
    }
}

/// A CA-signed end-entity certificate.
fn leaf(
    issuer: &CertifiedIssuer<'_, KeyPair>,
    common_name: &str,
    names: &[&str],
    purpose: ExtendedKeyUsagePurpose,
    validity: (i32, i32),
) -> Result<Identity, HarnessError> {
    let key = KeyPair::generate().map_err(cert_error("generate a key"))?;
    let mut params = CertificateParams::new(
        names
            .iter()
            .map(|n| (*n).to_string())
            .collect::<Vec<String>>(),
    )
    .map_err(cert_error("certificate names"))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.not_before = date_time_ymd(validity.0, 1, 1);
    params.not_after = date_time_ymd(validity.1, 1, 1);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![purpose];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(cert_error(common_name))?;
    Ok(Identity {
        chain_pem: format!("{}{}", cert.pem(), issuer.pem()),
        key_pem: key.serialize_pem(),
    })
}

fn ca(common_name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, HarnessError> {
    let key = KeyPair::generate().map_err(cert_error("generate a CA key"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2100, 1, 1);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, key).map_err(cert_error(common_name))
}

/// An unencrypted PKCS#8 PEM key encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC).
fn encrypt_key(key_pem: &str, password: &str) -> Result<String, HarnessError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| HarnessError::Certificates {
        detail: format!("encrypt the client key: {what}: {e}"),
    };
    let (_, der) =
        pkcs8::SecretDocument::from_pem(key_pem).map_err(|e| fail("parse the PEM key", &e))?;
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_bytes())
        .map_err(|e| fail("parse the PKCS#8 key", &e))?;
    // Fixed salt and IV: test data, nothing to protect.
    let salt = *b"ferrokafka-salt!";
    let iv = *b"ferrokafka-iv-16";
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(10_000, &salt, &iv)
        .map_err(|e| fail("PBES2 parameters", &e))?;
    let encrypted = info
        .encrypt_with_params(params, password)
        .map_err(|e| fail("encrypt", &e))?;
    let pem = encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| fail("PEM", &e))?;
    Ok(pem.as_str().to_string())
}

impl Certs {
    /// Makes every certificate and key (see the [module docs](self)).
    pub fn generate() -> Result<Certs, HarnessError> {
        let ca = ca("ferrokafka test CA")?;
        let other_ca = ca_pem("ferrokafka untrusted CA")?;
        let server = leaf(
            &ca,
            "localhost",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            (2025, 2100),
        )?;
        let wrong_host = leaf(
            &ca,
            WRONG_HOST,
            &[WRONG_HOST],
            ExtendedKeyUsagePurpose::ServerAuth,
            (2025, 2100),
        )?;
        let client = leaf(
            &ca,
            USER,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            (2025, 2100),
        )?;
        let expired_client = leaf(
            &ca,
            "expired",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            (2020, 2021),
        )?;
        let client_key_encrypted = encrypt_key(&client.key_pem, CLIENT_KEY_PASSWORD)?;
        Ok(Certs {
            ca: ca.pem(),
            other_ca,
            server,
            wrong_host,
            client,
            client_key_encrypted,
            expired_client,
        })
    }
}

fn ca_pem(common_name: &str) -> Result<String, HarnessError> {
    ca(common_name).map(|c| c.pem())
}

fn write_files(certs: &Certs, dir: &Path) -> Result<CertFiles, HarnessError> {
    fs::create_dir_all(dir).map_err(HarnessError::io(format!("create {}", dir.display())))?;
    let write = |name: &str, text: &str| -> Result<PathBuf, HarnessError> {
        let path = dir.join(name);
        fs::write(&path, text).map_err(HarnessError::io(format!("write {}", path.display())))?;
        Ok(path)
    };
    Ok(CertFiles {
        dir: dir.to_path_buf(),
        ca: write("ca.pem", &certs.ca)?,
        other_ca: write("other-ca.pem", &certs.other_ca)?,
        client_cert: write("client.pem", &certs.client.chain_pem)?,
        client_key: write("client.key", &certs.client.key_pem)?,
        client_key_encrypted: write("client-encrypted.key", &certs.client_key_encrypted)?,
        client_keystore: write(
            "client-keystore.pem",
            &format!("{}{}", certs.client.key_pem, certs.client.chain_pem),
        )?,
        expired_cert: write("expired-client.pem", &certs.expired_client.chain_pem)?,
        expired_key: write("expired-client.key", &certs.expired_client.key_pem)?,
    })
}

/// A PEM text as one `server.properties` value: line breaks as `\n` escapes.
fn inline(pem: &str) -> String {
    pem.trim_end().replace('\n', "\\n")
}

/// The cluster's options: every [`Listener`], SCRAM users at format time.
fn options(certs: &Certs, reauth_ms: u64) -> KafkaOptions {
    let mut o = KafkaOptions::single(2);
    for user in [(USER, PASSWORD), (OTHER_USER, OTHER_PASSWORD)] {
        for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
            o.format_args.push("--add-scram".into());
            o.format_args
                .push(format!("{mechanism}=[name={},password={}]", user.0, user.1));
        }
    }
    for listener in Listener::ALL {
        o.extra_listeners
            .push((listener.name().into(), listener.protocol().into()));
        let prefix = format!("listener.name.{}.", listener.name().to_ascii_lowercase());
        let mut set = |k: &str, v: String| o.broker_props.push((format!("{prefix}{k}"), v));
        if listener.tls() {
            let id = if listener == Listener::WrongHost {
                &certs.wrong_host
            } else {
                &certs.server
            };
            set("ssl.keystore.type", "PEM".into());
            set("ssl.keystore.key", inline(&id.key_pem));
            set("ssl.keystore.certificate.chain", inline(&id.chain_pem));
            set("ssl.truststore.type", "PEM".into());
            set("ssl.truststore.certificates", inline(&certs.ca));
            set(
                "ssl.client.auth",
                if listener == Listener::Mtls {
                    "required"
                } else {
                    "none"
                }
                .into(),
            );
        }
        let mechanisms = listener.mechanisms();
        if !mechanisms.is_empty() {
            set("sasl.enabled.mechanisms", mechanisms.join(","));
            for mechanism in mechanisms {
                set(
                    &format!("{}.sasl.jaas.config", mechanism.to_ascii_lowercase()),
                    jaas(mechanism),
                );
            }
        }
        if listener.reauth() {
            set("connections.max.reauth.ms", reauth_ms.to_string());
        }
    }
    o
}

fn jaas(mechanism: &str) -> String {
    match mechanism {
        "PLAIN" => format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             user_{USER}=\"{PASSWORD}\" user_{OTHER_USER}=\"{OTHER_PASSWORD}\";"
        ),
        "OAUTHBEARER" => "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
                          required unsecuredLoginStringClaim_sub=\"broker\";"
            .into(),
        _ => "org.apache.kafka.common.security.scram.ScramLoginModule required;".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_pem_and_the_encrypted_key_is_pbes2() {
        let c = Certs::generate().expect("certificates");
        assert!(c.ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(c.server.chain_pem.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(c.client.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(
            c.client_key_encrypted
                .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        );
        let (_, der) = pkcs8::SecretDocument::from_pem(&c.client_key_encrypted).expect("pem");
        let enc = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes()).expect("der");
        let plain = enc.decrypt(CLIENT_KEY_PASSWORD).expect("decrypts");
        let (_, want) = pkcs8::SecretDocument::from_pem(&c.client.key_pem).expect("pem");
        assert_eq!(plain.as_bytes(), want.as_bytes());
        assert!(enc.decrypt("wrong").is_err());
        assert_ne!(c.ca, c.other_ca);
    }

    #[test]
    fn every_listener_is_configured() {
        let c = Certs::generate().expect("certificates");
        let o = options(&c, 1234);
        let props: std::collections::BTreeMap<&str, &str> = o
            .broker_props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(o.extra_listeners.len(), Listener::ALL.len());
        assert_eq!(props["listener.name.mtls.ssl.client.auth"], "required");
        assert_eq!(props["listener.name.ssl.ssl.client.auth"], "none");
        assert_eq!(
            props["listener.name.sasl_ssl.sasl.enabled.mechanisms"],
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER"
        );
        assert_eq!(
            props["listener.name.plain_only.sasl.enabled.mechanisms"],
            "PLAIN"
        );
        assert_eq!(
            props["listener.name.reauth_ssl.connections.max.reauth.ms"],
            "1234"
        );
        assert!(!props.contains_key("listener.name.sasl_ssl.connections.max.reauth.ms"));
        assert!(!props["listener.name.ssl.ssl.keystore.key"].contains('\n'));
        assert!(
            props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
                .contains("ScramLoginModule")
        );
        assert!(
            o.format_args
                .contains(&format!("SCRAM-SHA-512=[name={USER},password={PASSWORD}]"))
        );
    }
}
