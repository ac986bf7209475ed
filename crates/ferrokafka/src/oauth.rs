//! OAUTHBEARER tokens: the provider trait applications implement (their identity provider's
//! client), and the built-in unsecured JWT for test clusters (`sasl.oauthbearer.config`,
//! librdkafka's `principal=...`; Java's `unsecuredLoginStringClaim_sub`).
//!
//! The driver asks the provider for a token when the producer starts and again at 80 % of the
//! token's lifetime, and hands it to the engine for the next (re-)authentications.

use std::fmt;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A bearer token and how long it is valid.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthBearerToken {
    /// The compact token (a JWT for Kafka's validators). Never printed.
    pub value: String,
    /// How long from now it stays valid.
    pub lifetime: Duration,
}

impl fmt::Debug for OAuthBearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearerToken")
            .field("value", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// A future returned by [`OAuthBearerTokenProvider::token`].
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<OAuthBearerToken, String>> + Send + 'a>>;

/// Where OAUTHBEARER tokens come from (register one with
/// [`ProducerConfigBuilder::oauth_token_provider`](crate::ProducerConfigBuilder::oauth_token_provider)).
/// Called on the producer's I/O task; it must not block (do network calls asynchronously).
pub trait OAuthBearerTokenProvider: Send + Sync + 'static {
    /// A fresh token. An error is reported as an authentication failure and asked again after
    /// a backoff; it must not contain secrets.
    fn token(&self) -> TokenFuture<'_>;
}

/// An unsecured JWT (`{"alg":"none"}`, empty signature) with `sub`, `iat`, `exp` and an
/// optional `scope`: what Kafka's unsecured validator accepts. For test clusters only.
pub(crate) fn unsecured_jwt(
    principal: &str,
    scope: Option<&str>,
    life: Duration,
) -> OAuthBearerToken {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let mut claims = format!(
        r#"{{"sub":{},"iat":{now},"exp":{}"#,
        json_string(principal),
        now + life.as_secs()
    );
    if let Some(scope) = scope {
        let _ = write!(claims, r#","scope":{}"#, json_string(scope));
    }
    claims.push('}');
    let payload = URL_SAFE_NO_PAD.encode(claims.as_bytes());
    OAuthBearerToken {
        value: format!("{header}.{payload}."),
        lifetime: life,
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsecured_tokens_are_three_part_jwts_with_the_claims() {
        let t = unsecured_jwt("ali\"ce", Some("a b"), Duration::from_secs(60));
        let parts: Vec<&str> = t.value.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "", "no signature");
        let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(header, br#"{"alg":"none"}"#);
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert!(claims.starts_with(r#"{"sub":"ali\"ce","iat":"#), "{claims}");
        assert!(claims.contains(r#""scope":"a b""#), "{claims}");
        assert_eq!(t.lifetime, Duration::from_secs(60));
        assert!(!format!("{t:?}").contains(&t.value));
    }
}
