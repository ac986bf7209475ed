//! Test data the live suites share: numbered record values that name their send index, and a
//! small deterministic generator.

/// The value of record `i`: `v-` and the index on six digits (`v-000042`).
#[must_use]
pub fn value(i: usize) -> String {
    format!("v-{i:06}")
}

/// Which record (by send index) a [`value`] names; `None` for any other value.
#[must_use]
pub fn index_of(value: Option<&[u8]>) -> Option<usize> {
    std::str::from_utf8(value?)
        .ok()?
        .strip_prefix("v-")?
        .parse()
        .ok()
}

/// SplitMix64: deterministic test data without a `rand` dependency.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    #[allow(clippy::cast_possible_truncation, reason = "test sizes fit usize")]
    pub fn below(&mut self, n: u64) -> usize {
        (self.next_u64() % n) as usize
    }

    /// `len` pseudo-random bytes.
    #[allow(clippy::cast_possible_truncation, reason = "the low byte is the point")]
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_names_its_index() {
        assert_eq!(value(42), "v-000042");
        assert_eq!(index_of(Some(value(42).as_bytes())), Some(42));
        assert_eq!(index_of(Some(b"other")), None);
        assert_eq!(index_of(None), None);
    }

    #[test]
    fn the_generator_is_deterministic() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        assert_eq!(a.bytes(16), b.bytes(16));
        assert!(a.below(10) < 10);
    }
}
