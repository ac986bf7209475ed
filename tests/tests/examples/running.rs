//! Building the examples (once per run), the shared Tansu broker, and running an example as a
//! process of its own, bounded, its output captured.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use ferrokafka_tests::tansu::Tansu;

use crate::{EXAMPLES, WAIT};

/// The path of example `name`, built (once per run) with the rest.
pub(crate) fn example(name: &str) -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR
        .get_or_init(build_examples)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// `cargo build --workspace --example ...` into this test binary's target directory and
/// profile; returns `<target>/<profile>/examples`.
pub(crate) fn build_examples() -> Result<PathBuf, String> {
    // <target>/<profile>/deps/examples-HASH → <target>/<profile>
    let exe = std::env::current_exe().map_err(|e| format!("test executable: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in <target>/<profile>/deps", exe.display()))?;
    let target = profile_dir
        .parent()
        .ok_or_else(|| format!("{} has no parent", profile_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--workspace"]);
    for name in EXAMPLES {
        cmd.args(["--example", name]);
    }
    // `dev` and `test` build into `debug`; every other profile into its own name.
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
        None => return Err(format!("profile of {}", exe.display())),
    }
    cmd.arg("--target-dir")
        .arg(target)
        .current_dir(ferrokafka_tests::paths::workspace_root())
        .stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| format!("run cargo build for the examples: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build --workspace --example ... failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dir = profile_dir.join("examples");
    for name in EXAMPLES {
        let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if !bin.is_file() {
            return Err(format!("{} missing after the build", bin.display()));
        }
    }
    Ok(dir)
}

/// The broker of the tests running now (started by the first of them).
pub(crate) fn broker() -> Arc<Tansu> {
    static SHARED: Mutex<Weak<Tansu>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(broker) = shared.upgrade() {
        return broker;
    }
    let broker = Arc::new(Tansu::start().expect("start tansu"));
    *shared = Arc::downgrade(&broker);
    broker
}

/// The shared broker ([`broker`]) with `topics` (name, partitions) created for this test, and its
/// bootstrap address.
pub(crate) fn broker_with(topics: &[(&str, u32)]) -> (Arc<Tansu>, String) {
    let broker = broker();
    broker.create_topics(topics);
    let bootstrap = broker.bootstrap();
    (broker, bootstrap)
}

/// A running example: its stdout line by line, its stderr whole.
pub(crate) struct Running {
    name: String,
    child: Option<Child>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Receiver<String>,
}

/// What a finished example did.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<String>,
    pub(crate) stderr: String,
}

impl Finished {
    /// Panics with the output unless the example exited 0.
    pub(crate) fn assert_success(&self, name: &str) {
        assert!(
            self.status.success(),
            "{name} exited with {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout.join("\n"),
            self.stderr
        );
    }

    /// The first stdout line starting with `prefix`.
    pub(crate) fn line(&self, prefix: &str) -> &str {
        self.stdout
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "no line starting with {prefix:?} in:\n{}",
                    self.stdout.join("\n")
                )
            })
    }
}

impl Running {
    pub(crate) fn start(
        name: &str,
        bootstrap: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .env("BOOTSTRAP", bootstrap)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start example {name}: {e}"));
        let (line_tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, stderr) = mpsc::channel();
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        Running {
            name: name.to_owned(),
            child: Some(child),
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Runs an example to its end.
    pub(crate) fn run(
        name: &str,
        bootstrap: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Finished {
        Running::start(name, bootstrap, args, env).finish()
    }

    /// Runs an example to its end, which must be a success ([`Finished::assert_success`]).
    pub(crate) fn run_ok(
        name: &str,
        bootstrap: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Finished {
        let run = Running::run(name, bootstrap, args, env);
        run.assert_success(name);
        run
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits (bounded) until `count` stdout lines so far start with `prefix`.
    pub(crate) fn wait_for_lines(&mut self, prefix: &str, count: usize) {
        let deadline = Instant::now() + WAIT;
        while self.stdout.iter().filter(|l| l.starts_with(prefix)).count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(e) => {
                    let why = match e {
                        RecvTimeoutError::Timeout => format!("not within {WAIT:?}"),
                        RecvTimeoutError::Disconnected => "stdout closed".to_owned(),
                    };
                    let name = self.name.clone();
                    let finished = self.finish_now();
                    panic!(
                        "{name}: {count} lines starting with {prefix:?} expected, {why}\n\
                         status: {}\nstdout:\n{}\nstderr:\n{}",
                        finished.status,
                        finished.stdout.join("\n"),
                        finished.stderr
                    );
                }
            }
        }
    }

    /// Waits (bounded) for the example to exit and collects its output; kills it on timeout.
    pub(crate) fn finish(mut self) -> Finished {
        let deadline = Instant::now() + WAIT;
        let child = self.child.as_mut().expect("running");
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let name = self.name.clone();
                    let finished = self.finish_now();
                    panic!(
                        "{name} still running after {WAIT:?}; killed\nstdout:\n{}\nstderr:\n{}",
                        finished.stdout.join("\n"),
                        finished.stderr
                    );
                }
                Err(e) => panic!("wait for {}: {e}", self.name),
            }
        }
        self.finish_now()
    }

    /// Kills the example if it still runs, reaps it and collects its output (bounded).
    pub(crate) fn finish_now(&mut self) -> Finished {
        let mut child = self.child.take().expect("running");
        let _ = child.kill(); // an error means it had exited
        let status = child.wait().expect("reap the example");
        // It exited: its pipes are at their end, the reader threads finish.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => break,
            }
        }
        let stderr = self
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        Finished {
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed test leaves no example running.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
