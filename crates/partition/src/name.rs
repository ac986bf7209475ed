//! Comparing topic names, which the send path does for every record.

/// Whether two topic names are the same. Names of up to 16 bytes (most topic names) are
/// compared as two machine words each, inline; longer ones as slices. A record's topic is
/// checked against the name its producer last used several times per send, and a call into the
/// C library's `memcmp` for each costs more than the comparison itself.
#[inline]
#[must_use]
pub fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        // Two overlapping words cover the name: the first eight bytes and the last eight.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// The eight bytes of `s` from `at`.
#[inline]
fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// The four bytes of `s` from `at`.
#[inline]
fn half(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_ne_bytes(w)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::same_name;

    #[test]
    fn names_of_every_length_up_to_forty_differ_at_every_byte() {
        for len in 0..=40 {
            let name: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            assert!(same_name(&name, &name.clone()), "{name}");
            for at in 0..len {
                let mut other = name.clone().into_bytes();
                other[at] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert!(!same_name(&name, &other), "{name} {other}");
                assert!(!same_name(&other, &name), "{other} {name}");
            }
            assert!(!same_name(&name, &format!("{name}x")));
        }
    }

    proptest! {
        #[test]
        fn agrees_with_string_equality(a in "[a-c.]{0,20}", b in "[a-c.]{0,20}") {
            prop_assert_eq!(same_name(&a, &b), a == b);
        }
    }
}
