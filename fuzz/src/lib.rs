//! Fuzz entry points for every ferrokafka decoder.
//!
//! Each `fuzz_targets/<name>.rs` binary is a one-line call into a function listed
//! here, and `tests/replay.rs` runs every file of `corpus/<name>/` through the same
//! function, so the committed corpora are regression tests on stable Rust.
//! A target must never panic, whatever the input: decoders return errors.

pub mod fake;
pub mod records;
pub mod sasl;
pub mod wire;

/// A named fuzz entry point.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target: wire, records and SASL.
pub fn all_targets() -> impl Iterator<Item = &'static Target> {
    wire::TARGETS
        .iter()
        .chain(records::TARGETS.iter())
        .chain(sasl::TARGETS.iter())
        .chain(fake::TARGETS.iter())
}
