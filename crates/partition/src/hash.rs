//! The three key hashes the partitioners need, each bit-exact with its reference.
//!
//! * [`murmur2`]: the 32-bit MurmurHash2 variant of the Java client
//!   (`org.apache.kafka.common.utils.Utils.murmur2`, seed `0x9747b28c`), which librdkafka's
//!   `rd_murmur2` also implements.
//! * [`fnv1a`]: librdkafka's `rd_fnv1a`, 32-bit FNV-1a computed as a signed integer and folded
//!   with `abs()` (to match Sarama's hash partitioner).
//! * [`crc32`]: the zlib CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`) behind
//!   librdkafka's `consistent` partitioners.

/// Java's murmur2 seed.
const MURMUR_SEED: u32 = 0x9747_b28c;
/// Java's murmur2 multiplier.
const MURMUR_M: u32 = 0x5bd1_e995;
/// Java's murmur2 shift.
const MURMUR_R: u32 = 24;

/// 32-bit MurmurHash2 exactly as the Java client computes it.
///
/// The Java method returns an `int`; this returns the same 32 bits unsigned. All arithmetic wraps
/// modulo 2^32 and shifts are logical, like Java's `>>>`. Four-byte blocks are read little-endian;
/// the 1–3 tail bytes are mixed in with fall-through, as in the reference.
pub fn murmur2(data: &[u8]) -> u32 {
    // Java computes `seed ^ length` on an int; keys longer than 4 GiB cannot exist there, and
    // truncating here keeps the same bits for every length Java can see.
    let mut h = MURMUR_SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(MURMUR_M);
        k ^= k >> MURMUR_R;
        k = k.wrapping_mul(MURMUR_M);
        h = h.wrapping_mul(MURMUR_M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= u32::from(tail[2]) << 16;
        }
        if tail.len() >= 2 {
            h ^= u32::from(tail[1]) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(MURMUR_M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(MURMUR_M);
    h ^= h >> 15;
    h
}

/// Java's `Utils.toPositive`: clear the sign bit (deliberately not `abs`, which would map
/// `i32::MIN` to itself).
#[inline]
pub fn to_positive(h: u32) -> u32 {
    h & 0x7fff_ffff
}

/// The partition the Java client (and librdkafka's `murmur2*` partitioners) give a key:
/// `toPositive(murmur2(key)) % partition_count`.
///
/// `partition_count` must be non-zero; callers inside this crate guarantee it via
/// [`Partitions`](crate::Partitions). A zero count returns 0 rather than panicking.
#[inline]
pub fn murmur2_partition(key: &[u8], partition_count: u32) -> i32 {
    checked_rem(to_positive(murmur2(key)), partition_count)
}

/// FNV-1a offset basis (32-bit).
const FNV_OFFSET: u32 = 0x811c_9dc5;
/// FNV-1a prime (32-bit).
const FNV_PRIME: u32 = 0x0100_0193;

/// librdkafka's `rd_fnv1a`: 32-bit FNV-1a, then the absolute value of the result read as a
/// signed 32-bit integer.
///
/// The `abs` is librdkafka's (it matches Sarama). `abs(i32::MIN)` stays `i32::MIN` in C on every
/// two's-complement target, so `0x8000_0000` is returned unchanged; `wrapping_abs` does the same.
pub fn fnv1a(data: &[u8]) -> u32 {
    let mut h = FNV_OFFSET;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    (h as i32).wrapping_abs() as u32
}

/// The partition librdkafka's `fnv1a*` partitioners give a key: `fnv1a(key) % partition_count`
/// (unsigned modulo).
#[inline]
pub fn fnv1a_partition(key: &[u8], partition_count: u32) -> i32 {
    checked_rem(fnv1a(key), partition_count)
}

/// Byte-at-a-time table for the reflected IEEE polynomial, built at compile time.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// The zlib CRC-32 (IEEE): initial value `0xFFFFFFFF`, reflected, final XOR `0xFFFFFFFF`.
/// `crc32(b"")` is 0 and `crc32(b"123456789")` is `0xCBF43926`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC32_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// The partition librdkafka's `consistent*` partitioners give a key: `crc32(key) % partition_count`.
#[inline]
pub fn crc32_partition(key: &[u8], partition_count: u32) -> i32 {
    checked_rem(crc32(key), partition_count)
}

/// `hash % count` as a partition id. The result is below `count`, which [`Partitions`] keeps at
/// or below `i32::MAX`, so the cast cannot wrap there; a zero count yields 0 instead of a panic.
///
/// [`Partitions`]: crate::Partitions
#[inline]
pub(crate) fn checked_rem(hash: u32, count: u32) -> i32 {
    hash.checked_rem(count).unwrap_or(0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java `UtilsTest.testMurmur2` (signed results).
    #[test]
    fn java_published_murmur2_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107), // Java's test builds it as {'a','b','c'}
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key) as i32, want, "key {key:?}");
        }
    }

    /// librdkafka `unittest_murmur2` in `src/rdmurmur2.c`.
    #[test]
    fn librdkafka_published_murmur2_vectors() {
        let cases: [(&[u8], u32); 11] = [
            (b"kafka", 0xd067cf64),
            (b"giberish123456789", 0x8f552b0c),
            (b"1234", 0x9fc97b14),
            (b"234", 0xe7c009ca),
            (b"34", 0x873930da),
            (b"4", 0x5a4b5ca1),
            (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1c),
            (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377),
            (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09e),
            (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43f),
            (b"", 0x106e08d9),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), want, "key {key:?}");
        }
    }

    /// librdkafka `unittest_fnv1a` in `src/rdfnv1a.c`.
    #[test]
    fn librdkafka_published_fnv1a_vectors() {
        let cases: [(&[u8], u32); 11] = [
            (b"kafka", 0x0d33c4e1),
            (b"giberish123456789", 0x77a58295),
            (b"1234", 0x023bdd03),
            (b"234", 0x2dea3cd2),
            (b"34", 0x740fa83e),
            (b"4", 0x310ca263),
            (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x65cbd69c),
            (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x6e49c79a),
            (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0x69eed356),
            (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x6abcc023),
            (b"", 0x7ee3623b),
        ];
        for (key, want) in cases {
            assert_eq!(fnv1a(key), want, "key {key:?}");
        }
    }

    #[test]
    fn crc32_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b"key"), 0x8a90_aba9);
        assert_eq!(crc32(b"kafka"), 0x5bbc_7517);
        assert_eq!(crc32(b"foobar"), 0x9ef6_1f95);
    }

    /// The derived table: `toPositive(murmur2(key)) % n` for n in 3, 6, 10, 12, 100.
    #[test]
    fn derived_murmur2_partition_table() {
        let rows: [(&[u8], u32, [i32; 5]); 8] = [
            (b"", 0x106e08d9, [0, 3, 1, 9, 81]),
            (b"key", 0xbfa176a9, [1, 1, 1, 1, 81]),
            (b"kafka", 0xd067cf64, [1, 4, 0, 4, 80]),
            (b"foobar", 0xd0e47bbe, [0, 0, 6, 6, 66]),
            (b"21", 0xc5f2f8ec, [0, 0, 0, 0, 40]),
            (b"abc", 0x1c94221b, [0, 3, 7, 3, 7]),
            (b"hello", 0x7f1ddbbd, [0, 3, 9, 9, 29]),
            (b"test-key-1", 0xc4c5b60e, [2, 2, 6, 2, 86]),
        ];
        for (key, hash, parts) in rows {
            assert_eq!(murmur2(key), hash, "key {key:?}");
            for (n, want) in [3, 6, 10, 12, 100].into_iter().zip(parts) {
                assert_eq!(murmur2_partition(key, n), want, "key {key:?} n {n}");
            }
        }
    }

    #[test]
    fn derived_crc32_and_fnv1a_partitions() {
        assert_eq!(crc32_partition(b"key", 3), 1);
        assert_eq!(crc32_partition(b"key", 10), 7);
        assert_eq!(crc32_partition(b"kafka", 3), 2);
        assert_eq!(crc32_partition(b"kafka", 10), 9);
        assert_eq!(crc32_partition(b"foobar", 3), 2);
        assert_eq!(crc32_partition(b"foobar", 10), 9);
        assert_eq!(fnv1a(b"key"), 0x6815_c86c);
        assert_eq!(fnv1a_partition(b"key", 3), 1);
        assert_eq!(fnv1a_partition(b"key", 10), 8);
    }

    #[test]
    fn to_positive_is_not_abs() {
        // abs(i32::MIN) would stay negative; toPositive maps it to 0.
        assert_eq!(to_positive(0x8000_0000), 0);
        assert_eq!(to_positive(0xffff_ffff), 0x7fff_ffff);
    }

    #[test]
    fn zero_count_does_not_panic() {
        assert_eq!(murmur2_partition(b"k", 0), 0);
        assert_eq!(fnv1a_partition(b"k", 0), 0);
        assert_eq!(crc32_partition(b"k", 0), 0);
    }
}
