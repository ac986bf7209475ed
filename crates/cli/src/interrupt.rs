//! Ctrl-C: the first one asks the running command to stop reading or sending, flush what it
//! already handed to the producer (for a bounded time) and print its summary; a second one
//! exits at once (see `main`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A one-way "stop" flag that can also be awaited.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interrupt {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    set: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Raises the flag and wakes every waiter; later calls do nothing more.
    pub(crate) fn trigger(&self) {
        self.inner.set.store(true, Ordering::Release);
        self.inner.notify.notify_waiters();
    }

    /// Whether the flag is up. Cheap enough to check once per record.
    pub(crate) fn is_set(&self) -> bool {
        self.inner.set.load(Ordering::Acquire)
    }

    /// Resolves once the flag is up (at once if it already is).
    pub(crate) async fn wait(&self) {
        loop {
            // Registered before the check, so a trigger in between is not missed.
            let notified = self.inner.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_on_trigger_and_late_waiters_return_at_once() {
        let stop = Interrupt::new();
        assert!(!stop.is_set());
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.wait().await }
        });
        tokio::task::yield_now().await;
        stop.trigger();
        waiter.await.unwrap();
        assert!(stop.is_set());
        stop.wait().await;
    }
}
