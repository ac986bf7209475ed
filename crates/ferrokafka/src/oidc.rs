//! The built-in OIDC client-credentials token provider (`sasl.oauthbearer.method=oidc`,
//! feature `oidc`): an HTTP POST of `grant_type=client_credentials` to
//! `sasl.oauthbearer.token.endpoint.url` with the client id and secret in a Basic
//! `Authorization` header (RFC 6749 section 4.4), reading `access_token` and `expires_in` from
//! the JSON answer. `https` endpoints are reached over rustls with the platform's roots (or the
//! `ssl.ca.*` trust of the producer's own TLS settings).
//!
//! Errors name the endpoint and what went wrong; they never carry the client secret or a token.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Secret;
use crate::oauth::{OAuthBearerToken, OAuthBearerTokenProvider, TokenFuture};

/// Largest token-endpoint answer read (a token is a few KiB).
const MAX_RESPONSE: usize = 1 << 20;
/// How long one token request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An endpoint URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Endpoint, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("`{url}` is not an http:// or https:// URL"));
        };
        let (authority, path) = rest
            .find('/')
            .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']'),
                p.parse::<u16>()
                    .map_err(|_| format!("`{url}` has an invalid port"))?,
            ),
            _ => (authority, if https { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        Ok(Endpoint {
            https,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// The OIDC client-credentials provider.
pub(crate) struct OidcTokenProvider {
    url: String,
    endpoint: Endpoint,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for OidcTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcTokenProvider")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcTokenProvider {
    /// A provider for this endpoint and client. `tls` reaches `https` endpoints.
    pub(crate) fn new(
        url: &str,
        client_id: String,
        client_secret: Secret,
        scope: Option<String>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, String> {
        let endpoint = Endpoint::parse(url)?;
        Ok(OidcTokenProvider {
            url: url.to_owned(),
            tls: endpoint
                .https
                .then(|| tokio_rustls::TlsConnector::from(tls)),
            endpoint,
            client_id,
            client_secret,
            scope,
        })
    }

    async fn request(&self) -> Result<OAuthBearerToken, String> {
        let e = &self.endpoint;
        let mut body = String::from("grant_type=client_credentials");
        if let Some(scope) = &self.scope {
            body.push_str("&scope=");
            body.push_str(&form_encode(scope));
        }
        let credentials = BASE64.encode(format!(
            "{}:{}",
            form_encode(&self.client_id),
            form_encode(self.client_secret.expose())
        ));
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {credentials}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            e.path,
            e.host,
            body.len()
        );
        let tcp = TcpStream::connect((e.host.as_str(), e.port))
            .await
            .map_err(|err| format!("connecting failed: {err}"))?;
        let response = if let Some(connector) = &self.tls {
            let name = crate::tls::server_name(&e.host)?;
            let mut tls = connector
                .connect(name, tcp)
                .await
                .map_err(|err| format!("TLS handshake failed: {err}"))?;
            exchange(&mut tls, request.as_bytes()).await?
        } else {
            let mut tcp = tcp;
            exchange(&mut tcp, request.as_bytes()).await?
        };
        parse_token_response(&response)
    }
}

impl OAuthBearerTokenProvider for OidcTokenProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            match tokio::time::timeout(REQUEST_TIMEOUT, self.request()).await {
                Ok(Ok(token)) => Ok(token),
                Ok(Err(e)) => Err(format!("token endpoint {}: {e}", self.url)),
                Err(_) => Err(format!(
                    "token endpoint {}: no answer within {} s",
                    self.url,
                    REQUEST_TIMEOUT.as_secs()
                )),
            }
        })
    }
}

/// Writes the request and reads the whole answer (bounded).
async fn exchange<S>(stream: &mut S, request: &[u8]) -> Result<Vec<u8>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("writing the request failed: {e}"))?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // A TLS peer that closes without close_notify: what was read is the answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("reading the answer failed: {e}")),
        };
        if n == 0 {
            break;
        }
        if response.len() + n > MAX_RESPONSE {
            return Err(format!("the answer is larger than {MAX_RESPONSE} bytes"));
        }
        response.extend_from_slice(&chunk[..n]);
        if complete_response(&response) {
            break;
        }
    }
    Ok(response)
}

/// Whether the bytes hold a whole HTTP response with a `Content-Length` body.
fn complete_response(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|len| bytes.len() >= end + 4 + len)
}

/// The token of an RFC 6749 answer: status 200, JSON with `access_token` and `expires_in`.
fn parse_token_response(bytes: &[u8]) -> Result<OAuthBearerToken, String> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer is not HTTP")?;
    let head = String::from_utf8_lossy(&bytes[..end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("the answer has no HTTP status")?;
    let body = &bytes[end + 4..];
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err("chunked answers are not supported".to_owned());
    }
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("HTTP {status}, the body is not JSON ({e})"))?;
    if status != 200 {
        // RFC 6749 5.2: `error` and `error_description` (never secrets).
        let error = json["error"].as_str().unwrap_or("unknown error");
        let description = json["error_description"].as_str().unwrap_or("");
        return Err(format!("HTTP {status}: {error} {description}")
            .trim()
            .to_owned());
    }
    let value = json["access_token"]
        .as_str()
        .ok_or("the answer has no access_token")?
        .to_owned();
    let lifetime = Duration::from_secs(json["expires_in"].as_u64().unwrap_or(3600).max(1));
    Ok(OAuthBearerToken { value, lifetime })
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            Endpoint::parse("https://idp.example.com/oauth2/token").unwrap(),
            Endpoint {
                https: true,
                host: "idp.example.com".into(),
                port: 443,
                path: "/oauth2/token".into()
            }
        );
        assert_eq!(Endpoint::parse("http://127.0.0.1:8080").unwrap().port, 8080);
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("http://:80/").is_err());
    }

    #[tokio::test]
    async fn a_token_is_fetched_with_client_credentials() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !complete_request(&request) {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "client closed early");
                request.extend_from_slice(&buf[..n]);
            }
            let body = r#"{"access_token":"tok.en.","token_type":"Bearer","expires_in":120}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(request).unwrap()
        });
        let provider = OidcTokenProvider::new(
            &format!("http://127.0.0.1:{port}/token"),
            "my client".into(),
            Secret::new("s3cr:t"),
            Some("kafka produce".into()),
            crate::tls::client_config(&crate::config::SslConfig::default()).unwrap(),
        )
        .unwrap();
        let token = provider.token().await.unwrap();
        assert_eq!(token.value, "tok.en.");
        assert_eq!(token.lifetime, Duration::from_secs(120));
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /token HTTP/1.1\r\n"), "{request}");
        let expected = BASE64.encode("my+client:s3cr%3At");
        assert!(
            request.contains(&format!("Authorization: Basic {expected}")),
            "{request}"
        );
        assert!(
            request.ends_with("grant_type=client_credentials&scope=kafka+produce"),
            "{request}"
        );
    }

    fn complete_request(bytes: &[u8]) -> bool {
        complete_response(bytes)
    }

    #[test]
    fn refusals_and_garbage_are_named_without_secrets() {
        let e = parse_token_response(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 58\r\n\r\n{\"error\":\"invalid_client\",\"error_description\":\"bad id\"}",
        )
        .unwrap_err();
        assert_eq!(e, "HTTP 401: invalid_client bad id");
        assert!(parse_token_response(b"garbage").is_err());
        assert!(
            parse_token_response(b"HTTP/1.1 200 OK\r\n\r\n{}")
                .unwrap_err()
                .contains("access_token")
        );
    }
}
