//! SASL: what a broker (or something pretending to be one) sends back during authentication.

use ferrokafka_engine::sasl::{Credentials, Exchange, Mechanism};

use crate::Target;

/// The SASL targets.
pub const TARGETS: &[Target] = &[
    ("sasl_scram_server", scram_server),
    ("sasl_oauthbearer_server", oauthbearer_server),
];

/// A SCRAM exchange fed the input as the server's messages: everything before the first
/// `0xff` byte is the server-first message, the rest the server-final one. The client nonce
/// is fixed, so inputs can carry a matching nonce (`r=AAAAAAAAAAAAAAAAAAAAAA...`).
pub fn scram_server(data: &[u8]) {
    let (first, last) = match data.iter().position(|&b| b == 0xff) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    for mechanism in [Mechanism::ScramSha256, Mechanism::ScramSha512] {
        let credentials = Credentials {
            username: "user".into(),
            password: "pencil".into(),
        };
        let mut x = Exchange::scram(mechanism, &credentials, &[0; 16]);
        let _ = x.start();
        if x.step(first).is_ok() {
            let _ = x.step(last);
            let _ = x.step(last);
        }
    }
}

/// An OAUTHBEARER exchange fed the input as the server's answers.
pub fn oauthbearer_server(data: &[u8]) {
    let mut x = Exchange::oauth_bearer("token");
    let _ = x.start();
    let _ = x.step(data);
    let _ = x.step(data);
}
