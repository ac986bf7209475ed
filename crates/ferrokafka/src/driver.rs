//! The tokio driver: pumps the engine, owns the connections.
//!
//! One task runs [`run`]: it feeds connection input to the engine, performs the engine's I/O
//! requests, completes delivery futures, and sleeps until input arrives, a send wakes it or
//! the engine's timer fires. Connections come from the configured
//! [`Transport`](crate::transport::Transport) (TCP by default), with TLS on top when
//! configured. Each connection has a reader task (frames → the driver) and a writer task
//! (frames from the driver → the connection), so the driver itself never blocks on one.
//!
//! Time is tokio's clock ([`crate::producer::clock_now`]), so a paused test clock drives the
//! engine's timers too.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::BytesMut;
use ferrokafka_engine::{ConnId, Frames, Io};
use ferrokafka_wire::ApiKey;
use ferrokafka_wire::frame::{
    DEFAULT_MAX_FRAME_SIZE, EarlyAnswer, FrameCodec, FrameError, RequestIds,
    response_correlation_id,
};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_util::codec::FramedRead;

use crate::producer::{Shared, apply_slot_actions};
use crate::record::Spares;
use crate::transport::BoxConnection;

mod alarm;

/// What the socket tasks tell the driver.
enum Input {
    Connected(ConnId, ConnHandle),
    ConnectFailed(ConnId, String),
    /// A frame, and its decoding if the reader made it (a Produce answer).
    Frame(ConnId, BytesMut, Option<Box<EarlyAnswer>>),
    /// One `Io::Send` was written completely.
    Written(ConnId),
    /// The connection ended, and what the socket tasks saw.
    Closed(ConnId, String),
    /// The TLS handshake failed, or the broker refused it with an alert.
    TlsFailed(ConnId, String),
    /// A new OAUTHBEARER token, or why the provider could not give one.
    Token(Result<crate::OAuthBearerToken, String>),
}

/// The TLS problem inside an I/O error, if it is one (an alert from the broker, say).
fn tls_cause(e: &std::io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(ToString::to_string)
}

struct ConnHandle {
    writer: mpsc::UnboundedSender<Frames>,
    reader: AbortHandle,
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        // Dropping `writer` ends the writer task, which closes the write half.
        self.reader.abort();
    }
}

/// Fails every future still waiting when the driver ends, whether it returns or its runtime
/// drops it.
struct Guard(Arc<Shared>);

impl Drop for Guard {
    fn drop(&mut self) {
        let mut actions = Vec::new();
        {
            let mut st = self.0.lock();
            st.driver_gone = true;
            st.fail_all_slots(&mut actions);
        }
        apply_slot_actions(&mut actions, &mut Spares::default());
        self.0.progress.notify_waiters();
    }
}

pub(crate) async fn run(shared: Arc<Shared>) {
    let _guard = Guard(shared.clone());
    // Holds the producer's state only weakly: the alarm's thread never keeps it alive.
    let weak = Arc::downgrade(&shared);
    let mut alarm = alarm::Alarm::start(move || {
        weak.upgrade()
            .map(|shared| shared.wake_driver.notify_one())
            .is_some()
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Input>();
    // OAUTHBEARER: a token now and a fresh one at 80 % of each token's lifetime; the task
    // ends with the driver.
    let _tokens = shared
        .oauth
        .clone()
        .map(|source| AbortOnDrop(tokio::spawn(refresh_tokens(source, tx.clone()))));
    let mut conns: HashMap<ConnId, ConnHandle> = HashMap::new();
    let mut connecting: HashMap<ConnId, AbortHandle> = HashMap::new();
    let mut inputs: Vec<Input> = Vec::new();
    let mut ios: Vec<Io> = Vec::new();
    let mut actions = Vec::new();
    // Finished batches' slots and lists, freed by the last slot actions: handed to the
    // producer's state (for new batches) the next time the lock is held.
    let mut spares = Spares::default();
    // Whether the next pump runs a round whatever the engine says: at start, after an input
    // other than a reported write, when a send, flush or other call woke the driver, and when
    // the engine's timer is due. A reported write makes a round only if it changed the engine
    // (acks=0): with many requests in flight, a round per write was a pass over every
    // partition for nothing.
    let mut round = true;
    loop {
        let busy_from = crate::producer::clock_now();
        while let Ok(input) = rx.try_recv() {
            inputs.push(input);
        }
        let (timeout, finished) = {
            let mut st = shared.lock();
            st.spares.take_from(&mut spares);
            let now = crate::producer::clock_now();
            for input in inputs.drain(..) {
                if !matches!(input, Input::Written(_)) {
                    round = true;
                }
                match input {
                    Input::Connected(conn, handle) => {
                        if connecting.remove(&conn).is_some() {
                            conns.insert(conn, handle);
                            st.engine.handle_connected(conn, now);
                        }
                    }
                    Input::ConnectFailed(conn, error) => {
                        connecting.remove(&conn);
                        st.engine.handle_broken(conn, &error, now);
                    }
                    Input::Frame(conn, frame, early) => {
                        st.engine
                            .handle_frame_with(conn, &frame, early.map(|e| *e), now);
                    }
                    Input::Written(conn) => st.engine.handle_written(conn, now),
                    Input::Closed(conn, reason) => {
                        conns.remove(&conn);
                        st.engine.handle_broken(conn, &reason, now);
                    }
                    Input::TlsFailed(conn, reason) => {
                        connecting.remove(&conn);
                        conns.remove(&conn);
                        st.engine.handle_tls_failed(conn, &reason, now);
                    }
                    Input::Token(Ok(token)) => st.engine.set_oauth_token(token.value, now),
                    Input::Token(Err(e)) => st.engine.set_oauth_token_error(&e, now),
                }
            }
            if st.engine.needs_entropy() {
                // SCRAM client nonces: randomness from the operating system, four at a time.
                let mut bytes = [0u8; 96];
                if getrandom::fill(&mut bytes).is_ok() {
                    st.engine.add_entropy(&bytes);
                }
            }
            // A timer that is due counts even if inputs kept the driver from sleeping.
            let due = st.engine.poll_timeout().is_some_and(|t| t <= now);
            if std::mem::take(&mut round) || due {
                st.engine.handle_timeout(now);
            }
            while let Some(io) = st.engine.poll_io(now) {
                ios.push(io);
            }
            st.take_events(&mut actions);
            // Dropped without close: the writers finish what they were handed (the driver keeps
            // pumping their reports in) before the connections go, as `close` does.
            let finished = shared.shutdown.load(Ordering::SeqCst)
                || (shared.handles_dropped.load(Ordering::SeqCst)
                    && !st.engine.has_incomplete()
                    && !st.engine.has_unwritten());
            (st.engine.poll_timeout(), finished)
        };
        apply_slot_actions(&mut actions, &mut spares);
        shared.progress.notify_waiters();
        for io in ios.drain(..) {
            match io {
                Io::Connect { conn, host, port } => {
                    let task = tokio::spawn(connect(conn, host, port, tx.clone(), shared.clone()));
                    connecting.insert(conn, task.abort_handle());
                }
                Io::Send { conn, data } => {
                    if let Some(h) = conns.get(&conn) {
                        // A closed writer shows up as a Closed input from the reader.
                        let _ = h.writer.send(data);
                    }
                }
                Io::Close { conn } => {
                    conns.remove(&conn);
                    if let Some(task) = connecting.remove(&conn) {
                        task.abort();
                    }
                }
            }
        }
        if finished {
            if !shared.shutdown.load(Ordering::SeqCst) && shared.config.acks == crate::Acks::None {
                // Dropped without close, acks=0: let the broker read the last requests before
                // the connections go, as `close` does.
                tokio::time::sleep(crate::producer::ACKS0_CLOSE_GRACE).await;
            }
            return;
        }
        let sleep = async {
            match timeout {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        let waiting_from = crate::producer::clock_now();
        if let Some(alarm) = alarm.as_mut() {
            alarm.arm(timeout, waiting_from);
        }
        shared.measured.note_io(waiting_from - busy_from);
        tokio::select! {
            input = rx.recv() => {
                if let Some(input) = input {
                    inputs.push(input);
                }
            }
            () = shared.wake_driver.notified() => round = true,
            () = sleep => round = true,
        }
        shared
            .measured
            .note_io_wait(crate::producer::clock_now() - waiting_from);
    }
}

/// Writes `frames` whole: its parts in vectored writes where the connection takes them (a
/// Produce request's record batches go from their own buffers), else as one buffer.
async fn write_frames<W: tokio::io::AsyncWrite + Unpin>(
    write: &mut W,
    frames: Frames,
) -> std::io::Result<()> {
    if frames.parts().len() == 1 || !write.is_write_vectored() {
        return write.write_all(&frames.to_bytes()).await;
    }
    let parts = frames.into_parts();
    let mut slices: Vec<std::io::IoSlice<'_>> =
        parts.iter().map(|p| std::io::IoSlice::new(p)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = write.write_vectored(rest).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        std::io::IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

/// A connection's Produce requests written and not answered yet (their ids, read off the
/// frames the writer writes; oldest first, at most [`Asked::KEPT`]), for the reader to decode
/// their answers as they come. Only a shortcut: an answer the reader decodes for the wrong
/// request, or does not decode, the engine decodes itself.
#[derive(Clone, Default)]
struct Asked(Arc<Mutex<VecDeque<RequestIds>>>);

impl Asked {
    /// Requests remembered, at most (`max.in.flight.requests.per.connection` is usually 5).
    const KEPT: usize = 64;

    /// Notes the Produce requests in `frames`, about to be written.
    fn note(&self, frames: &Frames) {
        let mut asked = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        RequestIds::scan(frames.parts(), |request| {
            if request.api_key == ApiKey::PRODUCE {
                if asked.len() == Self::KEPT {
                    asked.pop_front();
                }
                asked.push_back(request);
            }
        });
    }

    /// The request `frame` answers, by its correlation id, if it is one noted (it and the
    /// requests noted before it are then forgotten: answers come in order).
    fn answered(&self, frame: &[u8]) -> Option<RequestIds> {
        let id = response_correlation_id(frame)?;
        let mut asked = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let at = asked.iter().position(|r| r.correlation_id == id)?;
        asked.drain(..=at).next_back()
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Fetches OAUTHBEARER tokens for the engine: at once, then at 80 % of each token's lifetime;
/// after a failure, again with a growing backoff (1 s to 30 s).
async fn refresh_tokens(source: crate::config::TokenSource, tx: mpsc::UnboundedSender<Input>) {
    use crate::config::TokenSource;
    let mut backoff = std::time::Duration::from_secs(1);
    loop {
        let token = match &source {
            TokenSource::Unsecured {
                principal,
                scope,
                life_seconds,
            } => Ok(crate::oauth::unsecured_jwt(
                principal,
                scope.as_deref(),
                std::time::Duration::from_secs(*life_seconds),
            )),
            TokenSource::Provider(provider) => provider.token().await,
            // Made a provider by `Producer::new` (feature `oidc`); without the feature the
            // configuration is refused before this.
            TokenSource::Oidc { url, .. } => Err(format!(
                "the built-in OIDC provider for {url} needs the `oidc` feature"
            )),
        };
        let wait = if let Ok(t) = &token {
            backoff = std::time::Duration::from_secs(1);
            t.lifetime
                .mul_f64(0.8)
                .max(std::time::Duration::from_secs(1))
        } else {
            let wait = backoff;
            backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
            wait
        };
        if tx.send(Input::Token(token)).is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
    }
}

async fn connect(
    conn: ConnId,
    host: String,
    port: u16,
    tx: mpsc::UnboundedSender<Input>,
    shared: Arc<Shared>,
) {
    let stream = match shared.transport.connect(&host, port).await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Input::ConnectFailed(
                conn,
                format!("connecting failed: {e}"),
            ));
            return;
        }
    };
    let stream: BoxConnection = match &shared.tls {
        None => stream,
        Some(connector) => {
            let name = match crate::tls::server_name(&host) {
                Ok(name) => name,
                Err(e) => {
                    let _ = tx.send(Input::TlsFailed(conn, e));
                    return;
                }
            };
            match connector.connect(name, stream).await {
                Ok(tls) => Box::new(tls),
                Err(e) => {
                    let reason = tls_cause(&e).unwrap_or_else(|| e.to_string());
                    let _ = tx.send(Input::TlsFailed(conn, reason));
                    return;
                }
            }
        }
    };
    let (read, mut write) = tokio::io::split(stream);
    let (wtx, mut wrx) = mpsc::unbounded_channel::<Frames>();
    let reader_tx = tx.clone();
    // The Produce requests written and not answered yet, from their frames: the reader
    // decodes their answers itself, so the driver does not under the producer's lock. (With
    // acks=0 nothing is answered: none are noted.)
    let asked = (shared.config.acks != crate::Acks::None).then(Asked::default);
    let reader_asked = asked.clone();
    let reader = tokio::spawn(async move {
        // tokio-util framing with the wire crate's codec: size-prefixed frames, bounded size.
        let mut frames =
            FramedRead::with_capacity(read, FrameCodec::new(DEFAULT_MAX_FRAME_SIZE), 64 * 1024);
        let reason = loop {
            match frames.next().await {
                Some(Ok(frame)) => {
                    let early = reader_asked
                        .as_ref()
                        .and_then(|a| a.answered(&frame))
                        .and_then(|request| EarlyAnswer::decode(&frame, request))
                        .map(Box::new);
                    if reader_tx.send(Input::Frame(conn, frame, early)).is_err() {
                        return;
                    }
                }
                // A frame over the size limit, or garbage where a size prefix should be.
                Some(Err(FrameError::Decode(e))) => break format!("sent a bad frame: {e}"),
                Some(Err(FrameError::Io(e))) if tls_cause(&e).is_some() => {
                    let reason = tls_cause(&e).unwrap_or_default();
                    let _ = reader_tx.send(Input::TlsFailed(conn, reason));
                    return;
                }
                Some(Err(e)) => break format!("reading failed: {e}"),
                None => break "the broker closed the connection".to_owned(),
            }
        };
        let _ = reader_tx.send(Input::Closed(conn, reason));
    });
    let writer_tx = tx.clone();
    tokio::spawn(async move {
        while let Some(data) = wrx.recv().await {
            // Noted before the bytes go: the answer cannot come first.
            if let Some(asked) = &asked {
                asked.note(&data);
            }
            if let Err(e) = write_frames(&mut write, data).await {
                // What is still queued will never be written.
                wrx.close();
                let _ = writer_tx.send(Input::Closed(conn, format!("writing failed: {e}")));
                return;
            }
            let _ = writer_tx.send(Input::Written(conn));
        }
        let _ = write.shutdown().await;
    });
    let _ = tx.send(Input::Connected(
        conn,
        ConnHandle {
            writer: wtx,
            reader: reader.abort_handle(),
        },
    ));
}
