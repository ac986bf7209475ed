//! SASL client mechanisms, sans-IO: PLAIN (RFC 4616), SCRAM-SHA-256 and SCRAM-SHA-512
//! (RFC 5802, RFC 7677) and OAUTHBEARER (RFC 7628, KIP-255).
//!
//! A [`Exchange`] turns server challenges into client responses; the engine carries them in
//! SaslAuthenticate requests after a SaslHandshake (v1) naming the mechanism. Randomness (the
//! SCRAM client nonce) and tokens (OAUTHBEARER) come in from the caller, so an exchange is
//! deterministic and testable with published vectors.
//!
//! Secrets never reach `Debug` output or error messages: [`Credentials`] prints its user only,
//! and errors name the mechanism and what the server said, never the password or the token.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// A SASL mechanism this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN`: user and password in the clear (use it over TLS).
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// `OAUTHBEARER` with a bearer token.
    OAuthBearer,
}

impl Mechanism {
    /// The name Kafka and the Java client use (`sasl.mechanism`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// Parses a `sasl.mechanism` value (case-sensitive, as Java).
    pub fn parse(name: &str) -> Option<Mechanism> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            "SCRAM-SHA-256" => Some(Mechanism::ScramSha256),
            "SCRAM-SHA-512" => Some(Mechanism::ScramSha512),
            "OAUTHBEARER" => Some(Mechanism::OAuthBearer),
            _ => None,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user name and a password. `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub username: String,
    /// The password (never printed).
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why an exchange failed (never carries a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The server's message does not parse as the mechanism says it must.
    #[error("{mechanism}: malformed server message ({0})", mechanism = .1)]
    Malformed(&'static str, Mechanism),
    /// SCRAM: the server's nonce does not extend ours.
    #[error("{0}: the server's nonce does not start with the client nonce")]
    NonceMismatch(Mechanism),
    /// SCRAM: fewer iterations than Kafka's minimum (4096), or absurdly many.
    #[error("{mechanism}: the server asked for {iterations} iterations (4096..=1000000 accepted)")]
    Iterations {
        /// The mechanism.
        mechanism: Mechanism,
        /// What the server asked for.
        iterations: u32,
    },
    /// SCRAM: the server's signature is wrong: it does not know our password, or someone is
    /// in the middle.
    #[error("{0}: the server's signature does not verify (it does not know the password)")]
    ServerSignature(Mechanism),
    /// The server reported an error inside the exchange (SCRAM `e=`, OAUTHBEARER JSON).
    #[error("{mechanism}: the server refused: {message}")]
    Refused {
        /// The mechanism.
        mechanism: Mechanism,
        /// What it said.
        message: String,
    },
    /// The server sent more after the exchange was complete.
    #[error("{0}: unexpected message after the exchange completed")]
    Unexpected(Mechanism),
}

/// What the client does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes (in a SaslAuthenticate request) and wait for the answer.
    Send(Vec<u8>),
    /// Authenticated: nothing more to send.
    Done,
}

/// One authentication exchange.
#[derive(Debug)]
pub struct Exchange {
    mechanism: Mechanism,
    state: State,
}

enum State {
    /// PLAIN and OAUTHBEARER: the first message is all; the answer completes it.
    Single {
        first: Vec<u8>,
        sent: bool,
    },
    /// OAUTHBEARER after the server answered with an error: we sent the `%x01` dummy.
    BearerFailed(String),
    Scram(Box<Scram>),
    Done,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages hold secrets (a PLAIN password, a token): never shown.
        f.write_str(match self {
            State::Single { .. } => "Single",
            State::BearerFailed(_) => "BearerFailed",
            State::Scram(_) => "Scram",
            State::Done => "Done",
        })
    }
}

struct Scram {
    password: String,
    client_first_bare: String,
    client_nonce: String,
    /// Set once the client-final message is sent: what the server must sign.
    expected_server_signature: Option<Vec<u8>>,
}

impl Exchange {
    /// PLAIN with these credentials (no authorization id, as Kafka expects).
    pub fn plain(credentials: &Credentials) -> Exchange {
        let mut first =
            Vec::with_capacity(2 + credentials.username.len() + credentials.password.len());
        first.push(0);
        first.extend_from_slice(credentials.username.as_bytes());
        first.push(0);
        first.extend_from_slice(credentials.password.as_bytes());
        Exchange {
            mechanism: Mechanism::Plain,
            state: State::Single { first, sent: false },
        }
    }

    /// SCRAM-SHA-256 or -512 with these credentials and a client nonce made of `nonce`
    /// (random bytes from the caller; printable characters are derived from them).
    pub fn scram(mechanism: Mechanism, credentials: &Credentials, nonce: &[u8]) -> Exchange {
        debug_assert!(matches!(
            mechanism,
            Mechanism::ScramSha256 | Mechanism::ScramSha512
        ));
        // Printable, no ',' (RFC 5802 `printable`): base64 without padding.
        let client_nonce = base64::engine::general_purpose::STANDARD_NO_PAD.encode(nonce);
        let client_first_bare = format!("n={},r={client_nonce}", scram_name(&credentials.username));
        Exchange {
            mechanism,
            state: State::Scram(Box::new(Scram {
                password: credentials.password.clone(),
                client_first_bare,
                client_nonce,
                expected_server_signature: None,
            })),
        }
    }

    /// OAUTHBEARER with this token (and no SASL extensions).
    pub fn oauth_bearer(token: &str) -> Exchange {
        let first = format!("n,,\u{1}auth=Bearer {token}\u{1}\u{1}").into_bytes();
        Exchange {
            mechanism: Mechanism::OAuthBearer,
            state: State::Single { first, sent: false },
        }
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The client's first message (every mechanism here is client-first).
    pub fn start(&mut self) -> Vec<u8> {
        match &mut self.state {
            State::Single { first, sent } => {
                *sent = true;
                first.clone()
            }
            State::Scram(s) => format!("n,,{}", s.client_first_bare).into_bytes(),
            State::BearerFailed(_) | State::Done => Vec::new(),
        }
    }

    /// Takes the server's answer to the last message; says what to send next, or that the
    /// exchange is complete.
    pub fn step(&mut self, server: &[u8]) -> Result<Step, SaslError> {
        let mechanism = self.mechanism;
        match std::mem::replace(&mut self.state, State::Done) {
            State::Single { .. } if mechanism == Mechanism::OAuthBearer && !server.is_empty() => {
                // RFC 7628 3.2.2: the server sent an error (JSON); the client answers %x01 and
                // the server then fails the exchange.
                let message = String::from_utf8_lossy(server).into_owned();
                self.state = State::BearerFailed(message);
                Ok(Step::Send(vec![1]))
            }
            State::Single { .. } => Ok(Step::Done),
            State::BearerFailed(message) => Err(SaslError::Refused { mechanism, message }),
            State::Scram(mut s) => {
                if let Some(expected) = s.expected_server_signature.take() {
                    return verify_server_final(mechanism, server, &expected).map(|()| Step::Done);
                }
                let client_final = scram_client_final(mechanism, &mut s, server)?;
                self.state = State::Scram(s);
                Ok(Step::Send(client_final))
            }
            State::Done => Err(SaslError::Unexpected(mechanism)),
        }
    }
}

/// RFC 5802 `saslname`: `=` and `,` escaped.
fn scram_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// The value of `key=` in a SCRAM message's comma-separated attributes.
fn attribute(message: &str, key: char) -> Option<&str> {
    message.split(',').find_map(|part| {
        let mut chars = part.chars();
        (chars.next() == Some(key) && chars.next() == Some('=')).then(|| &part[2..])
    })
}

fn scram_client_final(
    mechanism: Mechanism,
    s: &mut Scram,
    server: &[u8],
) -> Result<Vec<u8>, SaslError> {
    let malformed = |what| SaslError::Malformed(what, mechanism);
    let server_first = std::str::from_utf8(server).map_err(|_| malformed("not UTF-8"))?;
    if let Some(e) = attribute(server_first, 'e') {
        return Err(SaslError::Refused {
            mechanism,
            message: e.to_owned(),
        });
    }
    let nonce = attribute(server_first, 'r').ok_or(malformed("no nonce"))?;
    if !nonce.starts_with(&s.client_nonce) || nonce.len() == s.client_nonce.len() {
        return Err(SaslError::NonceMismatch(mechanism));
    }
    let salt = BASE64
        .decode(attribute(server_first, 's').ok_or(malformed("no salt"))?)
        .map_err(|_| malformed("salt is not base64"))?;
    let iterations: u32 = attribute(server_first, 'i')
        .ok_or(malformed("no iteration count"))?
        .parse()
        .map_err(|_| malformed("iteration count is not a number"))?;
    // Kafka refuses fewer than 4096; a huge count would stall the client (a hostile server).
    if !(4096..=1_000_000).contains(&iterations) {
        return Err(SaslError::Iterations {
            mechanism,
            iterations,
        });
    }
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{},{server_first},{without_proof}", s.client_first_bare);
    let (proof, server_signature) = match mechanism {
        Mechanism::ScramSha512 => scram_proof_sha512(&s.password, &salt, iterations, &auth_message),
        _ => scram_proof_sha256(&s.password, &salt, iterations, &auth_message),
    };
    s.expected_server_signature = Some(server_signature);
    Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
}

/// ClientProof and ServerSignature (RFC 5802 section 3) for one hash function.
macro_rules! scram_proof_with {
    ($name:ident, $digest:ty, $len:literal) => {
        fn $name(
            password: &str,
            salt: &[u8],
            iterations: u32,
            auth_message: &str,
        ) -> (Vec<u8>, Vec<u8>) {
            let salted =
                pbkdf2::pbkdf2_hmac_array::<$digest, $len>(password.as_bytes(), salt, iterations);
            let hmac = |key: &[u8], data: &[u8]| -> Vec<u8> {
                let mut m = <Hmac<$digest> as Mac>::new_from_slice(key)
                    .expect("HMAC accepts any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            };
            let client_key = hmac(&salted, b"Client Key");
            let stored_key = <$digest>::digest(&client_key).to_vec();
            let client_signature = hmac(&stored_key, auth_message.as_bytes());
            let proof = client_key
                .iter()
                .zip(&client_signature)
                .map(|(k, s)| k ^ s)
                .collect();
            let server_key = hmac(&salted, b"Server Key");
            let server_signature = hmac(&server_key, auth_message.as_bytes());
            (proof, server_signature)
        }
    };
}
scram_proof_with!(scram_proof_sha256, Sha256, 32);
scram_proof_with!(scram_proof_sha512, Sha512, 64);

fn verify_server_final(
    mechanism: Mechanism,
    server: &[u8],
    expected: &[u8],
) -> Result<(), SaslError> {
    let malformed = |what| SaslError::Malformed(what, mechanism);
    let server_final = std::str::from_utf8(server).map_err(|_| malformed("not UTF-8"))?;
    if let Some(e) = attribute(server_final, 'e') {
        return Err(SaslError::Refused {
            mechanism,
            message: e.to_owned(),
        });
    }
    let signature = BASE64
        .decode(attribute(server_final, 'v').ok_or(malformed("no verifier"))?)
        .map_err(|_| malformed("verifier is not base64"))?;
    // Not secret-dependent timing: the expected value is ours, derived from the transcript.
    if signature == expected {
        Ok(())
    } else {
        Err(SaslError::ServerSignature(mechanism))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(user: &str, password: &str) -> Credentials {
        Credentials {
            username: user.into(),
            password: password.into(),
        }
    }

    #[test]
    fn plain_sends_user_and_password_and_completes_on_the_answer() {
        let mut x = Exchange::plain(&creds("alice", "s3cret"));
        assert_eq!(x.start(), b"\0alice\0s3cret");
        assert_eq!(x.step(b""), Ok(Step::Done));
        assert_eq!(x.step(b""), Err(SaslError::Unexpected(Mechanism::Plain)));
    }

    /// A SCRAM exchange for RFC 7677's user "user", password "pencil" and client nonce.
    fn rfc_7677_exchange(mechanism: Mechanism) -> Exchange {
        Exchange {
            mechanism,
            state: State::Scram(Box::new(Scram {
                password: "pencil".into(),
                client_first_bare: "n=user,r=rOprNGfwEbeRWgbNEkqO".into(),
                client_nonce: "rOprNGfwEbeRWgbNEkqO".into(),
                expected_server_signature: None,
            })),
        }
    }

    /// The client-final message answering RFC 7677's server-first message.
    fn client_final_for_rfc_7677(x: &mut Exchange) -> String {
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let Ok(Step::Send(client_final)) = x.step(server_first) else {
            panic!("a client-final message");
        };
        String::from_utf8(client_final).unwrap()
    }

    /// RFC 7677 section 3: user "user", password "pencil", client nonce
    /// "rOprNGfwEbeRWgbNEkqO", server-first
    /// "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".
    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut x = rfc_7677_exchange(Mechanism::ScramSha256);
        let first = x.start();
        assert_eq!(first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert_eq!(
            client_final_for_rfc_7677(&mut x),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            x.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Ok(Step::Done)
        );
    }

    /// SCRAM-SHA-512 has no RFC vector: the same exchange as RFC 7677's, with the client-final
    /// message computed by Python's `scramp` 1.4 and the server signature by Python's `hashlib`
    /// and `hmac` (independent implementations).
    #[test]
    fn scram_sha_512_matches_an_independent_implementation() {
        let mut x = rfc_7677_exchange(Mechanism::ScramSha512);
        let _ = x.start();
        assert_eq!(
            client_final_for_rfc_7677(&mut x),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ=="
        );
        assert_eq!(
            x.step(
                b"v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw=="
            ),
            Ok(Step::Done)
        );
    }

    #[test]
    fn scram_refuses_a_wrong_server_signature_and_a_foreign_nonce() {
        let c = creds("user", "pencil");
        let mut x = Exchange::scram(Mechanism::ScramSha256, &c, b"0123456789abcdef");
        let first = String::from_utf8(x.start()).unwrap();
        let nonce = first.rsplit("r=").next().unwrap().to_owned();
        let server_first = format!("r={nonce}XYZ,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
        assert!(matches!(x.step(server_first.as_bytes()), Ok(Step::Send(_))));
        assert_eq!(
            x.step(b"v=AAAA"),
            Err(SaslError::ServerSignature(Mechanism::ScramSha256))
        );

        let mut y = Exchange::scram(Mechanism::ScramSha512, &c, b"0123456789abcdef");
        let _ = y.start();
        assert_eq!(
            y.step(b"r=someone-else,s=AAAA,i=4096"),
            Err(SaslError::NonceMismatch(Mechanism::ScramSha512))
        );
    }

    #[test]
    fn scram_reports_server_errors_and_bad_iteration_counts() {
        let c = creds("user", "pencil");
        let mut x = Exchange::scram(Mechanism::ScramSha256, &c, b"n");
        let _ = x.start();
        let err = x.step(b"e=unknown-user").unwrap_err();
        assert_eq!(
            err.to_string(),
            "SCRAM-SHA-256: the server refused: unknown-user"
        );
        let mut y = Exchange::scram(Mechanism::ScramSha256, &c, b"n");
        let first = String::from_utf8(y.start()).unwrap();
        let nonce = first.rsplit("r=").next().unwrap().to_owned();
        assert!(matches!(
            y.step(format!("r={nonce}x,s=AAAA,i=1").as_bytes()),
            Err(SaslError::Iterations { iterations: 1, .. })
        ));
    }

    #[test]
    fn scram_escapes_user_names() {
        let mut x = Exchange::scram(Mechanism::ScramSha512, &creds("a=b,c", "p"), b"x");
        assert!(
            String::from_utf8(x.start())
                .unwrap()
                .starts_with("n,,n=a=3Db=2Cc,r=")
        );
    }

    #[test]
    fn oauth_bearer_sends_the_token_and_answers_an_error_with_0x01() {
        let mut x = Exchange::oauth_bearer("tok");
        assert_eq!(x.start(), b"n,,\x01auth=Bearer tok\x01\x01");
        assert_eq!(x.step(b""), Ok(Step::Done));

        let mut y = Exchange::oauth_bearer("tok");
        let _ = y.start();
        assert_eq!(
            y.step(br#"{"status":"invalid_token"}"#),
            Ok(Step::Send(vec![1]))
        );
        assert!(matches!(
            y.step(b""),
            Err(SaslError::Refused { message, .. }) if message.contains("invalid_token")
        ));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = creds("alice", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        let x = Exchange::plain(&c);
        assert!(!format!("{x:?}").contains("hunter2"));
        let y = Exchange::oauth_bearer("secret-token");
        assert!(!format!("{y:?}").contains("secret-token"));
    }

    #[test]
    fn mechanisms_round_trip_their_names() {
        for m in [
            Mechanism::Plain,
            Mechanism::ScramSha256,
            Mechanism::ScramSha512,
            Mechanism::OAuthBearer,
        ] {
            assert_eq!(Mechanism::parse(m.name()), Some(m));
        }
        assert_eq!(Mechanism::parse("GSSAPI"), None);
    }
}
