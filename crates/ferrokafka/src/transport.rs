//! Where the producer's connections come from: the [`Transport`] seam.
//!
//! The producer opens one connection per broker it talks to (the bootstrap servers first, then
//! the addresses brokers advertise in Metadata) by asking its transport for a byte stream to
//! `host:port`. The default, [`TcpTransport`], dials TCP. TLS (`security.protocol` `SSL` or
//! `SASL_SSL`), SASL and the Kafka protocol all run on top of whatever stream the transport
//! returns, so a transport supplies bytes only.
//!
//! Tests can supply their own with [`ProducerConfigBuilder::transport`]: in-memory connections
//! (`tokio::io::duplex`) to a fake cluster keep every byte inside the tokio runtime, so a
//! `#[tokio::test(start_paused = true)]` runs the producer on simulated time — the producer
//! reads tokio's clock, not the system's — and `linger.ms`, `max.block.ms`,
//! `request.timeout.ms` or `delivery.timeout.ms` pass instantly and deterministically.
//! (`ferrokafka-fake` with its `server` feature provides such a transport:
//! `FakeServer::in_memory(..).transport()`.)
//!
//! Any `Fn(String, u16) -> impl Future<Output = io::Result<S>>` is a transport, `S` being a
//! tokio stream (`AsyncRead + AsyncWrite + Send + Unpin`):
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use ferrokafka::ProducerConfig;
//! use ferrokafka::transport::{TcpTransport, Transport};
//!
//! // TCP, counting the connections opened.
//! let opened = Arc::new(AtomicUsize::new(0));
//! let counter = opened.clone();
//! let config = ProducerConfig::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .transport(move |host: String, port: u16| {
//!         counter.fetch_add(1, Ordering::SeqCst);
//!         async move { TcpTransport.connect(&host, port).await }
//!     })
//!     .build()?;
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

#[cfg(doc)]
use crate::ProducerConfigBuilder;

/// A byte stream to a broker: anything tokio can read from and write to.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {}

/// A connection as a transport returns it.
pub type BoxConnection = Box<dyn Connection>;

/// The future returned by [`Transport::connect`].
pub type ConnectFuture<'a> = Pin<Box<dyn Future<Output = io::Result<BoxConnection>> + Send + 'a>>;

/// Opens the producer's connections (set with [`ProducerConfigBuilder::transport`]; the default
/// is [`TcpTransport`]). Called on the producer's I/O task, once per connection attempt; it
/// must not block. An error counts as a failed connection attempt (retried after
/// `reconnect.backoff.ms`), and `socket.connection.setup.timeout.ms` bounds an attempt that
/// never completes.
pub trait Transport: Send + Sync + 'static {
    /// A connection to `host:port` (a bootstrap server or an address a broker advertises).
    fn connect<'a>(&'a self, host: &'a str, port: u16) -> ConnectFuture<'a>;
}

/// The default transport: TCP, with `TCP_NODELAY` (requests are written whole; Nagle's
/// algorithm would only delay them).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpTransport;

impl Transport for TcpTransport {
    /// Resolves `host` on every connection attempt (so a DNS name in `bootstrap.servers` or
    /// an advertised listener that moves to another address is followed), then tries every
    /// address it resolves to, in order, until one accepts (`client.dns.lookup=use_all_dns_ips`,
    /// the Java default).
    fn connect<'a>(&'a self, host: &'a str, port: u16) -> ConnectFuture<'a> {
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("resolving {host}: {e}")))?
                .collect();
            let stream = connect_first(&addrs)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("{host}:{port} ({e})")))?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream) as BoxConnection)
        })
    }
}

/// Connects to the first of `addrs` that accepts; the error lists every address and why it
/// failed.
async fn connect_first(addrs: &[std::net::SocketAddr]) -> io::Result<tokio::net::TcpStream> {
    let mut failures = Vec::new();
    let mut kind = io::ErrorKind::NotFound;
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                kind = e.kind();
                failures.push(format!("{addr}: {e}"));
            }
        }
    }
    Err(io::Error::new(
        kind,
        if failures.is_empty() {
            "the name resolved to no address".to_owned()
        } else {
            format!("no address accepted: {}", failures.join("; "))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_resolved_address_is_tried_in_order() {
        // A port nothing listens on (bound, then released), then one that accepts.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open_addr = open.local_addr().unwrap();
        let stream = connect_first(&[closed, open_addr])
            .await
            .expect("the second address");
        assert_eq!(stream.peer_addr().unwrap(), open_addr);

        let e = connect_first(&[closed]).await.unwrap_err();
        assert!(e.to_string().contains(&closed.to_string()), "{e}");
        let e = connect_first(&[]).await.unwrap_err();
        assert!(e.to_string().contains("no address"), "{e}");
    }

    #[tokio::test]
    async fn a_name_is_resolved_on_every_connection_and_its_errors_name_it() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = open.local_addr().unwrap().port();
        let accepted = tokio::spawn(async move {
            for _ in 0..2 {
                let _ = open.accept().await.unwrap();
            }
        });
        for _ in 0..2 {
            TcpTransport
                .connect("localhost", port)
                .await
                .expect("localhost");
        }
        accepted.await.unwrap();
        let Err(e) = TcpTransport.connect("no-such-host.invalid", 9092).await else {
            panic!("an .invalid name resolves to nothing");
        };
        assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
    }
}

impl<F, Fut, S> Transport for F
where
    F: Fn(String, u16) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<S>> + Send + 'static,
    S: Connection,
{
    fn connect<'a>(&'a self, host: &'a str, port: u16) -> ConnectFuture<'a> {
        let connecting = self(host.to_owned(), port);
        Box::pin(async move { Ok(Box::new(connecting.await?) as BoxConnection) })
    }
}

/// The transport a configuration chose: `None` for TCP. Compared by identity.
#[derive(Clone, Default)]
pub(crate) struct TransportChoice(pub(crate) Option<Arc<dyn Transport>>);

impl TransportChoice {
    /// The transport to use.
    pub(crate) fn resolve(&self) -> Arc<dyn Transport> {
        self.0
            .clone()
            .unwrap_or_else(|| Arc::new(TcpTransport) as Arc<dyn Transport>)
    }
}

impl fmt::Debug for TransportChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Custom" } else { "Tcp" })
    }
}

impl PartialEq for TransportChoice {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
