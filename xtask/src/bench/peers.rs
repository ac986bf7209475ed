//! What the bench runs: the release binaries it builds, the Java client, and the brokers
//! (Apache Kafka, librdkafka's mock cluster).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use ferrokafka_tests::kafka::{self, JavaHelper, KafkaCluster, KafkaDist, KafkaOptions};
use serde_json::Value;

use crate::util::cargo;

use super::*;

/// The bench binaries, built in release, and the Java client when one is measured.
pub(super) struct Bins {
    pub(super) client: PathBuf,
    pub(super) mock: PathBuf,
    pub(super) java: Option<JavaClient>,
}

pub(super) fn build(features: Option<&str>, no_ferrokafka: bool) -> Result<Bins> {
    println!("building ferrokafka-bench (release)");
    let mut args = Vec::new();
    if let Some(f) = features {
        args.extend(["--features".to_string(), f.to_string()]);
    }
    if no_ferrokafka {
        args.push("--no-default-features".into());
    }
    let exes = build_bins(&["ferrokafka-bench"], &args)?;
    bins_of(&exes)
}

/// The bench binaries among the executables of a [`build_bins`].
pub(super) fn bins_of(exes: &[(String, PathBuf)]) -> Result<Bins> {
    let find = |name: &str| {
        exes.iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .with_context(|| format!("cargo build reported no {name} executable"))
    };
    Ok(Bins {
        client: find("bench-client")?,
        mock: find("mock-cluster")?,
        java: None,
    })
}

/// `cargo build --release --bins` of `packages` with `extra` arguments; returns each binary
/// target's name and executable.
pub(super) fn build_bins(packages: &[&str], extra: &[String]) -> Result<Vec<(String, PathBuf)>> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--bins"]);
    for p in packages {
        cmd.args(["--package", p]);
    }
    cmd.arg("--message-format=json-render-diagnostics")
        .args(extra);
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    ensure!(
        out.status.success(),
        "cargo build of {} failed",
        packages.join(", ")
    );
    let mut exes = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(exe), Some(name)) =
            (msg["executable"].as_str(), msg["target"]["name"].as_str())
        {
            exes.push((name.to_string(), PathBuf::from(exe)));
        }
    }
    Ok(exes)
}

/// The clients this build of `bench-client` can run.
pub(super) fn capabilities(client: &PathBuf) -> Result<Vec<String>> {
    let out = Command::new(client)
        .arg("--capabilities")
        .output()
        .with_context(|| format!("run {}", client.display()))?;
    ensure!(out.status.success(), "bench-client --capabilities failed");
    let v: Value = serde_json::from_slice(&out.stdout).context("bench-client --capabilities")?;
    Ok(v["clients"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect())
}

/// The Java client's source, compiled by [`JavaClient::prepare`].
pub(super) const JAVA_SOURCE: &str = include_str!("../../../bench/java/FerroKafkaBench.java");
pub(super) const JAVA_CLASS: &str = "FerroKafkaBench";

/// The Java producer: Kafka's jars (the test harness's) and our compiled
/// `bench/java/FerroKafkaBench.java`.
#[derive(Debug)]
pub(super) struct JavaClient {
    pub(super) dist: KafkaDist,
    pub(super) classes: PathBuf,
}

/// `bin/NAME` of `FERROKAFKA_JAVA_HOME` or `JAVA_HOME` when it exists there, else `NAME` from
/// `PATH` (the JDK the Kafka harness uses).
pub(super) fn jdk_tool(name: &str) -> PathBuf {
    [kafka::JAVA_HOME_ENV, "JAVA_HOME"]
        .iter()
        .filter_map(std::env::var_os)
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join("bin").join(name))
        .find(|tool| tool.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

impl JavaClient {
    /// Fetches Kafka's jars (once, with Maven, through the test harness) and compiles the client
    /// into `<kafka home>/bench-<hash of the source>/` unless that is there already.
    pub(super) fn prepare() -> Result<JavaClient> {
        println!(
            "preparing the Java client (Kafka {} jars, javac)",
            kafka::VERSION
        );
        let dist = kafka::install().context("fetch Apache Kafka's jars")?;
        // FNV-1a of the source: the same in every build, so an edit recompiles.
        let hash = JAVA_SOURCE.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let classes = dist.home.join(format!("bench-{hash:016x}"));
        if !classes.join(format!("{JAVA_CLASS}.class")).is_file() {
            let staging = dist
                .home
                .join(format!(".bench-staging-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging)
                .with_context(|| format!("create {}", staging.display()))?;
            let source = staging.join(format!("{JAVA_CLASS}.java"));
            std::fs::write(&source, JAVA_SOURCE)
                .with_context(|| format!("write {}", source.display()))?;
            let javac = jdk_tool("javac");
            let out = Command::new(&javac)
                .arg("-nowarn")
                .arg("-d")
                .arg(&staging)
                .arg("-cp")
                .arg(format!("{}/*", dist.libs.display()))
                .arg(&source)
                .stdin(Stdio::null())
                .output()
                .with_context(|| {
                    format!("run {} (a JDK 17 or later is needed)", javac.display())
                })?;
            ensure!(
                out.status.success(),
                "javac {} failed: {}{}",
                source.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::remove_file(&source).ok();
            if std::fs::rename(&staging, &classes).is_err() {
                // Another run compiled it first; ours is the same.
                let _ = std::fs::remove_dir_all(&staging);
            }
        }
        Ok(JavaClient { dist, classes })
    }

    /// `java [JVM_OPTS] -cp <Kafka's jars>:<our classes> FerroKafkaBench`, the JVM's defaults
    /// otherwise, logging warnings to stderr.
    pub(super) fn command(&self, jvm_opts: &[String]) -> Command {
        let mut cmd = Command::new(jdk_tool("java"));
        cmd.args(jvm_opts)
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.dist.tool_log4j().display()
            ))
            .arg("-cp")
            .arg(format!(
                "{}/*:{}",
                self.dist.libs.display(),
                self.classes.display()
            ))
            .arg(JAVA_CLASS);
        cmd
    }
}

/// A single-node Apache Kafka for a series of measurements (see the module docs), with the
/// topic created.
pub(super) fn start_kafka(opts: &Options) -> Result<KafkaCluster> {
    let started = Instant::now();
    let cluster = KafkaCluster::start(KafkaOptions {
        nodes: 1,
        heap_mb: 1024,
        test_jvm: false,
        // Delete segments past retention soon after they close.
        broker_props: vec![("log.retention.check.interval.ms".into(), "10000".into())],
        ..KafkaOptions::default()
    })
    .context("start Apache Kafka")?;
    let bootstrap = cluster.bootstrap();
    create_kafka_topic(&bootstrap, opts)?;
    println!(
        "kafka {} up at {bootstrap} in {:.1} s ({})",
        kafka::VERSION,
        started.elapsed().as_secs_f64(),
        cluster.dir().display()
    );
    Ok(cluster)
}

/// Creates the bench topic on the Kafka at `bootstrap` (a PLAINTEXT listener): replication 1,
/// [`KAFKA_RETENTION_BYTES`] per partition.
pub(super) fn create_kafka_topic(bootstrap: &str, opts: &Options) -> Result<()> {
    create_kafka_topic_named(bootstrap, TOPIC, opts.partitions)
}

/// [`create_kafka_topic`] with a name and partition count.
pub(super) fn create_kafka_topic_named(
    bootstrap: &str,
    topic: &str,
    partitions: u32,
) -> Result<()> {
    let (retention, segment) = (
        KAFKA_RETENTION_BYTES.to_string(),
        KAFKA_SEGMENT_BYTES.to_string(),
    );
    // A helper JVM of our own for the one Admin call, gone before the first measurement.
    JavaHelper::start()
        .and_then(|mut helper| {
            helper.create_topic(
                bootstrap,
                topic,
                partitions,
                1,
                &[
                    ("retention.bytes", retention.as_str()),
                    ("segment.bytes", segment.as_str()),
                ],
            )
        })
        .context("create the Kafka topic")?;
    Ok(())
}

/// The `mock-cluster` child; closing its stdin stops it.
pub(super) struct MockCluster {
    pub(super) child: Child,
    pub(super) stdin: Option<ChildStdin>,
    pub(super) bootstrap: String,
}

impl MockCluster {
    pub(super) fn start(bin: &PathBuf, opts: &Options) -> Result<MockCluster> {
        MockCluster::start_with(bin, opts.mock_brokers, opts.partitions, TOPIC)
    }

    /// A mock cluster of `brokers` brokers with `topic` of `partitions` partitions.
    pub(super) fn start_with(
        bin: &PathBuf,
        brokers: u32,
        partitions: u32,
        topic: &str,
    ) -> Result<MockCluster> {
        let mut child = Command::new(bin)
            .args(["--brokers", &brokers.to_string()])
            .args(["--partitions", &partitions.to_string()])
            .args(["--topic", topic])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawn {}", bin.display()))?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        let stdout = child.stdout.take().context("mock-cluster stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("read the mock cluster's bootstrap servers")?;
        let bootstrap = line.trim().to_string();
        if bootstrap.is_empty() {
            let _ = child.kill();
            let status = child.wait()?;
            bail!("mock-cluster exited ({status}) without printing its bootstrap servers");
        }
        Ok(MockCluster {
            child,
            stdin,
            bootstrap,
        })
    }

    pub(super) fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
