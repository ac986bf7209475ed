//! Pipelined sending: deliveries stay in a bounded queue of futures that is drained
//! while the next record is read, throttled or handed to the producer.

use std::future::Future;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

/// Awaits `fut`, handing every delivery that completes meanwhile to `on_done`.
/// Completions are drained first so their timestamps stay close to the real ones.
pub(crate) async fn drain_while<F, D>(
    fut: F,
    inflight: &mut FuturesUnordered<D>,
    mut on_done: impl FnMut(D::Output),
) -> F::Output
where
    F: Future,
    D: Future,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        tokio::select! {
            biased;
            Some(done) = inflight.next(), if !inflight.is_empty() => on_done(done),
            out = &mut fut => return out,
        }
    }
}

/// Waits for every outstanding delivery.
pub(crate) async fn drain_all<D: Future>(
    inflight: &mut FuturesUnordered<D>,
    mut on_done: impl FnMut(D::Output),
) {
    while let Some(done) = inflight.next().await {
        on_done(done);
    }
}
