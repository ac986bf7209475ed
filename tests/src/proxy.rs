//! A TCP forwarding proxy on loopback whose target can be switched while it runs: a client's
//! `bootstrap.servers` can point at the proxy while the cluster behind it is replaced.
//!
//! [`Proxy::start`] listens on a free `127.0.0.1` port. Every accepted connection is forwarded to
//! the target of the moment of its accept (a connection to the target, bytes copied both ways
//! by two threads, `TCP_NODELAY` on both sides); when either side closes or fails, both are shut
//! down. [`Proxy::set_target`] sends the connections accepted after it elsewhere; the open ones
//! keep their target until [`Proxy::cut`] shuts them down. A connection whose target cannot be
//! reached within [`CONNECT_TIMEOUT`] is closed, as an unreachable broker would be.
//!
//! Everything blocks (no polling): the acceptor blocks in `accept`, each direction of a
//! connection in `read`. Dropping the proxy stops the acceptor (woken by a connection to
//! itself), shuts every connection down, which ends the threads' reads, and joins every thread.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::HarnessError;

/// How long a forwarded connection waits for its target to accept.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A running proxy. Dropping it closes every connection and joins its threads.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    stopping: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    target: Option<SocketAddr>,
    next_id: u64,
    /// Connections not yet closed: the client's socket and, once connected, the target's.
    open: BTreeMap<u64, (TcpStream, Option<TcpStream>)>,
    /// One per accepted connection; finished ones are joined at the next accept.
    threads: Vec<JoinHandle<()>>,
    /// Connections forwarded (target reached), per target.
    forwarded: BTreeMap<SocketAddr, usize>,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn resolve(addr: &str) -> Result<SocketAddr, HarnessError> {
    addr.to_socket_addrs()
        .and_then(|mut a| {
            a.next().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "resolves to no address")
            })
        })
        .map_err(HarnessError::io(format!("resolve {addr}")))
}

fn close(client: &TcpStream, upstream: Option<&TcpStream>) {
    let _ = client.shutdown(Shutdown::Both);
    if let Some(u) = upstream {
        let _ = u.shutdown(Shutdown::Both);
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards connections to `target` (`host:port`).
    pub fn start(target: &str) -> Result<Proxy, HarnessError> {
        let target = resolve(target)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(HarnessError::io("bind the proxy to 127.0.0.1:0"))?;
        let addr = listener
            .local_addr()
            .map_err(HarnessError::io("the proxy's address"))?;
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                target: Some(target),
                ..State::default()
            }),
            stopping: AtomicBool::new(false),
        });
        let acceptor = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name(format!("proxy-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &inner))
                .map_err(HarnessError::io("start the proxy's acceptor"))?
        };
        Ok(Proxy {
            addr,
            inner,
            acceptor: Some(acceptor),
        })
    }

    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// Forwards connections accepted from now on to `target` (`host:port`); open ones keep
    /// theirs (see [`Proxy::cut`]).
    pub fn set_target(&self, target: &str) -> Result<(), HarnessError> {
        let target = resolve(target)?;
        self.inner.state().target = Some(target);
        Ok(())
    }

    /// Shuts down every open connection (both sides); returns how many there were.
    pub fn cut(&self) -> usize {
        let open = std::mem::take(&mut self.inner.state().open);
        for (client, upstream) in open.values() {
            close(client, upstream.as_ref());
        }
        open.len()
    }

    /// Connections forwarded to `target` (`host:port`) so far.
    pub fn forwarded_to(&self, target: &str) -> usize {
        resolve(target).map_or(0, |t| {
            self.inner.state().forwarded.get(&t).copied().unwrap_or(0)
        })
    }

    /// Connections open now (accepted and not closed).
    pub fn open_connections(&self) -> usize {
        self.inner.state().open.len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor, which sees `stopping` and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        self.cut();
        let threads = std::mem::take(&mut self.inner.state().threads);
        for t in threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, inner: &Arc<Inner>) {
    for conn in listener.incoming() {
        if inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        let client = match conn {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors, say: wait a little rather than spin.
                eprintln!("[proxy] accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let mut state = inner.state();
        let finished: Vec<JoinHandle<()>> = {
            let (done, running) = std::mem::take(&mut state.threads)
                .into_iter()
                .partition(JoinHandle::is_finished);
            state.threads = running;
            done
        };
        for t in finished {
            let _ = t.join();
        }
        let Some(target) = state.target else {
            continue; // dropped: closed
        };
        let Ok(registered) = client.try_clone() else {
            continue;
        };
        let id = state.next_id;
        state.next_id += 1;
        state.open.insert(id, (registered, None));
        let thread = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name(format!("proxy-conn-{id}"))
                .spawn(move || forward(&inner, id, &client, target))
        };
        match thread {
            Ok(t) => state.threads.push(t),
            Err(e) => {
                eprintln!("[proxy] cannot start a connection thread: {e}");
                if let Some((c, _)) = state.open.remove(&id) {
                    close(&c, None);
                }
            }
        }
    }
}

/// Connects to `target` and copies both ways until either side closes, then closes both.
fn forward(inner: &Inner, id: u64, client: &TcpStream, target: SocketAddr) {
    let Ok(upstream) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
        if let Some((c, _)) = inner.state().open.remove(&id) {
            close(&c, None);
        }
        return;
    };
    {
        let mut state = inner.state();
        // Cut (or the proxy dropped) while connecting: the client is closed already.
        let Some(entry) = state.open.get_mut(&id) else {
            close(client, Some(&upstream));
            return;
        };
        if let Ok(u) = upstream.try_clone() {
            entry.1 = Some(u);
        } else {
            state.open.remove(&id);
            close(client, Some(&upstream));
            return;
        }
        *state.forwarded.entry(target).or_default() += 1;
    }
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let back = match (client.try_clone(), upstream.try_clone()) {
        (Ok(mut to), Ok(mut from)) => std::thread::Builder::new()
            .name(format!("proxy-back-{id}"))
            .spawn(move || {
                let _ = io::copy(&mut from, &mut to);
                close(&to, Some(&from));
            })
            .ok(),
        _ => None,
    };
    if back.is_some() {
        let _ = io::copy(&mut &*client, &mut &upstream);
    }
    close(client, Some(&upstream));
    if let Some(b) = back {
        let _ = b.join();
    }
    inner.state().open.remove(&id);
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A server that answers every byte it reads with `tag`, one connection thread each.
    fn tagged_server(tag: u8) -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                std::thread::spawn(move || {
                    let mut b = [0u8; 1];
                    while matches!(conn.read(&mut b), Ok(1)) {
                        if b[0] == b'q' || conn.write_all(&[tag]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, handle)
    }

    fn ask(conn: &mut TcpStream) -> Option<u8> {
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        conn.write_all(b"?").ok()?;
        let mut b = [0u8; 1];
        match conn.read(&mut b) {
            Ok(1) => Some(b[0]),
            _ => None,
        }
    }

    #[test]
    fn new_connections_follow_the_target_and_cut_closes_the_old_ones() {
        let (a, _) = tagged_server(b'a');
        let (b, _) = tagged_server(b'b');
        let proxy = Proxy::start(&a).unwrap();
        let mut first = TcpStream::connect(proxy.addr()).unwrap();
        assert_eq!(ask(&mut first), Some(b'a'));
        proxy.set_target(&b).unwrap();
        let mut second = TcpStream::connect(proxy.addr()).unwrap();
        assert_eq!(ask(&mut second), Some(b'b'));
        assert_eq!(
            ask(&mut first),
            Some(b'a'),
            "an open connection keeps its target"
        );
        assert_eq!(proxy.forwarded_to(&a), 1);
        assert_eq!(proxy.forwarded_to(&b), 1);
        assert_eq!(proxy.open_connections(), 2);
        assert_eq!(proxy.cut(), 2);
        assert_eq!(ask(&mut first), None, "cut");
        assert_eq!(ask(&mut second), None, "cut");
        let mut third = TcpStream::connect(proxy.addr()).unwrap();
        assert_eq!(ask(&mut third), Some(b'b'));
        drop(proxy); // joins every thread, the open connection's too
        assert_eq!(ask(&mut third), None, "closed with the proxy");
    }

    #[test]
    fn an_unreachable_target_closes_the_connection() {
        let port = crate::tansu::free_port().unwrap();
        let proxy = Proxy::start(&format!("127.0.0.1:{port}")).unwrap();
        let mut conn = TcpStream::connect(proxy.addr()).unwrap();
        assert_eq!(ask(&mut conn), None);
        assert_eq!(proxy.forwarded_to(&format!("127.0.0.1:{port}")), 0);
    }
}
