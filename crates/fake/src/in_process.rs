//! The in-process driver (feature `engine`): the sans-IO `ferrokafka_engine::Engine` wired to a
//! [`Cluster`] in one thread, over simulated time and a simulated network, with hooks for what a
//! caller adds (faults on the wire, a seeded connection order, event checks).
//!
//! [`InProcess`] holds both sides and the connections between them; a type that owns one
//! implements [`Drive`] and gets [`Drive::perform`], [`Drive::run_until_quiet`] and
//! [`Drive::advance`]. The engine's `Io` is performed against the cluster: a connect dials the
//! broker at that advertised address (broker `n` is `b{n}:9092`), written bytes are split into
//! frames for [`Cluster::handle_frame`], answers come from [`Cluster::poll_transmit`]; the
//! clock only moves when the caller moves it. Every loop is bounded.
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::{Duration, Instant};
//! use ferrokafka_engine::{Engine, EngineConfig, Event};
//! use ferrokafka_fake::{ClusterConfig, Drive, InProcess};
//! use ferrokafka_metadata::BrokerAddress;
//!
//! struct Test {
//!     net: InProcess,
//!     events: Vec<Event>,
//! }
//!
//! impl Drive for Test {
//!     type Error = Infallible;
//!     fn in_process(&mut self) -> &mut InProcess {
//!         &mut self.net
//!     }
//!     fn on_event(&mut self, event: Event) -> Result<(), Infallible> {
//!         self.events.push(event);
//!         Ok(())
//!     }
//! }
//!
//! # let start = Instant::now();
//! let config = EngineConfig::new(vec![BrokerAddress::new("b1", 9092)]);
//! let partitioner = ferrokafka_partition::by_name("").unwrap();
//! let engine = Engine::new(config, partitioner, start).unwrap();
//! let cluster = ClusterConfig::builder().brokers(3).topic("t", 2).build();
//! let mut test = Test { net: InProcess::new(engine, cluster, start), events: Vec::new() };
//! test.advance(Duration::from_millis(10)).unwrap();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokafka_engine::{ConnId as EngineConn, Engine, Event, Io};
use ferrokafka_wire::frame::split_frame;

use crate::{Cluster, ClusterConfig, ConnId};

/// The wall-clock milliseconds [`InProcess::wall_ms`] reports at the start of a run.
pub const WALL_START_MS: i64 = 1_700_000_000_000;

/// Rounds [`Drive::run_until_quiet`] takes before it calls the run a livelock.
pub const QUIET_ROUNDS: usize = 10_000;

/// The largest frame the driver splits out of what the engine writes.
const MAX_FRAME: usize = 1 << 30;

/// Both sides of an in-process run and the connections between them.
pub struct InProcess {
    /// The producer's sans-IO core.
    pub engine: Engine,
    /// The fake cluster it talks to.
    pub cluster: Cluster,
    /// The simulated clock at the start of the run.
    pub start: Instant,
    /// The simulated clock now: only the caller moves it (directly or by [`Drive::advance`]).
    pub now: Instant,
    /// Open connections: the engine's id → the cluster's.
    open: BTreeMap<EngineConn, ConnId>,
    /// Answers a hook made up, each queued behind what the cluster had ready on its connection.
    inbox: Vec<(EngineConn, Bytes)>,
}

impl InProcess {
    /// Both sides at `start` (the instant `engine` was created at); broker `n` of the cluster is
    /// advertised at `b{n}:9092`, so the engine's bootstrap is `b1:9092`.
    #[must_use]
    pub fn new(engine: Engine, cluster: ClusterConfig, start: Instant) -> Self {
        let mut cluster = Cluster::new(cluster);
        for id in cluster.broker_ids() {
            cluster.set_broker_address(id, &format!("b{id}"), 9092);
        }
        Self {
            engine,
            cluster,
            start,
            now: start,
            open: BTreeMap::new(),
            inbox: Vec::new(),
        }
    }

    /// Simulated time since the start.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The simulated wall clock: [`WALL_START_MS`] plus the elapsed milliseconds.
    #[must_use]
    pub fn wall_ms(&self) -> i64 {
        WALL_START_MS + i64::try_from(self.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// The earliest timer of either side, at most `max` from now and never before now.
    #[must_use]
    pub fn next_timer(&self, max: Duration) -> Instant {
        let mut next = self.now + max;
        if let Some(t) = self.engine.poll_timeout() {
            next = next.min(t);
        }
        for fake in self.open.values() {
            if let Some(t) = self.cluster.poll_timeout(*fake) {
                next = next.min(t);
            }
        }
        next.max(self.now)
    }

    /// The open connections, in the engine's id order.
    #[must_use]
    pub fn connections(&self) -> Vec<(EngineConn, ConnId)> {
        self.open.iter().map(|(a, b)| (*a, *b)).collect()
    }
}

/// What a [`Drive::on_request`] hook does with one request frame, before the cluster sees it.
#[derive(Debug, Clone)]
pub enum Intercept {
    /// The cluster serves and answers it.
    Pass,
    /// The cluster never sees it; this frame (size prefix included) is the answer.
    Answer(Bytes),
    /// The cluster serves it, and this frame is sent too (for an acks=0 Produce, which the
    /// cluster does not answer).
    ServeAndAnswer(Bytes),
}

/// Why [`Drive::run_until_quiet`] stopped before both sides were quiet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsettled<E> {
    /// Still busy after [`QUIET_ROUNDS`] rounds.
    Livelock,
    /// [`Drive::on_event`] refused an event.
    Event(E),
}

impl<E: fmt::Display> fmt::Display for Unsettled<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Livelock => write!(
                f,
                "the engine and the fake did not settle in {QUIET_ROUNDS} rounds"
            ),
            Self::Event(e) => e.fmt(f),
        }
    }
}

/// A type that owns an [`InProcess`] and says what happens around it. Only
/// [`Drive::in_process`] and [`Drive::on_event`] are required; the other hooks default to a
/// plain network (every write reported at once, every request served, connections visited in
/// id order and drained of answers on each visit).
pub trait Drive {
    /// What [`Drive::on_event`] may fail with.
    type Error;

    /// The two sides.
    fn in_process(&mut self) -> &mut InProcess;

    /// One event of the engine, in the order the engine reported them.
    ///
    /// # Errors
    /// Whatever the caller makes of the event; [`Drive::run_until_quiet`] stops with it.
    fn on_event(&mut self, event: Event) -> Result<(), Self::Error>;

    /// Sees each `Io` before it is performed (to log or count it).
    fn on_io(&mut self, _io: &Io) {}

    /// Whether the engine hears at once that its bytes on `conn` were written; `false` holds
    /// the report back (a slow socket: the caller reports it later).
    fn report_written(&mut self, _conn: EngineConn) -> bool {
        true
    }

    /// Sees each request frame (size prefix stripped) before the cluster does.
    fn on_request(&mut self, _conn: EngineConn, _frame: &[u8]) -> Intercept {
        Intercept::Pass
    }

    /// Orders the open connections for one round of answers (a seeded shuffle interleaves the
    /// answers of different connections differently).
    fn order_connections(&mut self, _conns: &mut [(EngineConn, ConnId)]) {}

    /// Whether a visit takes one answer of a connection (`true`) or all it has ready.
    fn one_answer_per_visit(&self) -> bool {
        false
    }

    /// The cluster closed `conn` (the engine is told next).
    fn on_closed_by_cluster(&mut self, _conn: EngineConn) {}

    /// Performs one `Io` of the engine against the cluster.
    fn perform(&mut self, io: Io) {
        self.on_io(&io);
        match io {
            Io::Connect { conn, host, port } => {
                let net = self.in_process();
                let fake = net
                    .cluster
                    .broker_at(&host, port)
                    .and_then(|b| net.cluster.connect(b).ok());
                if let Some(fake) = fake {
                    net.open.insert(conn, fake);
                    net.engine.handle_connected(conn, net.now);
                } else {
                    net.engine.handle_disconnect(conn, net.now);
                }
            }
            Io::Send { conn, data } => {
                let Some(&fake) = self.in_process().open.get(&conn) else {
                    return;
                };
                if self.report_written(conn) {
                    let net = self.in_process();
                    net.engine.handle_written(conn, net.now);
                }
                let mut buf = BytesMut::from(&data.to_bytes()[..]);
                while let Some(frame) =
                    split_frame(&mut buf, MAX_FRAME).expect("the engine writes whole frames")
                {
                    let intercept = self.on_request(conn, &frame);
                    let net = self.in_process();
                    let wall = net.wall_ms();
                    let answer = match intercept {
                        Intercept::Pass => {
                            net.cluster.handle_frame(fake, &frame, net.now, wall);
                            continue;
                        }
                        Intercept::Answer(answer) => answer,
                        Intercept::ServeAndAnswer(answer) => {
                            net.cluster.handle_frame(fake, &frame, net.now, wall);
                            answer
                        }
                    };
                    while let Some(ready) = net.cluster.poll_transmit(fake, net.now) {
                        net.inbox.push((conn, ready));
                    }
                    net.inbox.push((conn, answer));
                }
            }
            Io::Close { conn } => {
                let net = self.in_process();
                if let Some(fake) = net.open.remove(&conn) {
                    net.cluster.disconnect(fake);
                }
            }
        }
    }

    /// Runs both sides until neither has anything to do now: the engine's `Io` performed, made
    /// up answers and the cluster's answers delivered, closed connections reported, events
    /// handed to [`Drive::on_event`].
    ///
    /// # Errors
    /// [`Unsettled::Livelock`] after [`QUIET_ROUNDS`] busy rounds, or the first error of
    /// [`Drive::on_event`].
    fn run_until_quiet(&mut self) -> Result<(), Unsettled<Self::Error>> {
        for _ in 0..QUIET_ROUNDS {
            let mut progressed = false;
            loop {
                let net = self.in_process();
                let Some(io) = net.engine.poll_io(net.now) else {
                    break;
                };
                progressed = true;
                self.perform(io);
            }
            let net = self.in_process();
            for (conn, frame) in std::mem::take(&mut net.inbox) {
                progressed = true;
                if net.open.contains_key(&conn) {
                    net.engine.handle_frame(conn, &frame[4..], net.now);
                }
            }
            let mut conns = net.connections();
            self.order_connections(&mut conns);
            let drain = !self.one_answer_per_visit();
            for (conn, fake) in conns {
                let net = self.in_process();
                while let Some(frame) = net.cluster.poll_transmit(fake, net.now) {
                    progressed = true;
                    net.engine.handle_frame(conn, &frame[4..], net.now);
                    if !drain {
                        break;
                    }
                }
                if net.cluster.is_closed(fake) && net.open.contains_key(&conn) {
                    progressed = true;
                    self.on_closed_by_cluster(conn);
                    let net = self.in_process();
                    net.open.remove(&conn);
                    net.cluster.disconnect(fake);
                    net.engine.handle_disconnect(conn, net.now);
                }
            }
            while let Some(event) = self.in_process().engine.poll_event() {
                progressed = true;
                self.on_event(event).map_err(Unsettled::Event)?;
            }
            if !progressed {
                return Ok(());
            }
        }
        Err(Unsettled::Livelock)
    }

    /// Moves the clock to the earliest timer of either side (at most `max` ahead), fires the
    /// engine's timers, then runs until quiet.
    ///
    /// # Errors
    /// As [`Drive::run_until_quiet`].
    fn advance(&mut self, max: Duration) -> Result<(), Unsettled<Self::Error>> {
        let net = self.in_process();
        net.now = net.next_timer(max);
        net.engine.handle_timeout(net.now);
        self.run_until_quiet()
    }
}
