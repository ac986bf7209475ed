//! What the producer handles and the driver task share: the engine and the delivery slots
//! behind one lock, the notifications between them, and how engine events reach the slots.

#[allow(clippy::wildcard_imports)]
use super::*;

/// State shared by the producer handles, the driver task and nothing else.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// Wakes the driver: a batch became ready, a flush or close started.
    pub(crate) wake_driver: Notify,
    /// Signalled by the driver after every pump: sends waiting for metadata or memory, flushes
    /// and closes re-check their condition.
    pub(crate) progress: Notify,
    /// Set once the driver must finish (closed and drained, or aborted).
    pub(crate) shutdown: AtomicBool,
    /// Set when the last `Producer` handle is dropped.
    pub(crate) handles_dropped: AtomicBool,
    /// TLS for every connection (`security.protocol` `SSL` or `SASL_SSL`).
    pub(crate) tls: Option<tokio_rustls::TlsConnector>,
    /// Opens the connections (TCP unless the configuration names another transport).
    pub(crate) transport: Arc<dyn crate::transport::Transport>,
    /// Where OAUTHBEARER tokens come from (the built-in OIDC provider made ready).
    pub(crate) oauth: Option<crate::config::TokenSource>,
    pub(crate) config: ProducerConfig,
    /// What the facade and the driver measure for the metrics (the engine counts the rest).
    pub(crate) measured: crate::metrics::Measured,
}

pub(crate) struct State {
    pub(crate) engine: Engine,
    /// Looked up on every send: a fast hasher, seeded per producer.
    pub(crate) slots: foldhash::HashMap<BatchId, SlotEntry>,
    pub(crate) metrics: MetricsState,
    /// The last connection failure, to explain a metadata timeout.
    pub(crate) driver_gone: bool,
    /// Callers awaiting a transactional call's outcome.
    pub(crate) txn_waiters: HashMap<TxnCall, Vec<oneshot::Sender<Result<(), TxnFailure>>>>,
    /// Record timestamps.
    pub(crate) wall: WallClock,
    /// Finished batches' slots and reported lists, for new batches.
    pub(crate) spares: Spares,
}

/// Record timestamps (wall-clock milliseconds since the epoch) from the monotonic reading a
/// send takes anyway: the wall clock is read at most once per millisecond of the monotonic
/// one, and the time since added. Java reads `System.currentTimeMillis()` for every record;
/// these timestamps are the wall clock's within the two clocks' drift over a millisecond
/// (well under one), and a step of the wall clock shows within a millisecond.
#[derive(Debug, Default)]
pub(crate) struct WallClock {
    /// The last reading of the wall clock.
    base: Option<WallReading>,
}

/// One reading of the wall clock, with the two monotonic instants that decide what it says
/// until the next: comparing instants is all a record's timestamp then costs.
#[derive(Debug, Clone, Copy)]
struct WallReading {
    /// The monotonic instant of the reading.
    at: Instant,
    /// The wall clock's milliseconds since the epoch at `at`.
    ms: i64,
    /// When the wall clock reaches `ms + 1`, on the monotonic clock.
    tick: Instant,
    /// When the reading stops serving (`at` + [`WallClock::SERVES`], at most a millisecond
    /// after `tick`).
    until: Instant,
}

impl WallClock {
    /// How long a reading of the wall clock serves (at most a millisecond: see `until`).
    const SERVES: Duration = Duration::from_millis(1);

    /// The wall-clock milliseconds at the monotonic instant `now`. Inline, with the reading
    /// out of line: a call costs more than the comparisons that nearly always answer.
    #[inline]
    pub(crate) fn ms_at(&mut self, now: Instant) -> i64 {
        match self.base {
            Some(r) if now >= r.at && now < r.until => {
                if now < r.tick {
                    r.ms
                } else {
                    r.ms.saturating_add(1)
                }
            }
            _ => self.read(now),
        }
    }

    #[cold]
    #[inline(never)]
    fn read(&mut self, now: Instant) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.read_as(now, wall)
    }

    /// Takes `wall` (since the epoch) as the wall clock's reading at `now`; its milliseconds.
    fn read_as(&mut self, now: Instant, wall: Duration) -> i64 {
        let ms = i64::try_from(wall.as_millis()).unwrap_or(i64::MAX);
        let to_tick = 1_000_000 - wall.subsec_nanos() % 1_000_000;
        let after = |d: Duration| now.checked_add(d).unwrap_or(now);
        self.base = Some(WallReading {
            at: now,
            ms,
            tick: after(Duration::from_nanos(u64::from(to_tick))),
            until: after(Self::SERVES),
        });
        ms
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Applies engine events to the slots; returns the slots to complete outside the lock.
    pub(crate) fn take_events(&mut self, out: &mut Vec<SlotAction>) {
        while let Some(event) = self.engine.poll_event() {
            match event {
                Event::Delivered {
                    batch,
                    base_offset,
                    log_append_time,
                    ..
                } => {
                    if let Some(entry) = self.slots.remove(&batch) {
                        out.push(SlotAction::Complete(
                            entry,
                            BatchOutcome::Delivered {
                                base_offset,
                                log_append_time,
                            },
                        ));
                    }
                }
                Event::Failed { batch, error, .. } => {
                    if let Some(entry) = self.slots.remove(&batch) {
                        out.push(SlotAction::Complete(
                            entry,
                            BatchOutcome::Failed(ProduceError::delivery(error)),
                        ));
                    }
                }
                Event::Split(outcome) => {
                    if let Some(entry) = self.slots.remove(&outcome.original) {
                        let mut slots = Vec::with_capacity(outcome.parts.len());
                        for p in &outcome.parts {
                            let part =
                                BatchSlot::new(entry.slot.topic().clone(), entry.slot.partition());
                            self.slots.insert(p.batch, SlotEntry::new(part.clone()));
                            slots.push(part);
                        }
                        let parts = Arc::new(SplitParts { outcome, slots });
                        out.push(SlotAction::Split(entry, parts));
                    }
                }
                Event::Transaction { call, result } => {
                    for waiter in self.txn_waiters.remove(&call).unwrap_or_default() {
                        let _ = waiter.send(result.clone());
                    }
                }
                _ => {}
            }
        }
    }

    /// Fails every waiting slot (the driver is gone).
    pub(crate) fn fail_all_slots(&mut self, out: &mut Vec<SlotAction>) {
        // Dropping the senders ends waiting transactional calls with `Closed`.
        self.txn_waiters.clear();
        self.engine.abort();
        self.take_events(out);
        for (_, entry) in self.slots.drain() {
            out.push(SlotAction::Complete(
                entry,
                BatchOutcome::Failed(ProduceError::delivery(
                    ferrokafka_engine::DeliveryError::Aborted,
                )),
            ));
        }
    }
}

/// What a batch's slot is told once the producer's lock is released (each action holds the
/// batch's [`SlotEntry`], taken out of the state, with the records it listed).
pub(crate) enum SlotAction {
    Complete(SlotEntry, BatchOutcome),
    Split(SlotEntry, Arc<SplitParts>),
}

/// Tells the slots of `actions` their batches' outcomes (emptying `actions`); the slots and
/// reported lists that are free afterwards go to `spares`.
pub(crate) fn apply_slot_actions(actions: &mut Vec<SlotAction>, spares: &mut Spares) {
    for action in actions.drain(..) {
        match action {
            SlotAction::Complete(entry, outcome) => entry.complete(outcome, spares),
            SlotAction::Split(entry, parts) => entry.slot.split(parts, entry.reported),
        }
    }
}

#[cfg(test)]
mod wall_clock_tests {
    use super::*;

    fn ms(d: Duration) -> i64 {
        i64::try_from(d.as_millis()).unwrap()
    }

    #[test]
    fn the_wall_clock_is_read_once_per_millisecond_and_the_rest_derived() {
        let mut clock = WallClock::default();
        let t = Instant::now();
        let first = clock.ms_at(t);
        let r = clock.base.expect("read");
        assert_eq!((r.at, r.ms), (t, first));
        let _ = clock.ms_at(t + Duration::from_micros(700));
        assert_eq!(clock.base.map(|b| b.at), Some(t), "not read again");
        // A millisecond on, or an instant before the reading: read again.
        let _ = clock.ms_at(t + Duration::from_millis(1));
        assert_eq!(clock.base.map(|b| b.at), Some(t + Duration::from_millis(1)));
        let _ = clock.ms_at(t);
        assert_eq!(clock.base.map(|b| b.at), Some(t));
    }

    /// Within what a reading serves, a timestamp is the reading plus the monotonic time since,
    /// in whole milliseconds: the same as adding the durations and truncating.
    #[test]
    fn a_derived_timestamp_is_the_reading_plus_the_time_since_truncated() {
        let t = Instant::now();
        for wall_us in [
            1_700_000_000_123_000u64,
            1_700_000_000_123_400,
            1_700_000_000_123_999,
        ] {
            let wall = Duration::from_micros(wall_us);
            for since_ns in [0u64, 1, 599_999, 600_000, 600_001, 999_999] {
                let mut clock = WallClock::default();
                clock.read_as(t, wall);
                let since = Duration::from_nanos(since_ns);
                assert_eq!(
                    clock.ms_at(t + since),
                    ms(wall + since),
                    "wall {wall_us} us, {since_ns} ns later"
                );
                assert_eq!(clock.base.map(|b| b.at), Some(t), "served from the reading");
            }
        }
    }

    #[test]
    fn derived_timestamps_agree_with_the_wall_clock() {
        let mut clock = WallClock::default();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let got = clock.ms_at(Instant::now());
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!((ms(before)..=ms(after)).contains(&got), "{got}");
    }
}
