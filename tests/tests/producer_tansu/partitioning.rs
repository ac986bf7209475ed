//! Partitioning (2, 3): keyed records on the Java murmur2 partition, keyless records sticky and
//! spread, explicit partitions winning.

use ferrokafka_partition::hash::murmur2_partition;
use ferrokafka_tests::consume::partition_count;
use ferrokafka_tests::data::{explicit_partition_records, keyless_records, random_keyed_records};
use ferrokafka_tests::producing::assert_sticky_and_spread;

use crate::{BASE_TS, WAIT, assert_topic_holds, produce, producer, tansu_with};

// ---------------------------------------------------------------------------------------------
// 2. and 3. partitioning
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_land_on_the_java_murmur2_partition() {
    const RECORDS: usize = 600;
    const PARTITIONS: u32 = 7;
    let (_broker, bootstrap) = tansu_with(&[("keyed", PARTITIONS)]);
    assert_eq!(
        partition_count(&bootstrap, "keyed", WAIT).expect("partitions"),
        PARTITIONS as usize
    );
    let sent = random_keyed_records(RECORDS, BASE_TS);
    let p = producer(&bootstrap, &[("linger.ms", "5")]);
    let metadata = produce(&p, "keyed", &sent).await;
    p.close(WAIT).await;

    let mut used = std::collections::BTreeSet::new();
    for (s, md) in sent.iter().zip(&metadata) {
        let key = s.key.as_deref().unwrap();
        let want = murmur2_partition(key, PARTITIONS);
        assert_eq!(md.partition(), want, "reported partition of key {key:?}");
        used.insert(want);
    }
    assert_eq!(
        used.len(),
        PARTITIONS as usize,
        "random keys cover all partitions"
    );
    let read = assert_topic_holds(&bootstrap, "keyed", &sent, &metadata).await;
    // Every consumed record sits on its key's murmur2 partition.
    for c in &read {
        let key = c
            .key
            .as_deref()
            .expect("keyed record read back with its key");
        assert_eq!(
            c.partition,
            murmur2_partition(key, PARTITIONS),
            "consumed partition of key {key:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_stick_and_spread_and_explicit_partitions_win() {
    const KEYLESS: usize = 600;
    const PARTITIONS: u32 = 5;
    let (_broker, bootstrap) = tansu_with(&[("keyless", PARTITIONS), ("explicit", PARTITIONS)]);
    // batch.size 1000 and ~100-byte values: the sticky partition should change roughly every
    // ten records, so 600 records visit several partitions in runs.
    let p = producer(&bootstrap, &[("linger.ms", "5"), ("batch.size", "1000")]);
    let sent = keyless_records(KEYLESS, BASE_TS);
    let metadata = produce(&p, "keyless", &sent).await;
    assert_sticky_and_spread(&metadata);
    assert_topic_holds(&bootstrap, "keyless", &sent, &metadata).await;

    // Explicit partitions win over the key's hash and over stickiness.
    let explicit = explicit_partition_records(200, PARTITIONS, BASE_TS);
    let moved = explicit
        .iter()
        .filter(|s| {
            s.key
                .as_deref()
                .is_some_and(|k| Some(murmur2_partition(k, PARTITIONS)) != s.partition)
        })
        .count();
    assert!(moved > 50, "the test needs keys whose hash disagrees");
    let metadata = produce(&p, "explicit", &explicit).await;
    p.close(WAIT).await;
    let read_explicit = assert_topic_holds(&bootstrap, "explicit", &explicit, &metadata).await;
    for c in &read_explicit {
        let value = String::from_utf8(c.value.clone().unwrap()).unwrap();
        let i: usize = value.trim_start_matches("explicit-").parse().unwrap();
        assert_eq!(Some(c.partition), explicit[i].partition, "{value}");
    }
}
