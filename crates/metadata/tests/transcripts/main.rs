//! Transcript tests with simulated time. They live outside `src/` because they
//! read the clock once for a base `Instant`, which the sans-IO check forbids
//! in library sources.

mod cluster;
mod policy;
mod util;
