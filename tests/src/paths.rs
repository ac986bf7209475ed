//! Where the harness keeps installed peers, their logs and the pid files of detached brokers.

use std::path::PathBuf;

/// Environment variable that overrides the peers directory.
pub const PEERS_DIR_ENV: &str = "FERROKAFKA_PEERS_DIR";

/// The workspace root: the parent of this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

/// `$FERROKAFKA_PEERS_DIR`, or `<workspace>/target/peers`.
pub fn peers_dir() -> PathBuf {
    match std::env::var_os(PEERS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target").join("peers"),
    }
}

/// Directory for broker logs.
pub fn logs_dir() -> PathBuf {
    peers_dir().join("logs")
}
