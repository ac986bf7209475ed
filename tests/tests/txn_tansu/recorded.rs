//! A Tansu broker behind a recording proxy: Tansu advertises the proxy's address, so every
//! connection a client opens goes through it, and the test sees the requests the producer sent
//! and the answers it got.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka_tests::raw::Cursor;
use ferrokafka_tests::wait::wait_until;

/// One request frame a client sent (size prefix removed).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) api_key: i16,
    pub(crate) version: i16,
    frame: Vec<u8>,
    /// The broker's answer (size prefix removed), once it came.
    response: Option<Vec<u8>>,
}

/// Requests and answers seen by the proxy.
#[derive(Debug, Default)]
struct Recorded {
    requests: Vec<Request>,
    /// `(connection, correlation id)` → index in `requests`.
    open: BTreeMap<(u64, i32), usize>,
}

pub(crate) const API_PRODUCE: i16 = 0;
pub(crate) const API_ADD_PARTITIONS_TO_TXN: i16 = 24;
pub(crate) const API_END_TXN: i16 = 26;

/// A Tansu broker whose advertised address is a proxy that records every request: every
/// connection a client opens (bootstrap, leaders, coordinators) goes through it, so the test
/// sees what the producer sent. Dropping it kills the broker.
pub(crate) struct RecordedTansu {
    child: std::process::Child,
    bin: std::path::PathBuf,
    broker_port: u16,
    proxy_port: u16,
    recorded: std::sync::Arc<std::sync::Mutex<Recorded>>,
}

impl Drop for RecordedTansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RecordedTansu {
    pub(crate) fn start() -> Self {
        use std::net::{TcpListener, TcpStream};
        use std::process::{Command, Stdio};
        use std::sync::{Arc, Mutex};
        let bin = ferrokafka_tests::tansu::install().expect("tansu binary");
        let proxy = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        let proxy_port = proxy.local_addr().unwrap().port();
        let broker_port = ferrokafka_tests::tansu::free_port().expect("free port");
        // Set RUST_LOG=debug to see every request Tansu handles in this log.
        let logs = ferrokafka_tests::paths::logs_dir();
        std::fs::create_dir_all(&logs).expect("logs dir");
        let log = std::fs::File::create(logs.join(format!("tansu-recorded-{proxy_port}.log")))
            .expect("log file");
        let child = Command::new(&bin)
            .arg("broker")
            .args(["--listener-url", &format!("tcp://127.0.0.1:{broker_port}")])
            .args([
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{proxy_port}"),
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn tansu");
        let recorded: Arc<Mutex<Recorded>> = Arc::default();
        let broker = Self {
            child,
            bin,
            broker_port,
            proxy_port,
            recorded: recorded.clone(),
        };
        wait_until(
            &format!("tansu to listen on {broker_port}"),
            Duration::from_secs(20),
            || TcpStream::connect(("127.0.0.1", broker_port)).is_ok(),
        );
        std::thread::spawn(move || {
            for (conn, client) in (0u64..).zip(proxy.incoming()) {
                let Ok(client) = client else { return };
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", broker_port)) else {
                    return;
                };
                let (up, down) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let rec = recorded.clone();
                std::thread::spawn(move || relay(conn, client, upstream, &rec, true));
                let rec = recorded.clone();
                std::thread::spawn(move || relay(conn, down, up, &rec, false));
            }
        });
        broker
    }

    /// A recorded broker with `topic` of `partitions` partitions, and its bootstrap address.
    pub(crate) fn with_topic(topic: &str, partitions: u32) -> (Self, String) {
        let broker = Self::start();
        broker.create_topic(topic, partitions);
        let bootstrap = broker.bootstrap();
        (broker, bootstrap)
    }

    /// What clients use: the proxy (also the advertised address).
    pub(crate) fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.proxy_port)
    }

    pub(crate) fn create_topic(&self, name: &str, partitions: u32) {
        let out = std::process::Command::new(&self.bin)
            .args(["topic", "create", name])
            .args(["--partitions", &partitions.to_string()])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.broker_port)])
            .output()
            .expect("run tansu topic create");
        assert!(out.status.success(), "create {name}: {out:?}");
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.recorded.lock().unwrap().requests.clone()
    }

    /// The EndTxn requests from the `from`th request on: `(committed, the answer's error code
    /// if it came)`.
    pub(crate) fn end_txns(&self, from: usize) -> Vec<(bool, Option<i16>)> {
        self.requests()[from..]
            .iter()
            .filter(|r| r.api_key == API_END_TXN)
            .map(|r| (r.end_txn_committed(), r.end_txn_error()))
            .collect()
    }
}

/// Copies size-prefixed frames from `from` to `to`, recording each: requests when
/// `requests`, otherwise answers (matched to their request by correlation id).
fn relay(
    conn: u64,
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    recorded: &std::sync::Mutex<Recorded>,
    requests: bool,
) {
    use std::io::{Read, Write};
    loop {
        let mut size = [0u8; 4];
        if from.read_exact(&mut size).is_err() {
            break;
        }
        let mut frame = vec![0u8; u32::from_be_bytes(size) as usize];
        if from.read_exact(&mut frame).is_err() || frame.len() < 4 {
            break;
        }
        {
            let mut rec = recorded.lock().unwrap();
            if requests {
                let correlation = i32::from_be_bytes(frame[4..8].try_into().unwrap());
                let at = rec.requests.len();
                rec.open.insert((conn, correlation), at);
                rec.requests.push(Request {
                    api_key: i16::from_be_bytes([frame[0], frame[1]]),
                    version: i16::from_be_bytes([frame[2], frame[3]]),
                    frame: frame.clone(),
                    response: None,
                });
            } else {
                let correlation = i32::from_be_bytes(frame[0..4].try_into().unwrap());
                if let Some(at) = rec.open.remove(&(conn, correlation)) {
                    rec.requests[at].response = Some(frame.clone());
                }
            }
        }
        if to.write_all(&size).is_err() || to.write_all(&frame).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

impl Request {
    /// A cursor on the body, past the request header (v1, or v2 with tagged fields when the
    /// request version is flexible).
    fn body(&self, flexible: bool) -> Cursor<'_> {
        let mut c = Cursor::new(&self.frame);
        c.take(8); // api key, version, correlation id
        let client_id = c.i16();
        if client_id > 0 {
            c.take(client_id as usize);
        }
        if flexible {
            c.skip_tags();
        }
        c
    }

    /// EndTxn: the `committed` flag.
    pub(crate) fn end_txn_committed(&self) -> bool {
        assert_eq!(self.api_key, API_END_TXN);
        let flexible = self.version >= 3;
        let mut c = self.body(flexible);
        c.string(flexible); // transactional id
        c.i64(); // producer id
        c.i16(); // epoch
        c.take(1)[0] != 0
    }

    /// EndTxn: the answer's error code, if it came.
    pub(crate) fn end_txn_error(&self) -> Option<i16> {
        assert_eq!(self.api_key, API_END_TXN);
        let response = self.response.as_ref()?;
        let mut c = Cursor::new(response);
        c.i32(); // correlation id
        if self.version >= 3 {
            c.skip_tags(); // response header v1
        }
        c.i32(); // throttle
        Some(c.i16())
    }

    /// AddPartitionsToTxn v0-3: the partitions added, as `topic/partition`.
    pub(crate) fn added_partitions(&self) -> Vec<String> {
        assert_eq!(self.api_key, API_ADD_PARTITIONS_TO_TXN);
        assert!(self.version <= 3, "client form only");
        let flexible = self.version >= 3;
        let mut c = self.body(flexible);
        c.string(flexible); // transactional id
        c.i64(); // producer id
        c.i16(); // epoch
        let mut out = Vec::new();
        for _ in 0..c.array_len(flexible) {
            let topic = c.string(flexible);
            for _ in 0..c.array_len(flexible) {
                out.push(format!("{topic}/{}", c.i32()));
            }
            if flexible {
                c.skip_tags();
            }
        }
        out.sort();
        out
    }
}
