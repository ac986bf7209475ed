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
    fn connect<'a>(&'a self, host: &'a str, port: u16) -> ConnectFuture<'a> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect((host, port)).await?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream) as BoxConnection)
        })
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
