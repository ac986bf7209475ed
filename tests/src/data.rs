//! Test data the live suites share: numbered record values that name their send index, and a
//! small deterministic generator.

use std::collections::BTreeMap;

/// The value of record `i`: `v-` and the index on six digits (`v-000042`).
#[must_use]
pub fn value(i: usize) -> String {
    format!("v-{i:06}")
}

/// The key of record `i`: `k-` and the index (`k-42`).
#[must_use]
pub fn key(i: usize) -> String {
    format!("k-{i}")
}

/// Checks the record read back at position `n` of `partition`: its offset is `n` and its key is
/// the one of the record its value names (by `index`: [`index_of`] or [`index_of_prefix`]).
///
/// # Panics
/// If the offset or the key is not as written, or the value is not one of [`value`]'s.
#[cfg(feature = "mock")]
pub fn check_record(
    partition: i32,
    n: usize,
    r: &crate::consume::Consumed,
    index: fn(Option<&[u8]>) -> Option<usize>,
) {
    let at = format!("partition {partition}, position {n}");
    assert_eq!(r.offset, i64::try_from(n).expect("small"), "offset at {at}");
    let i = index(r.value.as_deref()).expect("a value written by this test");
    assert_eq!(r.key.as_deref(), Some(key(i).as_bytes()), "key at {at}");
}

/// The send indexes the records of `read` name (by `index`: [`index_of`] or
/// [`index_of_prefix`]), per partition in log order.
#[cfg(feature = "mock")]
#[must_use]
pub fn indices_by_partition(
    read: &[crate::consume::Consumed],
    index: fn(Option<&[u8]>) -> Option<usize>,
) -> BTreeMap<i32, Vec<Option<usize>>> {
    let mut out: BTreeMap<i32, Vec<Option<usize>>> = BTreeMap::new();
    for r in read {
        out.entry(r.partition)
            .or_default()
            .push(index(r.value.as_deref()));
    }
    out
}

/// [`check_record`] for every record of `read`, at its position in its partition.
///
/// # Panics
/// As [`check_record`].
#[cfg(feature = "mock")]
pub fn check_records(read: &[crate::consume::Consumed], index: fn(Option<&[u8]>) -> Option<usize>) {
    for (p, rs) in crate::consume::by_partition(read) {
        for (n, r) in rs.into_iter().enumerate() {
            check_record(p, n, r, index);
        }
    }
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

/// Which record a value that starts with a [`value`] names, whatever follows the six digits
/// (values that carry a payload after the number); `None` for any other value.
#[must_use]
pub fn index_of_prefix(value: Option<&[u8]>) -> Option<usize> {
    std::str::from_utf8(value?)
        .ok()?
        .strip_prefix("v-")?
        .get(..6)?
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

/// Headers of a record as the tests send them: name and value (`None` is a null value).
pub type Headers = Vec<(String, Option<Vec<u8>>)>;

/// A record as a test sends it, kept to compare with what is read back.
#[derive(Debug, Clone)]
pub struct Sent {
    /// An explicit partition, or `None` to let the partitioner choose.
    pub partition: Option<i32>,
    /// The key (`None` is a null key).
    pub key: Option<Vec<u8>>,
    /// The value (`None` is a null value).
    pub value: Option<Vec<u8>>,
    /// The headers, in order (names may repeat).
    pub headers: Headers,
    /// The record's timestamp (ms).
    pub timestamp: i64,
}

impl Sent {
    /// A record with a value, no headers and no explicit partition.
    #[must_use]
    pub fn plain(key: Option<Vec<u8>>, value: Vec<u8>, timestamp: i64) -> Sent {
        Sent {
            partition: None,
            key,
            value: Some(value),
            headers: Vec::new(),
            timestamp,
        }
    }

    /// The producer record that sends it to `topic`.
    #[cfg(feature = "producer")]
    #[must_use]
    pub fn to_record(&self, topic: &str) -> ferrokafka::ProducerRecord {
        let mut r = ferrokafka::ProducerRecord::new(topic).with_timestamp(self.timestamp);
        if let Some(k) = &self.key {
            r = r.with_key(k.clone());
        }
        if let Some(v) = &self.value {
            r = r.with_value(v.clone());
        }
        if let Some(p) = self.partition {
            r = r.with_partition(p);
        }
        for (name, value) in &self.headers {
            r = r.with_header(name.clone(), value.clone());
        }
        r
    }
}

/// `n` records covering null and empty keys and values, compressible and random values of
/// varied sizes, no headers, one header, duplicate header names with a null and an empty value,
/// and timestamps that are not monotonic (`base_timestamp` plus up to 5 s); no explicit
/// partition. The same `seed` gives the same records.
#[must_use]
pub fn mixed_records(n: usize, seed: u64, base_timestamp: i64) -> Vec<Sent> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let key = match i % 40 {
                7 => None,
                8 => Some(Vec::new()),
                9 => Some(rng.bytes(16)),
                _ => Some(format!("key-{}", i % 97).into_bytes()),
            };
            let value = match i % 40 {
                10 => None,
                11 => Some(Vec::new()),
                12 | 13 => {
                    let len = rng.below(2000);
                    Some(rng.bytes(len))
                }
                _ => {
                    let mut v = format!("value-{i}-").into_bytes();
                    v.extend(std::iter::repeat_n(b'x', (i * 37) % 900));
                    Some(v)
                }
            };
            let headers = match i % 4 {
                0 => Vec::new(),
                1 => vec![("trace".to_string(), Some(format!("t-{i}").into_bytes()))],
                2 => vec![
                    ("dup".to_string(), Some(b"first".to_vec())),
                    ("null".to_string(), None),
                    ("dup".to_string(), Some(b"second".to_vec())),
                    ("empty".to_string(), Some(Vec::new())),
                ],
                _ => vec![
                    ("null".to_string(), None),
                    ("null".to_string(), None),
                    ("bin".to_string(), Some(vec![0, 255, 0, 1])),
                    ("dup".to_string(), Some(b"x".to_vec())),
                ],
            };
            let jitter = i64::try_from((i * 7919) % 5000).expect("small");
            Sent {
                partition: None,
                key,
                value,
                headers,
                timestamp: base_timestamp + jitter,
            }
        })
        .collect()
}

/// `n` records with random binary keys of 0 to 39 bytes (the first one empty: the empty key is
/// a key, hashed like any other), values `v{i}`, timestamps `base_timestamp + i`; no explicit
/// partition.
#[must_use]
pub fn random_keyed_records(n: usize, base_timestamp: i64) -> Vec<Sent> {
    let mut rng = Rng(0x5eed);
    (0..n)
        .map(|i| {
            let len = if i == 0 { 0 } else { rng.below(40) };
            Sent::plain(
                Some(rng.bytes(len)),
                format!("v{i}").into_bytes(),
                base_timestamp + i64::try_from(i).expect("few records"),
            )
        })
        .collect()
}

/// `n` keyless records of 100-byte values (`keyless-{i}-` padded with dots), timestamps
/// `base_timestamp + i`; no explicit partition.
#[must_use]
pub fn keyless_records(n: usize, base_timestamp: i64) -> Vec<Sent> {
    (0..n)
        .map(|i| {
            let mut v = format!("keyless-{i}-").into_bytes();
            v.resize(100, b'.');
            Sent::plain(
                None,
                v,
                base_timestamp + i64::try_from(i).expect("few records"),
            )
        })
        .collect()
}

/// `n` records with explicit partitions (`i * 3 % partitions`), a key on every other one,
/// values `explicit-{i}`, timestamps `base_timestamp + i`.
#[must_use]
pub fn explicit_partition_records(n: usize, partitions: u32, base_timestamp: i64) -> Vec<Sent> {
    (0..n)
        .map(|i| Sent {
            partition: Some(
                i32::try_from(i * 3 % usize::try_from(partitions).expect("few partitions"))
                    .expect("few partitions"),
            ),
            ..Sent::plain(
                (i % 2 == 0).then(|| format!("k{i}").into_bytes()),
                format!("explicit-{i}").into_bytes(),
                base_timestamp + i64::try_from(i).expect("few records"),
            )
        })
        .collect()
}

/// How a log `got` (record indexes, `None` for a record no test wrote) differs from the
/// acknowledged `want`: lengths, duplicates, missing records,
/// the first position that differs; empty of judgement, for failure messages.
#[must_use]
pub fn mismatch(want: &[Option<usize>], got: &[Option<usize>]) -> String {
    let mut counts: BTreeMap<Option<usize>, usize> = BTreeMap::new();
    for x in got {
        *counts.entry(*x).or_default() += 1;
    }
    let duplicates: Vec<_> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(x, _)| *x)
        .take(10)
        .collect();
    let missing: Vec<_> = want
        .iter()
        .filter(|x| !counts.contains_key(x))
        .take(10)
        .collect();
    let first = want.iter().zip(got).position(|(a, b)| a != b);
    let around = first.map(|at| {
        let from = at.saturating_sub(3);
        (
            at,
            want[from..(at + 3).min(want.len())].to_vec(),
            got[from..(at + 3).min(got.len())].to_vec(),
        )
    });
    format!(
        "want {} records, got {}; duplicates {duplicates:?}; missing {missing:?}; first \
         difference (position, want around it, got around it) {around:?}",
        want.len(),
        got.len()
    )
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
        assert_eq!(index_of(Some(b"v-000042-payload")), None);
        assert_eq!(index_of_prefix(Some(b"v-000042-payload")), Some(42));
    }

    #[test]
    fn the_generator_is_deterministic() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        assert_eq!(a.bytes(16), b.bytes(16));
        assert!(a.below(10) < 10);
    }
}
