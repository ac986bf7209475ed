//! Waiting on conditions, never on the clock: every wait is bounded by a timeout whose failure
//! names what was awaited, and "it returned at once" is checked as "it was ready on its first
//! poll", which no load on the machine can change.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Polls `fut` once and returns its output; panics, naming `what`, if it was not ready.
///
/// For calls that must answer without waiting for anything (a state error found before any
/// request is made, a delivery resolved by the `close` that just returned): readiness on the
/// first poll is that property, checked without reading a clock.
///
/// # Panics
/// If `fut` is not ready on its first poll.
pub fn ready_now<F: Future>(what: &str, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("{what}: not ready at once (it waited for something)"),
    }
}

/// Polls `fut` once: its output if it is ready, `None` if not (it is left as it was, to be
/// polled or awaited again).
pub fn poll_now<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    match Pin::new(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Checks `cond` every few milliseconds until it holds; panics, naming `what`, if it still does
/// not after `timeout`.
///
/// # Panics
/// If `cond` does not hold within `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_now_returns_a_ready_output() {
        assert_eq!(ready_now("ready", async { 7 }), 7);
    }

    #[test]
    #[should_panic(expected = "pending thing: not ready at once")]
    fn ready_now_names_what_was_pending() {
        ready_now("pending thing", std::future::pending::<()>());
    }

    #[test]
    fn poll_now_leaves_a_pending_future_to_poll_again() {
        let mut pending = std::future::pending::<()>();
        assert!(poll_now(&mut pending).is_none());
        assert!(poll_now(&mut pending).is_none());
        assert_eq!(poll_now(&mut std::future::ready(3)), Some(3));
    }

    #[test]
    fn wait_until_returns_once_the_condition_holds() {
        let mut calls = 0;
        wait_until("the third call", Duration::from_secs(60), || {
            calls += 1;
            calls == 3
        });
        assert_eq!(calls, 3);
    }

    #[test]
    #[should_panic(expected = "waiting for a condition that never holds")]
    fn wait_until_names_what_it_waited_for() {
        wait_until(
            "a condition that never holds",
            Duration::from_millis(20),
            || false,
        );
    }
}
