//! What the async clients (ferrokafka and the pure-Rust peers) share: a delivery future stamped
//! with its send time, the tally of delivery results, and pacing to `--throughput`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::{Latencies, Outcome, Pacer, Params, PartitionSet};

/// A delivery future and, in latency runs, when its record was handed to `send`.
#[derive(Debug)]
pub struct Timed<F> {
    inner: F,
    sent: Option<Instant>,
}

impl<F> Timed<F> {
    pub fn new(inner: F, sent: Option<Instant>) -> Timed<F> {
        Timed { inner, sent }
    }
}

impl<F: Future + Unpin> Future for Timed<F> {
    /// The delivery result and, in latency runs, the latency.
    type Output = (F::Output, Option<Duration>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll(cx) {
            Poll::Ready(out) => Poll::Ready((out, this.sent.map(|t| t.elapsed()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The delivery results so far.
#[derive(Debug)]
pub struct Tally {
    pub outcome: Outcome,
    /// The partitions of the current transaction (transactional runs only).
    pub partitions: Option<PartitionSet>,
}

impl Tally {
    pub fn new(p: &Params) -> Tally {
        Tally {
            outcome: Outcome {
                latencies: p.throughput.map(|_| Latencies::default()),
                ..Outcome::default()
            },
            partitions: p.transaction_size.map(|_| PartitionSet::default()),
        }
    }

    /// One delivery: the partition it went to, or its error.
    pub fn settle<E: std::fmt::Display>(
        &mut self,
        result: Result<i32, E>,
        latency: Option<Duration>,
    ) {
        match result {
            Ok(partition) => {
                self.outcome.delivered += 1;
                if let Some(set) = &mut self.partitions {
                    set.insert(partition);
                }
                if let (Some(l), Some(d)) = (&mut self.outcome.latencies, latency) {
                    l.record(d);
                }
            }
            Err(e) => {
                self.outcome.failures += 1;
                if self.outcome.first_error.is_none() {
                    self.outcome.first_error = Some(e.to_string());
                }
            }
        }
    }
}

/// In latency runs, waits until record `i` is due and returns its send time (`None` in other
/// runs, at once). While it waits it settles the deliveries that complete, so that each one's
/// latency is taken when it completes, not when the sender next looks.
pub async fn pace<F: Future + Unpin>(
    pacer: Option<&Pacer>,
    i: u64,
    pending: &mut FuturesUnordered<Timed<F>>,
    mut settle: impl FnMut(F::Output, Option<Duration>),
) -> Option<Instant> {
    let pacer = pacer?;
    if let Some(wait) = pacer.wait(i, Instant::now()) {
        let due = tokio::time::sleep(wait);
        tokio::pin!(due);
        loop {
            tokio::select! {
                () = &mut due => break,
                Some((result, latency)) = pending.next(), if !pending.is_empty() => {
                    settle(result, latency);
                }
            }
        }
    }
    // The first second's records are sent on time but not timed (start-up, see LATENCY_WARMUP).
    pacer.counted(i).then(Instant::now)
}

/// The pacer of a run with `--throughput`, starting now.
pub fn pacer(p: &Params) -> Option<Pacer> {
    p.throughput.map(|rate| Pacer::new(Instant::now(), rate))
}
