//! Transcript tests with a simulated clock. They live outside `src/` because they read the clock
//! once for a base `Instant`, which the sans-IO check forbids in library sources.

mod drain;
mod expiry;
mod linger;
mod memory;
mod retry;
mod slots;
mod split;
mod util;
