//! A precise wake-up for the driver's near deadlines.
//!
//! tokio's timers fire on whole milliseconds of its clock and a sleep ends at the first tick at
//! or after its deadline, so the driver woke for a batch's `linger.ms` about a millisecond late
//! on average (the mean queue time of 5 ms lingering batches was 5.1 ms, with `linger_slack`
//! already taking 1 ms off). The alarm is a thread of the producer's own that sleeps on a
//! condition variable until the deadline (the operating system's timers, microseconds) and then
//! wakes the driver, as a send does. The driver's tokio sleep stays as it was: the alarm only
//! ever makes it wake sooner, never later, and a paused test clock still drives everything.
//!
//! It fires once per deadline it is given. Arming costs a lock, and a wake-up of the thread
//! only when the new deadline is sooner than the one it sleeps towards.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Deadlines further away than this are left to tokio's timer: a millisecond late does not
/// matter to them (request and metadata timeouts, backoffs of seconds).
const HORIZON: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Wanted {
    /// When to wake the driver, in the thread's clock (`std::time::Instant`); `None`: not armed.
    at: Option<Instant>,
    stop: bool,
}

struct Inner {
    wanted: Mutex<Wanted>,
    changed: Condvar,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Wanted> {
        self.wanted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The driver's handle: arms the alarm; dropping it ends the thread.
pub(crate) struct Alarm {
    inner: Arc<Inner>,
    /// The engine deadline last armed (each is armed once, so it fires once).
    armed: Option<Instant>,
    /// The thread (detached; the tests watch it end).
    #[cfg_attr(not(test), allow(dead_code))]
    thread: std::thread::JoinHandle<()>,
}

impl Alarm {
    /// Starts the alarm's thread, which calls `wake` at each armed instant and ends when
    /// `wake` returns false (what it wakes is gone) or the alarm is dropped. `None` if the
    /// thread cannot be started (the driver then relies on tokio's timer alone).
    pub(crate) fn start(wake: impl Fn() -> bool + Send + 'static) -> Option<Self> {
        let inner = Arc::new(Inner {
            wanted: Mutex::new(Wanted::default()),
            changed: Condvar::new(),
        });
        let thread_inner = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("ferrokafka-alarm".to_owned())
            .spawn(move || ring(&thread_inner, &wake))
            .ok()?;
        Some(Alarm {
            inner,
            armed: None,
            thread,
        })
    }

    /// Wakes the driver at `deadline` (the engine's, `now` being the engine's time), if it is a
    /// new deadline within the horizon. A deadline already armed is not armed again.
    pub(crate) fn arm(&mut self, deadline: Option<Instant>, now: Instant) {
        let Some(deadline) = deadline else {
            return;
        };
        if self.armed == Some(deadline) {
            return;
        }
        let Some(remaining) = deadline.checked_duration_since(now) else {
            return;
        };
        if remaining.is_zero() || remaining > HORIZON {
            return;
        }
        self.armed = Some(deadline);
        // The engine's clock may be a paused test clock: the alarm counts the time remaining.
        let at = Instant::now() + remaining;
        let mut wanted = self.inner.lock();
        // The thread wakes if it sleeps towards a later instant; towards a sooner one it finds
        // the new instant when it wakes and sleeps on.
        let sooner = wanted.at.is_none_or(|w| at < w);
        wanted.at = Some(at);
        drop(wanted);
        if sooner {
            self.inner.changed.notify_one();
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.inner.lock().stop = true;
        self.inner.changed.notify_one();
    }
}

/// The alarm thread: waits for the armed instant, wakes the driver, and waits to be armed
/// again, until stopped or the driver is gone.
fn ring(inner: &Inner, wake: &dyn Fn() -> bool) {
    let mut wanted = inner.lock();
    loop {
        if wanted.stop {
            return;
        }
        let Some(at) = wanted.at else {
            wanted = inner
                .changed
                .wait(wanted)
                .unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        let now = Instant::now();
        if now < at {
            wanted = inner
                .changed
                .wait_timeout(wanted, at - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            continue;
        }
        wanted.at = None;
        drop(wanted);
        if !wake() {
            return;
        }
        wanted = inner.lock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An alarm that counts its wake-ups.
    fn counting() -> (Alarm, Arc<AtomicUsize>) {
        let rang = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&rang);
        let alarm = Alarm::start(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            true
        })
        .expect("thread started");
        (alarm, rang)
    }

    /// Waits (bounded) until `done` holds.
    fn wait_for(what: &str, done: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if done() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("never: {what}");
    }

    #[test]
    fn an_armed_deadline_wakes_once_and_a_new_one_wakes_again() {
        let (mut alarm, rang) = counting();
        let now = Instant::now();
        let deadline = now + Duration::from_millis(20);
        alarm.arm(Some(deadline), now);
        assert!(alarm.inner.lock().at.is_some());
        wait_for("the first wake-up", || rang.load(Ordering::SeqCst) == 1);
        assert!(alarm.inner.lock().at.is_none());
        // The same deadline again is not armed again (armed, it would wait 20 ms more).
        alarm.arm(Some(deadline), now);
        assert!(alarm.inner.lock().at.is_none());
        let later = Instant::now();
        alarm.arm(Some(later + Duration::from_millis(1)), later);
        wait_for("the second wake-up", || rang.load(Ordering::SeqCst) == 2);
    }

    #[test]
    fn far_past_and_absent_deadlines_are_left_to_tokio() {
        let (mut alarm, _rang) = counting();
        let now = Instant::now();
        alarm.arm(None, now);
        alarm.arm(Some(now + HORIZON + Duration::from_millis(1)), now);
        alarm.arm(Some(now), now);
        alarm.arm(now.checked_sub(Duration::from_millis(1)), now);
        assert!(alarm.inner.lock().at.is_none());
        assert_eq!(alarm.armed, None);
    }

    #[test]
    fn a_sooner_deadline_replaces_a_later_one() {
        let (mut alarm, rang) = counting();
        let now = Instant::now();
        alarm.arm(Some(now + Duration::from_millis(40)), now);
        alarm.arm(Some(now + Duration::from_millis(1)), now);
        // The thread sleeps towards the sooner instant and rings once for it.
        wait_for("the wake-up", || rang.load(Ordering::SeqCst) == 1);
        assert!(
            alarm.inner.lock().at.is_none(),
            "the later deadline was replaced"
        );
    }

    #[test]
    fn dropping_the_alarm_or_losing_the_driver_ends_the_thread() {
        let (alarm, _rang) = counting();
        let inner = Arc::clone(&alarm.inner);
        drop(alarm);
        // The thread's own reference goes when it returns.
        wait_for("the thread to end on drop", || {
            Arc::strong_count(&inner) == 1
        });

        let mut gone = Alarm::start(|| false).expect("thread started");
        let now = Instant::now();
        gone.arm(Some(now + Duration::from_millis(1)), now);
        wait_for("the thread to end", || gone.thread.is_finished());
    }
}
