//! Where the harness keeps installed peers, their logs and the pid files of detached brokers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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

/// The `ferrokafka-cli` binary of the running test's build profile, built once per process
/// (`cargo build -p ferrokafka-cli` into the same target directory; a test cannot depend on
/// another package's binary).
///
/// # Panics
/// If the build fails or leaves no binary.
pub fn cli_binary() -> &'static Path {
    static CLI: OnceLock<PathBuf> = OnceLock::new();
    CLI.get_or_init(|| {
        // target/<profile>/deps/<test>-HASH → target/<profile>
        let exe = std::env::current_exe().expect("test executable");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps")
            .to_path_buf();
        let target = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-q",
            "-p",
            "ferrokafka-cli",
            "--bin",
            "ferrokafka-cli",
        ])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(workspace_root())
        .stdin(Stdio::null());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("run cargo build");
        assert!(
            out.status.success(),
            "cargo build -p ferrokafka-cli: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = profile_dir.join(format!("ferrokafka-cli{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "{} after the build", bin.display());
        bin
    })
}

/// A suffix no other call in any process makes: the process id, a per-process counter and the
/// time, for the names of temporary files, staging directories, logs and consumer groups.
pub fn unique_suffix() -> String {
    static UNIQUE: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    )
}
