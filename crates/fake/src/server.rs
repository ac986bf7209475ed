//! The loopback TCP server (feature `server`): one listener per broker on 127.0.0.1, one tokio
//! task per connection that feeds request frames to the [`Cluster`] and writes its answers.
//!
//! This is the only module of the crate that reads the clock or touches sockets;
//! `check-layering` exempts it (and `main.rs`) from the sans-IO scan.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use ferrokafka_wire::frame::{DEFAULT_MAX_FRAME_SIZE, split_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, ConnId};
use crate::config::ClusterConfig;

struct Shared {
    cluster: Mutex<Cluster>,
    /// Wakes every connection task after a command changed the cluster (a held answer
    /// released, a broker taken down, a connection dropped).
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Cluster> {
        // A panic while holding the lock leaves a usable cluster: every method keeps it
        // consistent between statements that could panic.
        self.cluster.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fake cluster served on loopback TCP. Dropping it stops every listener and connection.
pub struct FakeServer {
    shared: Arc<Shared>,
    addrs: BTreeMap<i32, SocketAddr>,
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
        let shared = Arc::new(Shared {
            cluster: Mutex::new(cluster),
            changed: Notify::new(),
        });
        let mut addrs = BTreeMap::new();
        let mut listeners = Vec::new();
        for (id, addr, listener) in bound {
            addrs.insert(id, addr);
            let shared = Arc::clone(&shared);
            listeners.push(tokio::spawn(accept_loop(id, listener, shared)));
        }
        Ok(Self {
            shared,
            addrs,
            listeners,
        })
    }

    /// `host:port` of every broker, comma-separated (a `bootstrap.servers` value).
    pub fn bootstrap(&self) -> String {
        self.addrs
            .values()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The address of broker `id`.
    pub fn addr(&self, id: i32) -> Option<SocketAddr> {
        self.addrs.get(&id).copied()
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

async fn serve(conn: ConnId, stream: TcpStream, shared: Arc<Shared>) {
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        // Register for wake-ups before looking, so a change between the look and the wait is
        // not missed.
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let (out, deadline, closed) = {
            let mut c = shared.lock();
            let now = Instant::now();
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
                        Ok(Some(frame)) => c.handle_frame(conn, &frame, Instant::now(), wall_ms()),
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
