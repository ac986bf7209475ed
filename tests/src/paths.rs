//! Where the harness keeps installed peers, their logs and the pid files of detached brokers,
//! and the `ferrokafka-cli` binary the live suites run.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// Runs [`cli_binary`] with `args` and `stdin` as its input; returns its exit code and its
/// stdout followed by its stderr. The CLI must exit within `limit`; it is killed otherwise.
///
/// # Panics
/// If the CLI cannot be started, its input written or its output read, or if it does not exit
/// within `limit` (the message names the arguments).
pub fn run_cli<S: AsRef<OsStr>>(
    args: &[S],
    stdin: &[u8],
    limit: Duration,
) -> (Option<i32>, String) {
    let mut child = Command::new(cli_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrokafka-cli");
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let mut input = child.stdin.take().expect("piped");
    input.write_all(stdin).expect("write the CLI's stdin");
    drop(input);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ferrokafka-cli") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
            panic!("ferrokafka-cli {shown:?} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout.join().expect("stdout reader")),
        String::from_utf8_lossy(&stderr.join().expect("stderr reader"))
    );
    (status.code(), text)
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        pipe.read_to_end(&mut buf).expect("read the CLI's output");
        buf
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
