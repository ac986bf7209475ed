//! Apache Kafka itself, the reference broker: KRaft clusters of combined broker+controller nodes
//! on loopback, and one long-lived Java helper (Admin client and `KafkaConsumer`).
//!
//! # Which Kafka, and how it gets here
//!
//! [`VERSION`] is 4.4.0: the newest `org.apache.kafka:kafka_2.13` release that Maven Central
//! serves together with every runtime dependency it declares (4.4.0 resolved completely with
//! `dependency:copy-dependencies` when this was pinned; 4.x is KRaft-only and needs Java 17, which
//! the project's machines carry). [`install`] writes a throw-away pom into a private staging
//! directory that depends on `kafka_2.13` (the broker and its storage tool), `kafka-tools`
//! (`ProducerPerformance` for the benchmark) and `log4j-slf4j-impl` (Kafka's jars log through
//! slf4j 1.7 but ship no binding, so the broker would be silent without it), runs
//! `mvn dependency:copy-dependencies` into `libs/`, compiles the helper
//! (`tests/java/FerroKafkaHelper.java`) with `javac` against those jars, and renames the staging
//! directory to `<peers dir>/kafka-4.4.0/`. A rename is atomic, so two test binaries installing
//! at once both succeed and nobody sees half a set of jars; once that directory exists nothing is
//! downloaded again (offline). The helper is compiled into a directory named by the hash of its
//! source, so an edited helper is rebuilt without fetching the jars again.
//!
//! `FERROKAFKA_MVN` and `FERROKAFKA_JAVA_HOME` (or `JAVA_HOME`) choose the tools.
//!
//! # Clusters
//!
//! [`KafkaCluster::start`] formats KRaft storage for each node (`kafka.tools.StorageTool format`,
//! with `--feature transaction.version=N`, so both transaction protocols can run) and starts each
//! node as `process.roles=broker,controller` with a static quorum on free loopback ports, a small
//! heap and settings tuned for tests ([`KafkaOptions`]); it returns once the cluster answers a
//! Metadata request listing every node. A node runs under the helper's `broker --watch-stdin`
//! entry point, which halts the JVM when the harness's end of its stdin pipe closes: a test binary
//! that exits in any way — clusters live in statics, which are never dropped — takes its brokers
//! with it. Each cluster lives in `<peers dir>/kafka-runs/pid-<PID>-<N>/` (storage, configs and one
//! log per node); a clean drop removes it, and [`KafkaCluster::start`] removes the directories of
//! processes that no longer exist. Failures print the end of every node's log.
//!
//! Tests share clusters per test binary ([`shared`]) and isolate by topic name; fault tests take
//! [`KafkaCluster::fault_session`], which runs them one at a time and restores the cluster (restarts
//! what an earlier test stopped) before each.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::HarnessError;
use crate::consumed::{Consumed, Isolation, TimestampType};
use crate::paths::peers_dir;
use crate::paths::unique_suffix;
use crate::tansu::{free_port, log_tail};
use crate::wire_client::WireClient;

/// The Apache Kafka release the harness pins (see the module docs for why this one).
pub const VERSION: &str = "4.4.0";
/// Overrides the Maven command.
pub const MVN_ENV: &str = "FERROKAFKA_MVN";
/// Overrides the JDK (its `bin/java` and `bin/javac` are used).
pub const JAVA_HOME_ENV: &str = "FERROKAFKA_JAVA_HOME";
/// How long [`KafkaCluster::start`] waits for every node to be listed by Metadata.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The helper's source; compiled by [`install`].
const HELPER_SOURCE: &str = include_str!("../java/FerroKafkaHelper.java");
const HELPER_CLASS: &str = "FerroKafkaHelper";

/// Broker logging, INFO to stdout (which goes to the node's log file), with
/// `kafka.request.logger` at `$request_level`.
macro_rules! broker_log4j {
    ($request_level:literal) => {
        concat!(
            "rootLogger.level = INFO\n\
rootLogger.appenderRef.out.ref = OUT\n\
appender.out.type = Console\n\
appender.out.name = OUT\n\
appender.out.layout.type = PatternLayout\n\
appender.out.layout.pattern = [%d] %p %m (%c)%n\n\
logger.kafka-request.name = kafka.request.logger\n\
logger.kafka-request.level = ",
            $request_level,
            "\n\
logger.state-change.name = state.change.logger\n\
logger.state-change.level = WARN\n"
        )
    };
}

/// Broker logging: INFO to stdout, which goes to the node's log file.
const BROKER_LOG4J: &str = broker_log4j!("WARN");

/// Broker logging with `kafka.request.logger` at DEBUG: every completed request's header (api
/// key, version, client id) and body, as JSON, in the node's log ([`KafkaOptions::request_log`]).
const BROKER_REQUEST_LOG4J: &str = broker_log4j!("DEBUG");

/// Helper and tool logging: warnings only, to stderr (stdout carries the helper's answers).
const TOOL_LOG4J: &str = "rootLogger.level = WARN\n\
rootLogger.appenderRef.err.ref = ERR\n\
appender.err.type = Console\n\
appender.err.name = ERR\n\
appender.err.target = SYSTEM_ERR\n\
appender.err.layout.type = PatternLayout\n\
appender.err.layout.pattern = [%d] %p %m (%c)%n\n";

static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// FNV-1a: a hash that is the same in every build, to name the helper's class directory.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn java_tool(name: &str) -> PathBuf {
    for var in [JAVA_HOME_ENV, "JAVA_HOME"] {
        if let Some(home) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let tool = PathBuf::from(home).join("bin").join(name);
            if tool.is_file() {
                return tool;
            }
        }
    }
    PathBuf::from(name)
}

/// The fetched distribution: where the jars and the compiled helper are.
#[derive(Debug, Clone)]
pub struct KafkaDist {
    /// `<peers>/kafka-VERSION`.
    pub home: PathBuf,
    /// The jars (`libs/*.jar`).
    pub libs: PathBuf,
    /// The helper's class directory.
    pub helper: PathBuf,
}

impl KafkaDist {
    /// The class path: every jar plus the helper.
    pub fn classpath(&self) -> String {
        format!(
            "{}/*{}{}",
            self.libs.display(),
            if cfg!(windows) { ";" } else { ":" },
            self.helper.display()
        )
    }

    /// The log4j2 configuration for brokers (INFO to stdout).
    pub fn broker_log4j(&self) -> PathBuf {
        self.home.join("broker-log4j2.properties")
    }

    /// The broker log4j2 configuration with the request logger at DEBUG.
    pub fn broker_request_log4j(&self) -> PathBuf {
        self.home.join("broker-request-log4j2.properties")
    }

    /// The log4j2 configuration for tools and the helper (WARN to stderr).
    pub fn tool_log4j(&self) -> PathBuf {
        self.home.join("tool-log4j2.properties")
    }

    /// A `java` command with the class path and a logging configuration set.
    pub fn java(&self, log4j: &Path) -> Command {
        let mut cmd = Command::new(java_tool("java"));
        cmd.arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
            .arg("-cp")
            .arg(self.classpath());
        cmd
    }
}

fn home() -> PathBuf {
    peers_dir().join(format!("kafka-{VERSION}"))
}

fn pom() -> String {
    let dep = |group: &str, artifact: &str, version: &str| {
        format!(
            "    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>\
             <version>{version}</version></dependency>\n"
        )
    };
    format!(
        "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n\
         <modelVersion>4.0.0</modelVersion>\n\
         <groupId>ferrokafka.peers</groupId><artifactId>kafka-peer</artifactId><version>1</version>\n\
         <packaging>pom</packaging>\n\
         <dependencies>\n{}{}{}</dependencies>\n</project>\n",
        dep("org.apache.kafka", "kafka_2.13", VERSION),
        dep("org.apache.kafka", "kafka-tools", VERSION),
        dep("org.apache.logging.log4j", "log4j-slf4j-impl", "2.25.5"),
    )
}

/// Returns the distribution, fetching the jars with Maven and compiling the helper on first use.
pub fn install() -> Result<KafkaDist, HarnessError> {
    let _guard = INSTALL_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let home = home();
    let libs = home.join("libs");
    if !libs.is_dir() {
        fetch_jars(&home)?;
    }
    for (name, text) in [
        ("broker-log4j2.properties", BROKER_LOG4J),
        ("broker-request-log4j2.properties", BROKER_REQUEST_LOG4J),
        ("tool-log4j2.properties", TOOL_LOG4J),
    ] {
        let path = home.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(text) {
            write_atomic(&path, text)?;
        }
    }
    let helper = home.join(format!("helper-{:016x}", fnv1a(HELPER_SOURCE)));
    if !helper.join(format!("{HELPER_CLASS}.class")).is_file() {
        compile_helper(&libs, &helper)?;
    }
    Ok(KafkaDist { home, libs, helper })
}

fn write_atomic(path: &Path, text: &str) -> Result<(), HarnessError> {
    let tmp = path.with_extension(format!("tmp-{}", unique_suffix()));
    fs::write(&tmp, text).map_err(HarnessError::io(format!("write {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(HarnessError::io(format!("rename to {}", path.display())))
}

fn fetch_jars(home: &Path) -> Result<(), HarnessError> {
    let parent = home.parent().expect("peers dir has a parent");
    fs::create_dir_all(parent).map_err(HarnessError::io(format!("create {}", parent.display())))?;
    let staging = parent.join(format!(".kafka-staging-{}", unique_suffix()));
    let result = (|| {
        fs::create_dir_all(&staging)
            .map_err(HarnessError::io(format!("create {}", staging.display())))?;
        fs::write(staging.join("pom.xml"), pom())
            .map_err(HarnessError::io("write the Maven pom"))?;
        let mvn = std::env::var(MVN_ENV)
            .ok()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "mvn".into());
        let mut cmd = Command::new(&mvn);
        cmd.args(["-B", "-q", "-f"])
            .arg(staging.join("pom.xml"))
            .args([
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                "-DoutputDirectory=libs",
            ]);
        run_tool(&mut cmd, &mvn, "apt-get install -y maven")?;
        let has_broker = staging
            .join("libs")
            .join(format!("kafka_2.13-{VERSION}.jar"))
            .is_file();
        if !has_broker {
            return Err(HarnessError::CommandFailed {
                command: format!("{mvn} dependency:copy-dependencies"),
                status: "exit status 0".into(),
                output: format!("no kafka_2.13-{VERSION}.jar in {}", staging.display()),
            });
        }
        let _ = fs::remove_file(staging.join("pom.xml"));
        match fs::rename(&staging, home) {
            Ok(()) => Ok(()),
            // Another process finished first; its copy is as good as ours.
            Err(_) if home.join("libs").is_dir() => Ok(()),
            Err(e) => Err(HarnessError::Io {
                context: format!("rename {} to {}", staging.display(), home.display()),
                source: e,
            }),
        }
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

fn compile_helper(libs: &Path, helper: &Path) -> Result<(), HarnessError> {
    let staging = helper.with_file_name(format!(".helper-staging-{}", unique_suffix()));
    let result = (|| {
        fs::create_dir_all(&staging)
            .map_err(HarnessError::io(format!("create {}", staging.display())))?;
        let source = staging.join(format!("{HELPER_CLASS}.java"));
        fs::write(&source, HELPER_SOURCE).map_err(HarnessError::io("write the helper source"))?;
        let javac = java_tool("javac");
        let mut cmd = Command::new(&javac);
        cmd.arg("-nowarn")
            .arg("-d")
            .arg(&staging)
            .arg("-cp")
            .arg(format!("{}/*", libs.display()))
            .arg(&source);
        run_tool(
            &mut cmd,
            &javac.display().to_string(),
            "apt-get install -y openjdk-17-jdk-headless",
        )?;
        let _ = fs::remove_file(&source);
        match fs::rename(&staging, helper) {
            Ok(()) => Ok(()),
            Err(_) if helper.join(format!("{HELPER_CLASS}.class")).is_file() => Ok(()),
            Err(e) => Err(HarnessError::Io {
                context: format!("rename {} to {}", staging.display(), helper.display()),
                source: e,
            }),
        }
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

/// Runs a tool to completion; a tool that cannot be started is named with how to install it.
fn run_tool(cmd: &mut Command, tool: &str, install_hint: &str) -> Result<String, HarnessError> {
    let shown = format!("{cmd:?}");
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(HarnessError::ToolMissing {
                tool: tool.into(),
                hint: install_hint.into(),
            });
        }
        Err(e) => {
            return Err(HarnessError::Io {
                context: format!("run {shown}"),
                source: e,
            });
        }
    };
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let mut output = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let err = String::from_utf8_lossy(&out.stderr);
    if !err.trim().is_empty() {
        output.push('\n');
        output.push_str(err.trim());
    }
    Err(HarnessError::CommandFailed {
        command: shown,
        status: out.status.to_string(),
        output,
    })
}

// ---------------------------------------------------------------------------------------------
// Clusters
// ---------------------------------------------------------------------------------------------

/// `broker.rack` of nodes 1, 2 and 3 of [`KafkaOptions::three_nodes`].
pub const THREE_NODE_RACKS: [&str; 3] = ["rack-a", "rack-b", "rack-c"];

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    /// Combined broker+controller nodes (ids `first_node_id..first_node_id + nodes`).
    pub nodes: u8,
    /// The first node's id (default 1). A second cluster with other ids looks to a client like
    /// different brokers, not the same ones moved (a cluster replaced behind its bootstrap
    /// address). Every cluster gets its own cluster id and free ports anyway.
    pub first_node_id: i32,
    /// `broker.rack` of each node in id order (`racks[0]` for the first node); nodes past the
    /// end of the list (all, when it is empty) have no rack.
    pub racks: Vec<String>,
    /// The `transaction.version` feature level formatted into storage: 2 (Kafka 4's default,
    /// KIP-890 transactions v2) or 0 (the classic protocol).
    pub transaction_version: u8,
    /// The first node's client port; the others follow it. `None`: free ports.
    pub port: Option<u16>,
    /// Maximum heap of each node, in MiB.
    pub heap_mb: u32,
    /// Tune the JVM for short test runs (C1 only, serial GC); `false` for benchmarks.
    pub test_jvm: bool,
    /// Broker properties added after (and overriding) the harness's.
    pub broker_props: Vec<(String, String)>,
    /// Run detached (own process group, no stdin watch) so the cluster outlives the caller.
    pub detached: bool,
    /// Log every request (`kafka.request.logger` at DEBUG) into the node's log, so tests can
    /// see which APIs and versions a client (by `client.id`) used.
    pub request_log: bool,
    /// Client listeners beside `PLAINTEXT` (which the harness, the Java helper and inter-broker
    /// traffic keep using): `(name, security protocol)`, e.g. `("SASL_SSL", "SASL_SSL")` or
    /// `("MTLS", "SSL")`. Each node gets a free loopback port per listener
    /// ([`KafkaCluster::listener_bootstrap`]); the listener's own settings go in
    /// [`KafkaOptions::broker_props`] as `listener.name.<name in lower case>.*`.
    pub extra_listeners: Vec<(String, String)>,
    /// Extra arguments to `kafka.tools.StorageTool format` (e.g. `--add-scram
    /// SCRAM-SHA-256=[name=alice,password=...]`).
    pub format_args: Vec<String>,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            nodes: 1,
            first_node_id: 1,
            racks: Vec::new(),
            transaction_version: 2,
            port: None,
            heap_mb: 512,
            test_jvm: true,
            broker_props: Vec::new(),
            detached: false,
            request_log: false,
            extra_listeners: Vec::new(),
            format_args: Vec::new(),
        }
    }
}

impl KafkaOptions {
    /// One node, the given transaction protocol.
    pub fn single(transaction_version: u8) -> Self {
        KafkaOptions {
            transaction_version,
            ..KafkaOptions::default()
        }
    }

    /// Three nodes (replication factor 3 possible), transactions v2, settings for fault tests:
    /// a follower falls out of the ISR 3 s after it stops fetching, a dead broker is fenced
    /// after 3 s. Each node is in a rack of its own ([`THREE_NODE_RACKS`]: node 1 in `rack-a`,
    /// 2 in `rack-b`, 3 in `rack-c`), so Metadata reports racks for rack-aware clients; with one
    /// broker per rack, rack-aware replica placement still puts a partition's replicas on
    /// distinct brokers, as the fault tests expect.
    pub fn three_nodes() -> Self {
        KafkaOptions {
            nodes: 3,
            heap_mb: 384,
            racks: THREE_NODE_RACKS.iter().map(ToString::to_string).collect(),
            ..KafkaOptions::default()
        }
    }

    /// Adds a broker property.
    #[must_use]
    pub fn prop(mut self, key: &str, value: impl ToString) -> Self {
        self.broker_props.push((key.into(), value.to_string()));
        self
    }
}

#[derive(Debug)]
struct Node {
    id: i32,
    port: u16,
    /// `(listener name, port)` of each [`KafkaOptions::extra_listeners`] entry.
    listener_ports: Vec<(String, u16)>,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// Our end of the node's stdin: closing it (or exiting) halts the node.
    stdin: Option<ChildStdin>,
    paused: bool,
}

/// A running KRaft cluster on loopback. Dropping it kills every node.
#[derive(Debug)]
pub struct KafkaCluster {
    dist: KafkaDist,
    dir: PathBuf,
    /// The id its storage was formatted with: a port answering with another is not ours.
    cluster_id: String,
    options: KafkaOptions,
    nodes: Vec<Mutex<Node>>,
    fault_lock: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A Kafka cluster id: 16 bytes in URL-safe base64 without padding, as `Uuid.toString()`.
fn cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = fnv1a(&unique_suffix()) | 1;
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    // Never a leading '-': the storage tool would read the id as an option (Kafka's own
    // `Uuid.randomUuid` draws again for the same reason). A first byte below 0x80 starts the
    // id with a letter.
    bytes[0] &= 0x7f;
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = String::new();
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 6 {
            nbits -= 6;
            out.push(ALPHABET[((bits >> nbits) & 63) as usize] as char);
        }
    }
    if nbits > 0 {
        out.push(ALPHABET[((bits << (6 - nbits)) & 63) as usize] as char);
    }
    out
}

/// Removes run directories of processes that no longer exist.
fn clean_stale_runs(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("pid-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if cfg!(target_os = "linux") && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl KafkaCluster {
    /// Fetches Kafka (cached), formats storage and starts every node; returns once Metadata lists
    /// them all.
    pub fn start(options: KafkaOptions) -> Result<KafkaCluster, HarnessError> {
        // Ports are picked free and bound by the JVM seconds later: another process starting
        // brokers at the same time can take one in between, and the node then exits ("Unable
        // to start acceptor"). A start whose node exited is tried again on fresh ports.
        let mut attempt = 1;
        loop {
            match Self::start_once(options.clone()) {
                Err(HarnessError::KafkaStart { detail, .. })
                    if attempt < 3 && detail.contains("exited during startup") =>
                {
                    eprintln!(
                        "[kafka] start attempt {attempt} failed ({detail}); again on fresh ports"
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn start_once(options: KafkaOptions) -> Result<KafkaCluster, HarnessError> {
        assert!(
            (1..=9).contains(&options.nodes),
            "1 to 9 nodes, not {}",
            options.nodes
        );
        let dist = install()?;
        let root = peers_dir().join("kafka-runs");
        clean_stale_runs(&root);
        // A detached cluster outlives this process, so its directory must not look stale.
        let dir = root.join(format!(
            "{}-{}",
            if options.detached { "detached" } else { "pid" },
            unique_suffix()
        ));
        fs::create_dir_all(&dir).map_err(HarnessError::io(format!("create {}", dir.display())))?;

        let n = usize::from(options.nodes);
        let mut ports = Vec::with_capacity(n);
        let mut controller_ports = Vec::with_capacity(n);
        for i in 0..n {
            ports.push(match options.port {
                Some(p) => p + u16::try_from(i).expect("at most 9 nodes"),
                None => free_port()?,
            });
            controller_ports.push(free_port()?);
        }
        let id_of = |i: usize| options.first_node_id + i32::try_from(i).expect("at most 9 nodes");
        let voters = (0..n)
            .map(|i| format!("{}@127.0.0.1:{}", id_of(i), controller_ports[i]))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let id = id_of(i);
            let node_dir = dir.join(format!("node-{id}"));
            fs::create_dir_all(&node_dir)
                .map_err(HarnessError::io(format!("create {}", node_dir.display())))?;
            let config = node_dir.join("server.properties");
            let mut listener_ports = Vec::with_capacity(options.extra_listeners.len());
            for (name, _) in &options.extra_listeners {
                listener_ports.push((name.clone(), free_port()?));
            }
            let props = node_properties(
                &options,
                id,
                ports[i],
                controller_ports[i],
                &voters,
                &node_dir.join("data"),
                &listener_ports,
            );
            fs::write(&config, props)
                .map_err(HarnessError::io(format!("write {}", config.display())))?;
            nodes.push(Node {
                id,
                port: ports[i],
                listener_ports,
                config,
                log: node_dir.join("node.log"),
                child: None,
                stdin: None,
                paused: false,
            });
        }

        // Format every node's storage at once (a JVM start each).
        let id = cluster_id();
        let mut formats = Vec::new();
        for node in &nodes {
            let mut cmd = dist.java(&dist.tool_log4j());
            cmd.args(["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"])
                .args(["kafka.tools.StorageTool", "format", "--cluster-id", &id])
                .arg("--config")
                .arg(&node.config)
                .arg("--feature")
                .arg(format!(
                    "transaction.version={}",
                    options.transaction_version
                ))
                .args(&options.format_args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let shown = format!("{cmd:?}");
            let child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(HarnessError::ToolMissing {
                        tool: java_tool("java").display().to_string(),
                        hint: "apt-get install -y openjdk-17-jdk-headless".into(),
                    });
                }
                Err(e) => return Err(HarnessError::io(format!("run {shown}"))(e)),
            };
            formats.push((shown, child));
        }
        for (shown, child) in formats {
            let out = child
                .wait_with_output()
                .map_err(HarnessError::io(format!("wait for {shown}")))?;
            if !out.status.success() {
                return Err(HarnessError::CommandFailed {
                    command: shown,
                    status: out.status.to_string(),
                    output: format!(
                        "{}\n{}",
                        String::from_utf8_lossy(&out.stdout).trim(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                });
            }
        }

        let cluster = KafkaCluster {
            dist,
            dir,
            cluster_id: id,
            options,
            nodes: nodes.into_iter().map(Mutex::new).collect(),
            fault_lock: Mutex::new(()),
        };
        for node in &cluster.nodes {
            cluster.spawn(&mut lock(node))?;
        }
        cluster.wait_ready(START_TIMEOUT)?;
        Ok(cluster)
    }

    fn spawn(&self, node: &mut Node) -> Result<(), HarnessError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(HarnessError::io(format!("open {}", node.log.display())))?;
        let log_err = log
            .try_clone()
            .map_err(HarnessError::io("clone log handle"))?;
        let mut cmd = self.dist.java(&if self.options.request_log {
            self.dist.broker_request_log4j()
        } else {
            self.dist.broker_log4j()
        });
        let heap = self.options.heap_mb;
        cmd.arg(format!("-Xmx{heap}m"))
            .arg(format!("-Xms{}m", heap.min(128)))
            .args(["-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]);
        if self.options.test_jvm {
            cmd.args([
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-XX:-UsePerfData",
            ]);
        } else {
            cmd.args(["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]);
        }
        cmd.arg(HELPER_CLASS).arg("broker");
        if !self.options.detached {
            cmd.arg("--watch-stdin");
        }
        cmd.arg(&node.config).stdout(log).stderr(log_err);
        if self.options.detached {
            cmd.stdin(Stdio::null());
            #[cfg(unix)]
            {
                use std::os::unix::process::CommandExt;
                cmd.process_group(0);
            }
        } else {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .map_err(HarnessError::io(format!("start Kafka node {}", node.id)))?;
        node.stdin = child.stdin.take();
        node.child = Some(child);
        node.paused = false;
        Ok(())
    }

    /// Waits until a Metadata request lists every running node.
    fn wait_ready(&self, timeout: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        let want: Vec<i32> = self
            .nodes
            .iter()
            .map(|n| lock(n))
            .filter(|n| n.child.is_some() && !n.paused)
            .map(|n| n.id)
            .collect();
        let mut last = String::from("no answer yet");
        loop {
            for node in &self.nodes {
                let mut node = lock(node);
                let id = node.id;
                if let Some(child) = node.child.as_mut()
                    && let Some(status) = child
                        .try_wait()
                        .map_err(HarnessError::io("wait for a Kafka node"))?
                {
                    node.child = None;
                    node.stdin = None;
                    return Err(HarnessError::KafkaStart {
                        detail: format!("node {id} exited during startup ({status})"),
                        logs: self.log_tails(),
                    });
                }
            }
            let mut ready = true;
            for &id in &want {
                match self.brokers_seen_by(id) {
                    Ok(seen) if want.iter().all(|w| seen.contains(w)) => {}
                    Ok(seen) => {
                        last = format!("node {id} lists brokers {seen:?}, want {want:?}");
                        ready = false;
                    }
                    Err(e) => {
                        last = format!("node {id}: {e}");
                        ready = false;
                    }
                }
                if !ready {
                    break;
                }
            }
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::KafkaStart {
                    detail: format!("not ready within {} s ({last})", timeout.as_secs()),
                    logs: self.log_tails(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn brokers_seen_by(&self, id: i32) -> Result<Vec<i32>, String> {
        let addr = format!("127.0.0.1:{}", self.port_of(id));
        let mut client = WireClient::connect(&addr).map_err(|e| e.to_string())?;
        let md = client.metadata(12, Some(&[])).map_err(|e| e.to_string())?;
        if md.cluster_id.as_deref() != Some(self.cluster_id.as_str()) {
            return Err(format!(
                "{addr} answers for cluster {:?}, not this one ({})",
                md.cluster_id, self.cluster_id
            ));
        }
        Ok(md.brokers.iter().map(|b| b.node_id).collect())
    }

    /// `127.0.0.1:P1,127.0.0.1:P2,...` for every node.
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", lock(n).port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `127.0.0.1:P1,...`: every node's port of the extra listener `name`
    /// ([`KafkaOptions::extra_listeners`]). Panics if the cluster has no such listener.
    pub fn listener_bootstrap(&self, name: &str) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let node = lock(n);
                let port = node
                    .listener_ports
                    .iter()
                    .find(|(l, _)| l == name)
                    .map_or_else(|| panic!("the cluster has no listener {name}"), |(_, p)| *p);
                format!("127.0.0.1:{port}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node ids, `first_node_id..first_node_id + nodes`.
    pub fn node_ids(&self) -> Vec<i32> {
        self.nodes.iter().map(|n| lock(n).id).collect()
    }

    /// The client port of node `id`.
    pub fn port_of(&self, id: i32) -> u16 {
        lock(self.node(id)).port
    }

    /// The process id of node `id`, if it is running.
    pub fn pid_of(&self, id: i32) -> Option<u32> {
        lock(self.node(id)).child.as_ref().map(Child::id)
    }

    /// The options the cluster was started with.
    pub fn options(&self) -> &KafkaOptions {
        &self.options
    }

    /// The fetched distribution the cluster runs.
    pub fn dist(&self) -> &KafkaDist {
        &self.dist
    }

    /// Where the cluster's storage, configs and logs are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log file of node `id`.
    pub fn log_of(&self, id: i32) -> PathBuf {
        lock(self.node(id)).log.clone()
    }

    fn node(&self, id: i32) -> &Mutex<Node> {
        self.nodes
            .iter()
            .find(|n| lock(n).id == id)
            .unwrap_or_else(|| panic!("the cluster has no node {id}"))
    }

    /// Kills node `id` with SIGKILL (no controlled shutdown) and reaps it.
    pub fn kill(&self, id: i32) {
        let mut node = lock(self.node(id));
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        node.stdin = None;
        node.paused = false;
    }

    /// Stops node `id` with SIGTERM (a controlled shutdown: leadership moves away first) and
    /// waits for it to exit; kills it after `timeout`.
    pub fn stop(&self, id: i32, timeout: Duration) {
        let mut node = lock(self.node(id));
        if let Some(mut child) = node.child.take() {
            if node.paused {
                signal(child.id(), "CONT");
            }
            signal(child.id(), "TERM");
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        node.stdin = None;
        node.paused = false;
    }

    /// Freezes node `id` (SIGSTOP): its sockets stay open but it answers nothing.
    pub fn pause(&self, id: i32) {
        let mut node = lock(self.node(id));
        if let Some(child) = &node.child {
            signal(child.id(), "STOP");
            node.paused = true;
        }
    }

    /// Thaws a node frozen by [`KafkaCluster::pause`].
    pub fn resume(&self, id: i32) {
        let mut node = lock(self.node(id));
        if let Some(child) = &node.child
            && node.paused
        {
            signal(child.id(), "CONT");
        }
        node.paused = false;
    }

    /// Whether node `id` runs (and is not paused).
    pub fn is_up(&self, id: i32) -> bool {
        let mut node = lock(self.node(id));
        let alive = node
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
        alive && !node.paused
    }

    /// Starts node `id` again (same storage and ports) if it is not running, and waits until
    /// Metadata lists every node again.
    pub fn restart(&self, id: i32) -> Result<(), HarnessError> {
        {
            let mut node = lock(self.node(id));
            let alive = node
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            if node.paused && alive {
                if let Some(child) = &node.child {
                    signal(child.id(), "CONT");
                }
                node.paused = false;
            } else if !alive {
                node.child = None;
                self.spawn(&mut node)?;
            }
        }
        self.wait_ready(START_TIMEOUT)
    }

    /// Brings every node back (restarts the dead, thaws the frozen) and waits until Metadata
    /// lists them all.
    pub fn restore(&self) -> Result<(), HarnessError> {
        for id in self.node_ids() {
            if !self.is_up(id) {
                self.restart(id)?;
            }
        }
        self.wait_ready(START_TIMEOUT)
    }

    /// Runs fault tests one at a time: holds the cluster's fault lock and restores the cluster
    /// first, so a test that failed halfway does not leave the next one a broken cluster.
    pub fn fault_session(&self) -> MutexGuard<'_, ()> {
        let guard = lock(&self.fault_lock);
        if let Err(e) = self.restore() {
            panic!("cannot restore the Kafka cluster before a fault test: {e}");
        }
        guard
    }

    /// The end of every node's log, for failure messages.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let node = lock(node);
            let _ = writeln!(
                out,
                "---- node {} ({}) ----\n{}",
                node.id,
                node.log.display(),
                log_tail(&node.log)
            );
        }
        out
    }

    /// Leaves the cluster running after this value is dropped; returns the nodes' pids.
    /// Only for clusters started with [`KafkaOptions::detached`].
    #[allow(clippy::zombie_processes)]
    pub fn detach(self) -> Vec<u32> {
        assert!(self.options.detached, "only a detached cluster outlives us");
        let pids = self
            .nodes
            .iter()
            .filter_map(|n| lock(n).child.take().map(|c| c.id()))
            .collect();
        std::mem::forget(self);
        pids
    }

    /// Creates a topic through the shared Java helper and waits until every partition has a
    /// leader. `configs` are topic configs (`min.insync.replicas`, `max.message.bytes`, ...).
    pub fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        replication: u16,
        configs: &[(&str, &str)],
    ) -> Result<(), HarnessError> {
        JavaHelper::shared()?.create_topic(
            &self.bootstrap(),
            name,
            partitions,
            replication,
            configs,
        )
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for KafkaCluster {
    fn drop(&mut self) {
        for node in &self.nodes {
            let mut node = lock(node);
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            node.stdin = None;
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn node_properties(
    options: &KafkaOptions,
    id: i32,
    port: u16,
    controller_port: u16,
    voters: &str,
    data: &Path,
    listener_ports: &[(String, u16)],
) -> String {
    let n = options.nodes;
    let rf = n.min(3);
    let min_isr = if n >= 3 { 2 } else { 1 };
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        props.insert(k.to_string(), v);
    };
    set("process.roles", "broker,controller".into());
    set("node.id", id.to_string());
    if let Some(rack) = usize::try_from(id - options.first_node_id)
        .ok()
        .and_then(|i| options.racks.get(i))
    {
        set("broker.rack", rack.clone());
    }
    set("controller.quorum.voters", voters.into());
    let mut extra_addrs = String::new();
    let mut extra_protocols = String::new();
    for (name, protocol) in &options.extra_listeners {
        if let Some((_, p)) = listener_ports.iter().find(|(l, _)| l == name) {
            let _ = write!(extra_addrs, ",{name}://127.0.0.1:{p}");
            let _ = write!(extra_protocols, ",{name}:{protocol}");
        }
    }
    set(
        "listeners",
        format!(
            "PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}{extra_addrs}"
        ),
    );
    set(
        "advertised.listeners",
        format!("PLAINTEXT://127.0.0.1:{port}{extra_addrs}"),
    );
    set("controller.listener.names", "CONTROLLER".into());
    set(
        "listener.security.protocol.map",
        format!("PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT{extra_protocols}"),
    );
    set("inter.broker.listener.name", "PLAINTEXT".into());
    set("log.dirs", data.display().to_string());
    // Internal topics: as few partitions as possible, replicated on every node (up to 3).
    set("offsets.topic.num.partitions", "1".into());
    set("offsets.topic.replication.factor", rf.to_string());
    set("transaction.state.log.num.partitions", "1".into());
    set("transaction.state.log.replication.factor", rf.to_string());
    set("transaction.state.log.min.isr", min_isr.to_string());
    set(
        "share.coordinator.state.topic.replication.factor",
        rf.to_string(),
    );
    set("share.coordinator.state.topic.min.isr", min_isr.to_string());
    set("num.partitions", "1".into());
    set("default.replication.factor", "1".into());
    set("group.initial.rebalance.delay.ms", "0".into());
    // Fault tests: a follower that stops fetching leaves the ISR after 3 s, a dead broker is
    // fenced after 3 s, a controller election takes about a second.
    set("replica.lag.time.max.ms", "3000".into());
    set("broker.session.timeout.ms", "3000".into());
    set("broker.heartbeat.interval.ms", "500".into());
    // Fewer threads than a production broker: tests share two cores.
    set("num.network.threads", "2".into());
    set("num.io.threads", "4".into());
    set("num.replica.fetchers", "1".into());
    set("background.threads", "2".into());
    set("log.cleaner.threads", "1".into());
    set("log.flush.interval.messages", i64::MAX.to_string());
    for (k, v) in &options.broker_props {
        set(k, v.clone());
    }
    props.into_iter().fold(String::new(), |mut out, (k, v)| {
        out.push_str(&k);
        out.push('=');
        out.push_str(&v);
        out.push('\n');
        out
    })
}

// ---------------------------------------------------------------------------------------------
// Sharing per test binary
// ---------------------------------------------------------------------------------------------

/// Which shared cluster a test binary wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shared {
    /// One node, transactions v2 (Kafka 4's default).
    Single,
    /// One node formatted with `transaction.version=0` (the classic transaction protocol).
    SingleTv0,
    /// Three nodes for fault tests ([`KafkaOptions::three_nodes`]).
    ThreeNodes,
    /// As [`Shared::Single`], with every request logged ([`KafkaOptions::request_log`]) and
    /// timed-out transactions aborted within half a second.
    SingleRequestLog,
    /// As [`Shared::SingleTv0`], with every request logged ([`KafkaOptions::request_log`]) and
    /// timed-out transactions aborted within half a second.
    SingleTv0RequestLog,
}

static SINGLE: OnceLock<KafkaCluster> = OnceLock::new();
static SINGLE_TV0: OnceLock<KafkaCluster> = OnceLock::new();
static THREE: OnceLock<KafkaCluster> = OnceLock::new();
static SINGLE_LOGGED: OnceLock<KafkaCluster> = OnceLock::new();
/// The request-logging clusters look for timed-out transactions every 500 ms (default 10 s), so
/// a transaction-timeout test waits a second, not ten.
const TXN_TIMEOUT_SCAN: &str = "transaction.abort.timed.out.transaction.cleanup.interval.ms";
static SINGLE_TV0_LOGGED: OnceLock<KafkaCluster> = OnceLock::new();
static START_LOCK: Mutex<()> = Mutex::new(());

/// The cluster of that kind shared by every test of this test binary, started on first use.
/// Panics (failing the calling test, with the nodes' logs) if it cannot start.
pub fn shared(which: Shared) -> &'static KafkaCluster {
    let (cell, options) = match which {
        Shared::Single => (&SINGLE, KafkaOptions::single(2)),
        Shared::SingleTv0 => (&SINGLE_TV0, KafkaOptions::single(0)),
        Shared::ThreeNodes => (&THREE, KafkaOptions::three_nodes()),
        Shared::SingleRequestLog => (
            &SINGLE_LOGGED,
            KafkaOptions {
                request_log: true,
                ..KafkaOptions::single(2)
            }
            .prop(TXN_TIMEOUT_SCAN, 500),
        ),
        Shared::SingleTv0RequestLog => (
            &SINGLE_TV0_LOGGED,
            KafkaOptions {
                request_log: true,
                ..KafkaOptions::single(0)
            }
            .prop(TXN_TIMEOUT_SCAN, 500),
        ),
    };
    if let Some(c) = cell.get() {
        return c;
    }
    // One start at a time: two tests racing must not start two clusters.
    let _guard = lock(&START_LOCK);
    if let Some(c) = cell.get() {
        return c;
    }
    let started = Instant::now();
    let cluster = KafkaCluster::start(options)
        .unwrap_or_else(|e| panic!("cannot start the shared Kafka cluster {which:?}: {e}"));
    eprintln!(
        "[kafka] {which:?} cluster up at {} in {:.1} s ({})",
        cluster.bootstrap(),
        started.elapsed().as_secs_f64(),
        cluster.dir().display()
    );
    let _ = cell.set(cluster);
    cell.get().expect("just set")
}

// ---------------------------------------------------------------------------------------------
// The Java helper
// ---------------------------------------------------------------------------------------------

/// One long-lived `FerroKafkaHelper serve` process: Kafka's own Admin client and consumer.
#[derive(Debug)]
pub struct JavaHelper {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    log: PathBuf,
}

static HELPER: OnceLock<Mutex<JavaHelper>> = OnceLock::new();

/// A committed consumer-group offset, as the Java Admin client lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The committed offset.
    pub offset: i64,
    /// Its metadata string (`None`: null).
    pub metadata: Option<String>,
}

/// A partition as the Java Admin client describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// Partition id.
    pub partition: i32,
    /// Leader (-1: none).
    pub leader: i32,
    /// Replica ids, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replica ids.
    pub isr: Vec<i32>,
}

impl JavaHelper {
    /// Starts a helper (fetching Kafka first if needed).
    pub fn start() -> Result<JavaHelper, HarnessError> {
        let dist = install()?;
        let logs = crate::paths::logs_dir();
        fs::create_dir_all(&logs)
            .map_err(HarnessError::io(format!("create {}", logs.display())))?;
        let log = logs.join(format!("java-helper-{}.log", unique_suffix()));
        let err =
            File::create(&log).map_err(HarnessError::io(format!("create {}", log.display())))?;
        let mut child = dist
            .java(&dist.tool_log4j())
            .args([
                "-Xmx256m",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-XX:-UsePerfData",
                HELPER_CLASS,
                "serve",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    HarnessError::ToolMissing {
                        tool: "java".into(),
                        hint: "apt-get install -y openjdk-17-jdk-headless".into(),
                    }
                } else {
                    HarnessError::io("start the Java helper")(e)
                }
            })?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut helper = JavaHelper {
            child,
            stdin,
            stdout,
            log,
        };
        let first = helper.read_line()?;
        if first != "ready" {
            return Err(helper.failure("start", format!("said {first:?} instead of ready")));
        }
        Ok(helper)
    }

    /// The helper shared by this test binary.
    pub fn shared() -> Result<MutexGuard<'static, JavaHelper>, HarnessError> {
        if let Some(h) = HELPER.get() {
            return Ok(lock(h));
        }
        let _guard = lock(&START_LOCK);
        if HELPER.get().is_none() {
            let _ = HELPER.set(Mutex::new(JavaHelper::start()?));
        }
        Ok(lock(HELPER.get().expect("just set")))
    }

    fn read_line(&mut self) -> Result<String, HarnessError> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(HarnessError::io("read from the Java helper"))?;
        if n == 0 {
            let status = self.child.try_wait().ok().flatten();
            return Err(self.failure(
                "read",
                format!("the helper exited ({status:?}) without an answer"),
            ));
        }
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }

    fn failure(&self, command: &str, message: String) -> HarnessError {
        HarnessError::JavaHelper {
            command: command.into(),
            message: format!(
                "{message}; helper log {}:\n{}",
                self.log.display(),
                log_tail(&self.log)
            ),
        }
    }

    /// Sends one command (fields joined by tabs) and returns the data lines of its answer.
    pub fn call(&mut self, fields: &[&str]) -> Result<Vec<String>, HarnessError> {
        let line = fields.join("\t");
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(HarnessError::io("write to the Java helper"))?;
        let mut data = Vec::new();
        loop {
            let answer = self.read_line()?;
            if answer == "ok" {
                return Ok(data);
            }
            if let Some(message) = answer.strip_prefix("err ") {
                return Err(HarnessError::JavaHelper {
                    command: line,
                    message: message.to_string(),
                });
            }
            data.push(answer);
        }
    }

    /// Creates a topic and waits until every partition has a leader.
    pub fn create_topic(
        &mut self,
        bootstrap: &str,
        name: &str,
        partitions: u32,
        replication: u16,
        configs: &[(&str, &str)],
    ) -> Result<(), HarnessError> {
        let partitions = partitions.to_string();
        let replication = replication.to_string();
        let configs: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut fields = vec!["create-topic", bootstrap, name, &partitions, &replication];
        fields.extend(configs.iter().map(String::as_str));
        self.call(&fields).map(drop)
    }

    /// Leaders, replicas and ISR of every partition of `topic`, sorted by partition.
    pub fn describe(
        &mut self,
        bootstrap: &str,
        topic: &str,
    ) -> Result<Vec<PartitionState>, HarnessError> {
        let ids = |s: &str| -> Vec<i32> { s.split(',').filter_map(|x| x.parse().ok()).collect() };
        let mut parts: Vec<PartitionState> = self
            .call(&["describe", bootstrap, topic])?
            .iter()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 5 && f[0] == "part").then(|| PartitionState {
                    partition: f[1].parse().unwrap_or(-1),
                    leader: f[2].parse().unwrap_or(-1),
                    replicas: ids(f[3]),
                    isr: ids(f[4]),
                })
            })
            .collect();
        parts.sort_by_key(|p| p.partition);
        Ok(parts)
    }

    /// Sets topic configs (incremental alter).
    pub fn alter_topic(
        &mut self,
        bootstrap: &str,
        topic: &str,
        configs: &[(&str, &str)],
    ) -> Result<(), HarnessError> {
        let configs: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut fields = vec!["alter-topic", bootstrap, topic];
        fields.extend(configs.iter().map(String::as_str));
        self.call(&fields).map(drop)
    }

    /// Sets (`Some`) or removes (`None`) the `producer_byte_rate` quota of a client id.
    pub fn set_producer_quota(
        &mut self,
        bootstrap: &str,
        client_id: &str,
        bytes_per_second: Option<u64>,
    ) -> Result<(), HarnessError> {
        let rate = bytes_per_second.map_or_else(|| "-".to_string(), |r| r.to_string());
        self.call(&[
            "quota",
            bootstrap,
            client_id,
            &format!("producer_byte_rate={rate}"),
        ])
        .map(drop)
    }

    /// Moves a partition's replicas (the first becomes the preferred leader) and waits until the
    /// reassignment is complete.
    pub fn reassign(
        &mut self,
        bootstrap: &str,
        topic: &str,
        partition: i32,
        replicas: &[i32],
    ) -> Result<(), HarnessError> {
        let replicas: Vec<String> = replicas.iter().map(ToString::to_string).collect();
        self.call(&[
            "reassign",
            bootstrap,
            topic,
            &partition.to_string(),
            &replicas.join(","),
        ])
        .map(drop)
    }

    /// Creates or changes `user`'s SCRAM credential for `mechanism` (`SCRAM-SHA-256` or
    /// `SCRAM-SHA-512`, 4096 iterations) through the Admin client.
    pub fn upsert_scram_user(
        &mut self,
        bootstrap: &str,
        user: &str,
        mechanism: &str,
        password: &str,
    ) -> Result<(), HarnessError> {
        self.call(&["scram-upsert", bootstrap, user, mechanism, password])
            .map(drop)
    }

    /// Deletes `user`'s SCRAM credential for `mechanism` through the Admin client.
    pub fn delete_scram_user(
        &mut self,
        bootstrap: &str,
        user: &str,
        mechanism: &str,
    ) -> Result<(), HarnessError> {
        self.call(&["scram-delete", bootstrap, user, mechanism])
            .map(drop)
    }

    /// Elects the preferred leader (the first replica) of a partition; no-op when it leads.
    pub fn elect_preferred(
        &mut self,
        bootstrap: &str,
        topic: &str,
        partition: i32,
    ) -> Result<(), HarnessError> {
        self.call(&["elect-preferred", bootstrap, topic, &partition.to_string()])
            .map(drop)
    }

    /// The offsets a consumer group has committed.
    pub fn committed(
        &mut self,
        bootstrap: &str,
        group: &str,
    ) -> Result<Vec<CommittedOffset>, HarnessError> {
        let mut out: Vec<CommittedOffset> = self
            .call(&["committed", bootstrap, group])?
            .iter()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 5 && f[0] == "off").then(|| CommittedOffset {
                    topic: f[1].to_string(),
                    partition: f[2].parse().unwrap_or(-1),
                    offset: f[3].parse().unwrap_or(-1),
                    metadata: unhex(f[4]).map(|b| String::from_utf8_lossy(&b).into_owned()),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(out)
    }

    /// Reads `topic` with the Java `KafkaConsumer` (every partition assigned from the
    /// beginning, CRCs checked) until it holds at least `expected` records and every partition's
    /// position reached its end offset — the last stable offset under
    /// [`Isolation::ReadCommitted`]. Records come back sorted by `(partition, offset)`.
    pub fn consume(
        &mut self,
        bootstrap: &str,
        topic: &str,
        isolation: Isolation,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<Consumed>, HarnessError> {
        let lines = self.call(&[
            "consume",
            bootstrap,
            topic,
            isolation.as_config(),
            &expected.to_string(),
            &timeout.as_millis().to_string(),
        ])?;
        let mut records = Vec::with_capacity(lines.len());
        for line in &lines {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() != 8 || f[0] != "rec" {
                return Err(HarnessError::JavaHelper {
                    command: "consume".into(),
                    message: format!("unexpected line {line:?}"),
                });
            }
            let headers = if f[7].is_empty() {
                Vec::new()
            } else {
                f[7].split(',')
                    .map(|h| {
                        let (name, value) = h.split_once('=').unwrap_or((h, "-"));
                        (
                            String::from_utf8_lossy(&unhex(name).unwrap_or_default()).into_owned(),
                            unhex(value),
                        )
                    })
                    .collect()
            };
            let timestamp: i64 = f[3].parse().unwrap_or(-1);
            records.push(Consumed {
                partition: f[1].parse().unwrap_or(-1),
                offset: f[2].parse().unwrap_or(-1),
                key: unhex(f[5]),
                value: unhex(f[6]),
                headers,
                timestamp: (timestamp >= 0).then_some(timestamp),
                timestamp_type: match f[4] {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => TimestampType::NotAvailable,
                },
            });
        }
        records.sort_by_key(|r| (r.partition, r.offset));
        Ok(records)
    }
}

impl Drop for JavaHelper {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lowercase hex to bytes; `-` is null.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    };
    Some(
        s.as_bytes()
            .chunks(2)
            .map(|p| (digit(p[0]) << 4) | digit(*p.get(1).unwrap_or(&b'0')))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_logging_differs_in_the_request_logger_level_only() {
        assert!(BROKER_LOG4J.contains("\nlogger.kafka-request.level = WARN\n"));
        assert!(BROKER_REQUEST_LOG4J.contains("\nlogger.kafka-request.level = DEBUG\n"));
        assert_eq!(
            BROKER_LOG4J.replace("= WARN\nlogger.state", "= DEBUG\nlogger.state"),
            BROKER_REQUEST_LOG4J
        );
        assert!(BROKER_LOG4J.starts_with("rootLogger.level = INFO\n"));
        assert!(BROKER_LOG4J.ends_with("logger.state-change.level = WARN\n"));
    }

    #[test]
    fn cluster_ids_look_like_kafka_uuids() {
        let a = cluster_id();
        let b = cluster_id();
        assert_eq!(a.len(), 22, "{a}");
        assert_ne!(a, b);
        for _ in 0..2_000 {
            let id = cluster_id();
            assert!(
                !id.starts_with('-'),
                "{id} reads as an option to kafka-storage"
            );
        }
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn hex_round_trips_and_dash_is_null() {
        assert_eq!(unhex("-"), None);
        assert_eq!(unhex(""), Some(Vec::new()));
        assert_eq!(unhex("00ff10"), Some(vec![0, 255, 16]));
    }

    #[test]
    fn node_properties_fit_the_cluster_size() {
        let one = node_properties(
            &KafkaOptions::single(0),
            1,
            9092,
            9093,
            "1@127.0.0.1:9093",
            Path::new("/d"),
            &[],
        );
        assert!(one.contains("transaction.state.log.replication.factor=1\n"));
        assert!(one.contains("transaction.state.log.min.isr=1\n"));
        let three = node_properties(
            &KafkaOptions::three_nodes().prop("num.io.threads", 8),
            2,
            9094,
            9095,
            "v",
            Path::new("/d"),
            &[],
        );
        assert!(three.contains("node.id=2\n"));
        assert!(three.contains("offsets.topic.replication.factor=3\n"));
        assert!(three.contains("transaction.state.log.min.isr=2\n"));
        assert!(three.contains("num.io.threads=8\n"), "overrides win");
        assert!(three.contains("advertised.listeners=PLAINTEXT://127.0.0.1:9094\n"));
        assert!(
            three.contains("broker.rack=rack-b\n"),
            "node 2 is in rack-b"
        );
        assert!(!one.contains("broker.rack"), "no racks unless asked for");
        let moved = node_properties(
            &KafkaOptions {
                first_node_id: 101,
                racks: vec!["x".into()],
                ..KafkaOptions::three_nodes()
            },
            102,
            9096,
            9097,
            "v",
            Path::new("/d"),
            &[],
        );
        assert!(moved.contains("node.id=102\n"));
        assert!(
            !moved.contains("broker.rack"),
            "only the first node has a rack"
        );
        let secure = node_properties(
            &KafkaOptions {
                extra_listeners: vec![("SASL_SSL".into(), "SASL_SSL".into())],
                ..KafkaOptions::single(2)
            },
            1,
            9092,
            9093,
            "v",
            Path::new("/d"),
            &[("SASL_SSL".into(), 9099)],
        );
        assert!(secure.contains(
            "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,\
             SASL_SSL://127.0.0.1:9099\n"
        ));
        assert!(secure.contains(
            "advertised.listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9099\n"
        ));
        assert!(secure.contains(
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,\
             SASL_SSL:SASL_SSL\n"
        ));
    }
}
