//! TLS for `security.protocol` `SSL` and `SASL_SSL`: a rustls client configuration built from
//! the `ssl.*` settings (ring by default, aws-lc-rs behind a feature).
//!
//! - Trust: the CA certificates of `ssl.ca.location` / `ssl.truststore.location` (PEM files) or
//!   `ssl.ca.pem` / `ssl.truststore.certificates` (PEM text); without any, the platform's roots.
//! - mTLS: a certificate chain and key from `ssl.certificate.*` + `ssl.key.*`, or a PEM
//!   keystore (`ssl.keystore.location` with both, or `ssl.keystore.certificate.chain` +
//!   `ssl.keystore.key`); an encrypted PKCS#8 key is decrypted with `ssl.key.password`.
//! - `ssl.endpoint.identification.algorithm=` (empty) keeps the chain check but skips the host
//!   name check; `enable.ssl.certificate.verification=false` accepts any certificate.
//!
//! Every error names the setting at fault; private keys and passwords never appear in one.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

use crate::config::{ConfigError, PemSource, Secret, SslConfig};

fn provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }
    // ring is the default because it builds with a C compiler alone (aws-lc-rs needs cmake);
    // rustls deprecates it only for lacking post-quantum key exchange, which the `aws-lc-rs`
    // feature brings.
    #[cfg(not(feature = "aws-lc-rs"))]
    #[allow(deprecated)]
    {
        Arc::new(rustls::crypto::ring::default_provider())
    }
}

fn invalid(key: &'static str, value: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        key,
        value: value.to_owned(),
        expected: expected.into(),
    }
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| {
        invalid(
            key,
            &path.display().to_string(),
            format!("a readable PEM file ({e})"),
        )
    })
}

/// PEM text from a file or inline, with the key and a printable value for errors.
fn pem_bytes(key: &'static str, source: &PemSource) -> Result<(Vec<u8>, String), ConfigError> {
    match source {
        PemSource::File(path) => Ok((read(key, path)?, path.display().to_string())),
        PemSource::Inline(text) => Ok((text.expose().as_bytes().to_vec(), "<inline PEM>".into())),
    }
}

fn certificates(
    key: &'static str,
    pem: &[u8],
    shown: &str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(key, shown, format!("PEM certificates ({e})")))?;
    if certs.is_empty() {
        return Err(invalid(
            key,
            shown,
            "at least one PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// A private key: PKCS#8, PKCS#1 or SEC1 PEM, or an encrypted PKCS#8 key and its password.
fn private_key(
    key: &'static str,
    pem: &[u8],
    shown: &str,
    password: Option<&Secret>,
) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(password) = password else {
            return Err(invalid(
                "ssl.key.password",
                "",
                format!("the password of the encrypted key in {key}"),
            ));
        };
        let start = text
            .find("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            .unwrap_or_default();
        let end = text
            .find("-----END ENCRYPTED PRIVATE KEY-----")
            .map_or(text.len(), |e| {
                e + "-----END ENCRYPTED PRIVATE KEY-----".len()
            });
        let (_, der) = pkcs8::der::pem::decode_vec(text[start..end].as_bytes())
            .map_err(|e| invalid(key, shown, format!("an encrypted PKCS#8 PEM key ({e})")))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|e| invalid(key, shown, format!("an encrypted PKCS#8 key ({e})")))?;
        let doc = info.decrypt(password.expose().as_bytes()).map_err(|_| {
            invalid(
                "ssl.key.password",
                "<redacted>",
                format!("the password that decrypts the key in {key}"),
            )
        })?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            doc.as_bytes().to_vec(),
        )));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        invalid(
            key,
            shown,
            format!("a PEM private key: PKCS#8, PKCS#1 or SEC1, or encrypted PKCS#8 ({e})"),
        )
    })
}

/// The client certificate chain and key, if mTLS is configured.
fn client_identity(
    ssl: &SslConfig,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, ConfigError> {
    if let Some(path) = &ssl.keystore_location {
        let pem = read("ssl.keystore.location", path)?;
        let shown = path.display().to_string();
        let chain = certificates("ssl.keystore.location", &pem, &shown)?;
        let key = private_key(
            "ssl.keystore.location",
            &pem,
            &shown,
            ssl.key_password.as_ref(),
        )?;
        return Ok(Some((chain, key)));
    }
    let (Some((cert_key, cert_source)), Some((key_key, key_source))) = (&ssl.certificate, &ssl.key)
    else {
        return Ok(None);
    };
    let (pem, shown) = pem_bytes(cert_key, cert_source)?;
    let chain = certificates(cert_key, &pem, &shown)?;
    let (pem, shown) = pem_bytes(key_key, key_source)?;
    let key = private_key(key_key, &pem, &shown, ssl.key_password.as_ref())?;
    Ok(Some((chain, key)))
}

fn roots(ssl: &SslConfig) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    let mut given = Vec::new();
    if let Some((key, path)) = &ssl.ca_location {
        let pem = read(key, path)?;
        given.push((*key, certificates(key, &pem, &path.display().to_string())?));
    }
    if let Some((key, pem)) = &ssl.ca_pem {
        given.push((*key, certificates(key, pem.as_bytes(), "<inline PEM>")?));
    }
    if given.is_empty() {
        // The platform's trust store (what a browser trusts): for managed clusters with
        // public certificates.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        return Ok(roots);
    }
    for (key, certs) in given {
        for cert in certs {
            roots.add(cert).map_err(|e| {
                invalid(
                    key,
                    "<certificate>",
                    format!("a usable CA certificate ({e})"),
                )
            })?;
        }
    }
    Ok(roots)
}

/// The rustls configuration for `ssl`.
pub(crate) fn client_config(ssl: &SslConfig) -> Result<Arc<ClientConfig>, ConfigError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("security.protocol", "SSL", format!("TLS support ({e})")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if ssl.verify_certificates {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ssl)?), provider.clone())
                .build()
                .map_err(|e| {
                    invalid(
                        "ssl.ca.location",
                        "<trust store>",
                        format!("at least one usable CA certificate ({e})"),
                    )
                })?;
        if ssl.endpoint_identification {
            webpki
        } else {
            Arc::new(Lenient::SkipHostName(webpki))
        }
    } else {
        Arc::new(Lenient::AcceptAny(provider))
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match client_identity(ssl)? {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
            invalid(
                "ssl.certificate.location",
                "<certificate>",
                format!("a certificate that matches its private key ({e})"),
            )
        })?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name to verify the broker's certificate against (and to send as SNI).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned())
        .map_err(|e| format!("`{host}` is not a valid TLS server name ({e})"))
}

/// A verifier laxer than webpki's, as the settings ask; both kinds still check that the broker
/// holds the key of the certificate it shows.
#[derive(Debug)]
enum Lenient {
    /// Checks the chain against the trust store but not the host name
    /// (`ssl.endpoint.identification.algorithm=`).
    SkipHostName(Arc<WebPkiServerVerifier>),
    /// Accepts any certificate (`enable.ssl.certificate.verification=false`).
    AcceptAny(Arc<CryptoProvider>),
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Self::SkipHostName(webpki) = self else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match self {
            Self::SkipHostName(webpki) => webpki.verify_tls12_signature(message, cert, dss),
            Self::AcceptAny(provider) => rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &provider.signature_verification_algorithms,
            ),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match self {
            Self::SkipHostName(webpki) => webpki.verify_tls13_signature(message, cert, dss),
            Self::AcceptAny(provider) => rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &provider.signature_verification_algorithms,
            ),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match self {
            Self::SkipHostName(webpki) => webpki.supported_verify_schemes(),
            Self::AcceptAny(provider) => provider
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use std::path::PathBuf;

    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    fn ca() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ferrokafka-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn trust_comes_from_a_file_or_inline_pem_and_errors_name_the_key() {
        let (ca_pem, _) = ca();
        let path = temp_file("ca.pem", &ca_pem);
        let mut ssl = SslConfig::default();
        ssl.ca_location = Some(("ssl.ca.location", path));
        assert!(client_config(&ssl).is_ok());

        let mut ssl = SslConfig::default();
        ssl.ca_pem = Some(("ssl.truststore.certificates", ca_pem));
        assert!(client_config(&ssl).is_ok());

        let mut ssl = SslConfig::default();
        ssl.ca_location = Some(("ssl.ca.location", PathBuf::from("/nonexistent/ca.pem")));
        let e = client_config(&ssl).unwrap_err().to_string();
        assert!(
            e.contains("`ssl.ca.location`") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );

        let mut ssl = SslConfig::default();
        ssl.ca_pem = Some(("ssl.ca.pem", "not a certificate".into()));
        let e = client_config(&ssl).unwrap_err().to_string();
        assert!(e.contains("`ssl.ca.pem`"), "{e}");
    }

    #[test]
    fn client_keys_load_plain_or_encrypted_and_a_wrong_password_is_named() {
        let (ca_pem, _) = ca();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let mut ssl = SslConfig::default();
        ssl.ca_pem = Some(("ssl.ca.pem", ca_pem));
        ssl.certificate = Some((
            "ssl.certificate.pem",
            PemSource::Inline(Secret::new(cert.pem())),
        ));
        ssl.key = Some((
            "ssl.key.pem",
            PemSource::Inline(Secret::new(key.serialize_pem())),
        ));
        assert!(client_config(&ssl).is_ok());

        // The same key as encrypted PKCS#8 (PBES2: PBKDF2-SHA256 + AES-256-CBC).
        let der = key.serialize_der();
        let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
        let params =
            pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7; 16], &[9; 16])
                .unwrap();
        let encrypted = info.encrypt_with_params(params, b"key-pass").unwrap();
        let encrypted_pem = encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
            .unwrap();
        let path = temp_file("key.pem", &encrypted_pem);
        ssl.key = Some(("ssl.key.location", PemSource::File(path)));
        let e = client_config(&ssl).unwrap_err().to_string();
        assert!(e.contains("`ssl.key.password`"), "no password: {e}");
        ssl.key_password = Some(Secret::new("wrong"));
        let e = client_config(&ssl).unwrap_err().to_string();
        assert!(
            e.contains("`ssl.key.password`") && !e.contains("wrong"),
            "{e}"
        );
        ssl.key_password = Some(Secret::new("key-pass"));
        assert!(client_config(&ssl).is_ok());
    }

    /// SEC1 (`EC PRIVATE KEY`) and PKCS#1 (`RSA PRIVATE KEY`) keys, as `openssl ecparam` and
    /// `openssl genrsa -traditional` write them (test-only keys with self-signed certificates).
    #[test]
    fn sec1_and_pkcs1_keys_are_accepted() {
        for (cert, key) in [
            (
                include_str!("tls_testdata/sec1-cert.pem"),
                include_str!("tls_testdata/sec1-key.pem"),
            ),
            (
                include_str!("tls_testdata/pkcs1-cert.pem"),
                include_str!("tls_testdata/pkcs1-key.pem"),
            ),
        ] {
            let mut ssl = SslConfig::default();
            ssl.certificate = Some(("ssl.certificate.pem", PemSource::Inline(Secret::new(cert))));
            ssl.key = Some(("ssl.key.pem", PemSource::Inline(Secret::new(key))));
            ssl.verify_certificates = false;
            assert!(client_config(&ssl).is_ok(), "{}", &key[..31]);
        }
        // A key that matches no certificate is refused naming the certificate setting.
        let mut ssl = SslConfig::default();
        ssl.certificate = Some((
            "ssl.certificate.pem",
            PemSource::Inline(Secret::new(include_str!("tls_testdata/sec1-cert.pem"))),
        ));
        ssl.key = Some((
            "ssl.key.pem",
            PemSource::Inline(Secret::new(include_str!("tls_testdata/pkcs1-key.pem"))),
        ));
        ssl.verify_certificates = false;
        let e = client_config(&ssl).unwrap_err().to_string();
        assert!(
            e.contains("`ssl.certificate.location`") || e.contains("`ssl.key"),
            "{e}"
        );
    }

    #[test]
    fn server_names_accept_hosts_and_addresses() {
        assert!(server_name("broker-1.example.com").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("::1").is_ok());
        assert!(server_name("not a host").is_err());
    }
}
