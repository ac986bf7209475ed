//! The `buffer.memory` budget (Java `BufferPool`'s accounting).
//!
//! The accounting is kept here; the accumulator keeps free batch buffers for reuse on its own
//! (`RecordAccumulator::keep_buffer`: 2 MiB, or 8 MiB in a few large buffers, and only half of
//! what batches leave of this budget; kept buffers hold no reservation). A new batch reserves
//! `max(batch.size, record upper bound)` bytes, and the reservation is
//! returned when the batch completes, fails, expires or is aborted. The crate never blocks: a
//! reservation that does not fit is refused, and the refusal is remembered as "someone is
//! waiting" (Java's `BufferPool.queued() > 0`), which makes every partition ready so that
//! draining frees memory sooner.

/// Byte accounting for `buffer.memory`.
#[derive(Debug, Clone)]
pub(crate) struct MemoryBudget {
    total: usize,
    used: usize,
    /// An append was refused and has not seen a release since (Java: `exhausted`).
    waiting: bool,
    /// Some memory was released since the last `take_freed` (the "memory freed" signal).
    freed: bool,
}

impl MemoryBudget {
    pub(crate) fn new(total: usize) -> Self {
        MemoryBudget {
            total,
            used: 0,
            waiting: false,
            freed: false,
        }
    }

    pub(crate) fn total(&self) -> usize {
        self.total
    }

    pub(crate) fn used(&self) -> usize {
        self.used
    }

    pub(crate) fn available(&self) -> usize {
        self.total.saturating_sub(self.used)
    }

    /// Reserves `n` bytes, or records a waiter and refuses.
    pub(crate) fn try_reserve(&mut self, n: usize) -> bool {
        if n <= self.available() {
            self.used += n;
            true
        } else {
            self.waiting = true;
            false
        }
    }

    pub(crate) fn release(&mut self, n: usize) {
        debug_assert!(n <= self.used, "released more than reserved");
        self.used = self.used.saturating_sub(n);
        if n > 0 {
            // The waiter will retry; if memory is still short it registers again.
            self.waiting = false;
            self.freed = true;
        }
    }

    /// A reservation that failed was followed by a smaller one that succeeded: nobody waits.
    pub(crate) fn clear_waiting(&mut self) {
        self.waiting = false;
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.waiting
    }

    pub(crate) fn take_freed(&mut self) -> bool {
        std::mem::take(&mut self.freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_refuse_release() {
        let mut m = MemoryBudget::new(100);
        assert!(m.try_reserve(60));
        assert!(!m.try_reserve(41));
        assert!(m.exhausted());
        assert!(!m.take_freed());
        m.release(60);
        assert!(!m.exhausted());
        assert!(m.take_freed());
        assert!(!m.take_freed());
        assert!(m.try_reserve(100));
        assert_eq!(m.available(), 0);
    }
}
