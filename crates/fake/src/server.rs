//! The server (feature `server`): one tokio task per connection that feeds request frames to
//! the [`Cluster`] and writes its answers. Connections arrive on loopback TCP (one listener per
//! broker on 127.0.0.1, [`FakeServer::start`]) or in memory ([`FakeServer::in_memory`],
//! `tokio::io::duplex` pairs handed out by [`FakeServer::connect_in_memory`]).
//!
//! Time is tokio's clock, so under a paused test clock delayed answers wait for simulated
//! time.
//!
//! This is the only module of the crate that reads the clock or touches sockets;
//! `check-layering` exempts it (and `main.rs`) from the sans-IO scan.

use std::collections::BTreeMap;
use std::future::Ready;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use ferrokafka_wire::frame::{DEFAULT_MAX_FRAME_SIZE, split_frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, ConnId};
use crate::config::ClusterConfig;

struct Shared {
    cluster: Mutex<Cluster>,
    /// Wakes every connection task after a command changed the cluster (a held answer
    /// released, a broker taken down, a connection dropped).
    changed: Notify,
    /// Set when the [`FakeServer`] is dropped: in-memory connections are refused from then on.
    stopped: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Cluster> {
        // A panic while holding the lock leaves a usable cluster: every method keeps it
        // consistent between statements that could panic.
        self.cluster.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fake cluster served on loopback TCP ([`FakeServer::start`]) or in memory only
/// ([`FakeServer::in_memory`]). Dropping it stops every listener and connection.
pub struct FakeServer {
    shared: Arc<Shared>,
    addrs: BTreeMap<i32, SocketAddr>,
    /// The `bootstrap.servers` value: every broker's advertised `host:port`.
    bootstrap: String,
    listeners: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Binds one listener per broker on 127.0.0.1 (ephemeral ports) and starts serving.
    pub async fn start(config: ClusterConfig) -> io::Result<Self> {
        let mut cluster = Cluster::new(config);
        let mut bound = Vec::new();
        for id in cluster.broker_ids() {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            cluster.set_broker_address(id, "127.0.0.1", addr.port());
            bound.push((id, addr, listener));
        }
        let shared = Shared::new(cluster);
        let mut addrs = BTreeMap::new();
        let mut listeners = Vec::new();
        for (id, addr, listener) in bound {
            addrs.insert(id, addr);
            let shared = Arc::clone(&shared);
            listeners.push(tokio::spawn(accept_loop(id, listener, shared)));
        }
        let bootstrap = addrs
            .values()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self {
            shared,
            addrs,
            bootstrap,
            listeners,
        })
    }

    /// A fake cluster without sockets: clients reach it only through
    /// [`connect_in_memory`](Self::connect_in_memory) (or [`transport`](Self::transport)),
    /// each connection a `tokio::io::duplex` pair whose far end a task of this server serves.
    /// Every byte stays inside the tokio runtime, so a test under tokio's paused clock
    /// (`#[tokio::test(start_paused = true)]`) runs the client and the cluster on simulated
    /// time, deterministically.
    ///
    /// Broker `id` advertises `broker-{id}.fake.invalid:9092` (the `.invalid` domain never
    /// resolves: a client not given the in-memory transport fails to connect instead of
    /// reaching a real broker). [`bootstrap`](Self::bootstrap) lists them; [`addr`](Self::addr)
    /// is `None`. Needs no runtime until the first connection.
    ///
    /// ```
    /// use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = FakeServer::in_memory(ClusterConfig::builder().brokers(2).build());
    /// assert_eq!(
    ///     fake.bootstrap(),
    ///     "broker-1.fake.invalid:9092,broker-2.fake.invalid:9092"
    /// );
    /// let mut conn = fake.connect_in_memory("broker-2.fake.invalid", 9092).unwrap();
    /// conn.write_all(b"Kafka requests go here").await.unwrap();
    /// fake.with_cluster(|c| c.broker_down(1));
    /// assert!(fake.connect_in_memory("broker-1.fake.invalid", 9092).is_err());
    /// # });
    /// ```
    pub fn in_memory(config: ClusterConfig) -> Self {
        let mut cluster = Cluster::new(config);
        let mut advertised = Vec::new();
        for id in cluster.broker_ids() {
            let host = format!("broker-{id}.fake.invalid");
            advertised.push(format!("{host}:{IN_MEMORY_PORT}"));
            cluster.set_broker_address(id, &host, IN_MEMORY_PORT);
        }
        Self {
            shared: Shared::new(cluster),
            addrs: BTreeMap::new(),
            bootstrap: advertised.join(","),
            listeners: Vec::new(),
        }
    }

    /// `host:port` of every broker, comma-separated (a `bootstrap.servers` value).
    pub fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    /// The TCP address of broker `id` (`None` for an [`in_memory`](Self::in_memory) server).
    pub fn addr(&self, id: i32) -> Option<SocketAddr> {
        self.addrs.get(&id).copied()
    }

    /// Opens an in-memory connection to the broker advertised at `host:port` and serves it on
    /// a new task of the current tokio runtime: the returned stream is the client's end.
    /// Works for a TCP server too (with the loopback addresses it advertises).
    ///
    /// Refused (`ConnectionRefused`) when no broker is advertised there, the broker is down
    /// ([`Cluster::broker_down`]) or the server was dropped; an error (`Other`) outside a
    /// tokio runtime.
    pub fn connect_in_memory(&self, host: &str, port: u16) -> io::Result<DuplexStream> {
        connect_in_memory(&self.shared, host, port)
    }

    /// [`connect_in_memory`](Self::connect_in_memory) as a function a client can own: a
    /// `Fn(host, port)` returning a ready future of the connection, which is what a
    /// transport seam such as ferrokafka's `ProducerConfigBuilder::transport` takes:
    ///
    /// ```
    /// use ferrokafka::ProducerConfig;
    /// use ferrokafka_fake::{ClusterConfig, FakeServer};
    ///
    /// let fake = FakeServer::in_memory(ClusterConfig::builder().topic("t", 1).build());
    /// let config = ProducerConfig::builder()
    ///     .bootstrap_servers(fake.bootstrap())
    ///     .transport(fake.transport())
    ///     .build()
    ///     .unwrap();
    /// # drop(config);
    /// ```
    ///
    /// The function keeps the cluster alive but refuses new connections once the server is
    /// dropped.
    pub fn transport(
        &self,
    ) -> impl Fn(String, u16) -> Ready<io::Result<DuplexStream>> + Clone + Send + Sync + 'static
    {
        let shared = Arc::clone(&self.shared);
        move |host: String, port: u16| std::future::ready(connect_in_memory(&shared, &host, port))
    }

    /// Runs `f` on the cluster (inspection, faults, topics), then wakes every connection so
    /// that released answers leave and closed connections close. Never call it from inside
    /// another `with_cluster`.
    pub fn with_cluster<R>(&self, f: impl FnOnce(&mut Cluster) -> R) -> R {
        let r = f(&mut self.shared.lock());
        self.shared.changed.notify_waiters();
        r
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        for l in &self.listeners {
            l.abort();
        }
        // Connection tasks see every connection closed and end.
        let mut c = self.shared.lock();
        for id in c.broker_ids() {
            c.drop_connections(id);
        }
        drop(c);
        self.shared.changed.notify_waiters();
    }
}

impl Shared {
    fn new(cluster: Cluster) -> Arc<Self> {
        Arc::new(Self {
            cluster: Mutex::new(cluster),
            changed: Notify::new(),
            stopped: AtomicBool::new(false),
        })
    }
}

/// The port every broker of an in-memory server advertises.
const IN_MEMORY_PORT: u16 = 9092;

/// Bytes buffered in each direction of an in-memory connection.
const IN_MEMORY_BUFFER: usize = 64 * 1024;

fn connect_in_memory(shared: &Arc<Shared>, host: &str, port: u16) -> io::Result<DuplexStream> {
    let refused = |why: String| io::Error::new(io::ErrorKind::ConnectionRefused, why);
    if shared.stopped.load(Ordering::SeqCst) {
        return Err(refused("the fake server was dropped".to_owned()));
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
        io::Error::other(format!("in-memory connections need a tokio runtime: {e}"))
    })?;
    let conn = {
        let mut c = shared.lock();
        let broker = c.broker_at(host, port).ok_or_else(|| {
            refused(format!(
                "no broker of the fake cluster is advertised at {host}:{port}"
            ))
        })?;
        c.connect(broker).map_err(|e| refused(e.to_string()))?
    };
    let (client, server) = tokio::io::duplex(IN_MEMORY_BUFFER);
    runtime.spawn(serve(conn, server, Arc::clone(shared)));
    Ok(client)
}

/// Now, by tokio's clock (simulated time under a paused test clock).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn accept_loop(broker: i32, listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let conn = shared.lock().connect(broker);
        // A broker that is down refuses by closing at once.
        if let Ok(conn) = conn {
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(conn, stream, Arc::clone(&shared)));
        }
    }
}

async fn serve<S>(conn: ConnId, stream: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        // Register for wake-ups before looking, so a change between the look and the wait is
        // not missed.
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let (out, deadline, closed) = {
            let mut c = shared.lock();
            let now = now();
            let mut out = Vec::new();
            // Bounded: each call pops one queued answer.
            while let Some(frame) = c.poll_transmit(conn, now) {
                out.push(frame);
            }
            (out, c.poll_timeout(conn), c.is_closed(conn))
        };
        for frame in out {
            if wr.write_all(&frame).await.is_err() {
                shared.lock().disconnect(conn);
                return;
            }
        }
        if closed {
            break;
        }
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = rd.read_buf(&mut buf) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let mut c = shared.lock();
                loop {
                    match split_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE) {
                        Ok(Some(frame)) => c.handle_frame(conn, &frame, now(), wall_ms()),
                        Ok(None) => break,
                        Err(_) => {
                            drop(c);
                            shared.lock().disconnect(conn);
                            return;
                        }
                    }
                }
            }
            () = sleep => {}
            () = &mut changed => {}
        }
    }
    let _ = wr.shutdown().await;
    shared.lock().disconnect(conn);
}
