//! Differential test against librdkafka itself: for 100,000+ generated keys (null, empty, short,
//! long, every byte value) and partition counts 1–64 (plus a few large ones), every one of our
//! librdkafka-named partitioners picks the partition librdkafka's own
//! `rd_kafka_msg_partitioner_*` function picks. The `*_random` variants and `random` are compared
//! where librdkafka is deterministic (keyed records) and range-checked elsewhere.
//!
//! The partitioner functions need a topic handle, so the test creates a real producer (pointed at
//! an unreachable loopback port; no broker is contacted for partitioning) and a topic on it.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;

use ferrokafka_partition::{
    BuiltInPartitioner, LibrdkafkaKind, LibrdkafkaPartitioner, Partitioner, Partitions, Record,
    SplitMix64,
};
use rdkafka_sys::bindings as rd;

type CPartitioner = unsafe extern "C" fn(
    *const rd::rd_kafka_topic_t,
    *const c_void,
    usize,
    i32,
    *mut c_void,
    *mut c_void,
) -> i32;

fn c_partitioner(kind: LibrdkafkaKind) -> CPartitioner {
    match kind {
        LibrdkafkaKind::Random => rd::rd_kafka_msg_partitioner_random,
        LibrdkafkaKind::Consistent => rd::rd_kafka_msg_partitioner_consistent,
        LibrdkafkaKind::ConsistentRandom => rd::rd_kafka_msg_partitioner_consistent_random,
        LibrdkafkaKind::Murmur2 => rd::rd_kafka_msg_partitioner_murmur2,
        LibrdkafkaKind::Murmur2Random => rd::rd_kafka_msg_partitioner_murmur2_random,
        LibrdkafkaKind::Fnv1a => rd::rd_kafka_msg_partitioner_fnv1a,
        LibrdkafkaKind::Fnv1aRandom => rd::rd_kafka_msg_partitioner_fnv1a_random,
        other => panic!("no librdkafka function known for {other:?}"),
    }
}

/// A librdkafka producer and one topic handle, destroyed on drop.
struct Librdkafka {
    rk: *mut rd::rd_kafka_t,
    rkt: *mut rd::rd_kafka_topic_t,
}

impl Librdkafka {
    fn new() -> Self {
        let mut errstr = [0 as c_char; 512];
        // SAFETY: plain librdkafka C API use; every pointer passed is valid for the call, and the
        // conf is owned by rd_kafka_new on success (destroyed by us on failure).
        unsafe {
            let conf = rd::rd_kafka_conf_new();
            for (name, value) in [("bootstrap.servers", "127.0.0.1:1"), ("log_level", "0")] {
                let name = CString::new(name).unwrap();
                let value = CString::new(value).unwrap();
                let res = rd::rd_kafka_conf_set(
                    conf,
                    name.as_ptr(),
                    value.as_ptr(),
                    errstr.as_mut_ptr(),
                    errstr.len(),
                );
                assert_eq!(res, rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK);
            }
            let rk = rd::rd_kafka_new(
                rd::rd_kafka_type_t::RD_KAFKA_PRODUCER,
                conf,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
            if rk.is_null() {
                rd::rd_kafka_conf_destroy(conf);
                panic!(
                    "rd_kafka_new: {}",
                    CStr::from_ptr(errstr.as_ptr()).to_string_lossy()
                );
            }
            let topic = CString::new("differential").unwrap();
            let rkt = rd::rd_kafka_topic_new(rk, topic.as_ptr(), ptr::null_mut());
            assert!(!rkt.is_null(), "rd_kafka_topic_new failed");
            Self { rk, rkt }
        }
    }

    /// librdkafka's answer for `key` (None = NULL pointer) and `count` partitions.
    fn partition(&self, kind: LibrdkafkaKind, key: Option<&[u8]>, count: u32) -> i32 {
        // A valid, non-NULL pointer for empty keys, as an application passing "" would.
        static EMPTY: [u8; 1] = [0];
        let (ptr, len) = match key {
            None => (ptr::null(), 0),
            Some([]) => (EMPTY.as_ptr().cast::<c_void>(), 0),
            Some(k) => (k.as_ptr().cast::<c_void>(), k.len()),
        };
        let f = c_partitioner(kind);
        // SAFETY: `ptr` is NULL or points at `len` readable bytes; `rkt` is a live topic handle.
        unsafe {
            f(
                self.rkt,
                ptr,
                len,
                count as i32,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        }
    }
}

impl Drop for Librdkafka {
    fn drop(&mut self) {
        // SAFETY: both handles were created in `new` and are destroyed exactly once, topic first.
        unsafe {
            rd::rd_kafka_topic_destroy(self.rkt);
            rd::rd_kafka_destroy(self.rk);
        }
    }
}

/// The generated keys: a mix of NULL, empty, short and long keys of arbitrary bytes.
fn keys(n: usize, seed: u64) -> Vec<Option<Vec<u8>>> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| match i % 50 {
            0 => None,
            1 => Some(Vec::new()),
            _ => {
                let r = rng.next_u64();
                let len = if r.is_multiple_of(10) {
                    (r >> 8) as usize % 300
                } else {
                    (r >> 8) as usize % 24 + 1
                };
                Some((0..len).map(|_| (rng.next_u64() >> 56) as u8).collect())
            }
        })
        .collect()
}

/// Partition counts in the order the keys use them: 1–64 cycling, with a few large counts mixed
/// in.
fn count_for(i: usize) -> u32 {
    const LARGE: [u32; 5] = [100, 1000, 65_536, 1 << 30, i32::MAX as u32];
    if i.is_multiple_of(97) {
        LARGE[(i / 97) % LARGE.len()]
    } else {
        (i % 64) as u32 + 1
    }
}

const KEYS: usize = 100_000;

#[test]
fn every_librdkafka_partitioner_matches_librdkafka() {
    let c = Librdkafka::new();
    let keys = keys(KEYS, 0xd1ff);
    let mut compared = 0usize;
    let mut range_checked = 0usize;
    for kind in LibrdkafkaKind::ALL {
        let mut ours = LibrdkafkaPartitioner::new(kind, SplitMix64::new(7));
        for (i, key) in keys.iter().enumerate() {
            let count = count_for(i);
            let parts = Partitions::all_available(count).unwrap();
            let key = key.as_deref();
            let theirs = c.partition(kind, key, count);
            let mine = ours.partition(&Record::new("differential", key), &parts);
            assert!(
                (0..count as i32).contains(&theirs),
                "librdkafka out of range"
            );
            assert!((0..count as i32).contains(&mine), "ours out of range");
            if kind.keyed_partition(key, count).is_some() {
                assert_eq!(mine, theirs, "{} key {key:?} count {count}", kind.name());
                compared += 1;
            } else {
                range_checked += 1;
            }
        }
    }
    // Deterministic kinds compare every key; random variants compare every keyed record
    // (consistent_random: every non-empty one).
    let null_keys = keys.iter().filter(|k| k.is_none()).count();
    let empty_keys = keys
        .iter()
        .filter(|k| k.as_ref().is_some_and(Vec::is_empty))
        .count();
    assert!(null_keys >= KEYS / 50 && empty_keys >= KEYS / 50);
    assert_eq!(
        compared,
        3 * KEYS + 2 * (KEYS - null_keys) + (KEYS - null_keys - empty_keys)
    );
    assert_eq!(
        range_checked,
        KEYS + 2 * null_keys + (null_keys + empty_keys)
    );
}

/// The Java default partitioner places keyed records as librdkafka's `murmur2_random` (the
/// librdkafka setting documented as Java-compatible) does, empty keys included.
#[test]
fn java_default_matches_librdkafka_murmur2_random_for_keys() {
    let c = Librdkafka::new();
    let keys = keys(KEYS, 0x7a7a);
    let mut java = BuiltInPartitioner::new(16_384, SplitMix64::new(1));
    let mut compared = 0usize;
    for (i, key) in keys.iter().enumerate() {
        let Some(key) = key.as_deref() else { continue };
        let count = count_for(i);
        let parts = Partitions::all_available(count).unwrap();
        let ours = java.partition(&Record::new("differential", Some(key)), &parts);
        let theirs = c.partition(LibrdkafkaKind::Murmur2Random, Some(key), count);
        assert_eq!(ours, theirs, "key {key:?} count {count}");
        compared += 1;
    }
    assert_eq!(compared, KEYS - KEYS / 50);
}

/// Fixed published keys through librdkafka too, so a mismatch in the generator cannot hide a
/// mismatch on the reference vectors.
#[test]
fn published_vectors_agree_with_librdkafka() {
    let c = Librdkafka::new();
    let keys: [&[u8]; 9] = [
        b"",
        b"21",
        b"foobar",
        b"kafka",
        b"key",
        b"giberish123456789",
        b"a-little-bit-long-string",
        b"PreAmbleWillBeRemoved,ThePrePartThatIs",
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
    ];
    for key in keys {
        for count in [1, 3, 6, 10, 12, 100] {
            for kind in [
                LibrdkafkaKind::Consistent,
                LibrdkafkaKind::Murmur2,
                LibrdkafkaKind::Fnv1a,
            ] {
                assert_eq!(
                    kind.keyed_partition(Some(key), count),
                    Some(c.partition(kind, Some(key), count)),
                    "{} {key:?} {count}",
                    kind.name()
                );
            }
        }
    }
}
