//! The workload both the criterion bench (`benches/batch.rs`) and the CPU-time example
//! (`examples/throughput.rs`) measure: 100-byte values with 10-byte keys, batches filled to
//! `batch.size`.

use ferrokafka_records::{BatchBuilder, Compression, ProducerStamp};

pub(crate) const KEY_LEN: usize = 10;
pub(crate) const VALUE_LEN: usize = 100;

/// Values that compress somewhat, like real payloads: a repeating text with a counter mixed in.
pub(crate) fn values(n: usize) -> Vec<[u8; VALUE_LEN]> {
    let text = b"ferrokafka record payload: the quick brown fox jumps over the lazy dog ".repeat(2);
    (0..n)
        .map(|i| {
            let mut v = [0u8; VALUE_LEN];
            v.copy_from_slice(&text[..VALUE_LEN]);
            v[..8].copy_from_slice(&(i as u64).to_le_bytes());
            v
        })
        .collect()
}

/// How many records fill a batch of `batch_size` bytes uncompressed.
pub(crate) fn records_for(batch_size: usize) -> usize {
    let mut b = BatchBuilder::new(Compression::NONE, batch_size);
    let key = [7u8; KEY_LEN];
    let value = [1u8; VALUE_LEN];
    let mut n = 0;
    while b.has_room_for(
        batch_size,
        1_700_000_000_000 + n,
        Some(&key),
        Some(&value),
        &[],
    ) {
        b.append(1_700_000_000_000 + n, Some(&key), Some(&value), &[])
            .unwrap();
        n += 1;
    }
    n as usize
}

/// One closed idempotent batch of `values` (keys `key-000000`), in `compression`.
pub(crate) fn build(
    compression: Compression,
    values: &[[u8; VALUE_LEN]],
    cap: usize,
) -> bytes::Bytes {
    let mut b = BatchBuilder::new(compression, cap);
    let key = *b"key-000000";
    for (i, v) in values.iter().enumerate() {
        b.append(1_700_000_000_000 + i as i64, Some(&key), Some(v), &[])
            .unwrap();
    }
    b.close(ProducerStamp::idempotent(1, 0, 0))
        .unwrap()
        .into_bytes()
}
