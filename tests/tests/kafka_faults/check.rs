//! The checks every fault test ends with: each delivery resolved and succeeded, and the log, as
//! librdkafka and Kafka's own consumer read it back, holds exactly what was acknowledged.

use std::collections::BTreeMap;

use ferrokafka::RecordMetadata;
use ferrokafka_tests::consume::{Isolation, read_back};
use ferrokafka_tests::data::{check_records, index_of, indices_by_partition, mismatch};
use ferrokafka_tests::kafka::{JavaHelper, KafkaCluster};
use ferrokafka_tests::producing::assert_at_reported_offsets;

use crate::stream::Outcome;
use crate::{PARTITIONS, RESOLVE, WAIT, partition_of};

/// Every delivery resolved and succeeded, acknowledged offsets grow with the send order in each
/// partition, and both consumers read exactly those records back, each once, at the offset its
/// delivery reported, in send order. Returns the successes by index.
pub(crate) fn check_delivered_and_log(
    cluster: &KafkaCluster,
    topic: &str,
    outcomes: &[Outcome],
) -> BTreeMap<usize, RecordMetadata> {
    let unresolved: Vec<usize> = outcomes
        .iter()
        .filter(|o| o.result.is_none())
        .map(|o| o.index)
        .collect();
    assert!(
        unresolved.is_empty(),
        "{} deliveries did not resolve within {RESOLVE:?}, first ones: {:?}",
        unresolved.len(),
        &unresolved[..unresolved.len().min(10)]
    );
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match &o.result {
            Some(Err(e)) => Some(format!("record {} (phase {}): {e}", o.index, o.phase_sent)),
            _ => None,
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} deliveries failed (the outage was far shorter than delivery.timeout.ms), \
         first ones: {:?}",
        failed.len(),
        outcomes.len(),
        &failed[..failed.len().min(10)]
    );
    let delivered: BTreeMap<usize, RecordMetadata> = outcomes
        .iter()
        .map(|o| match &o.result {
            Some(Ok(md)) => (o.index, md.clone()),
            _ => unreachable!("checked above"),
        })
        .collect();
    assert_eq!(delivered.len(), outcomes.len(), "one outcome per record");

    // What the acknowledgements say, per partition in send order.
    let mut want: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (&i, md) in &delivered {
        assert_eq!(md.topic(), topic);
        assert_eq!(md.partition(), partition_of(i), "record {i}'s partition");
        want.entry(md.partition()).or_default().push(i);
    }
    for (p, indices) in &want {
        let offsets: Vec<i64> = indices
            .iter()
            .map(|i| {
                delivered[i]
                    .offset()
                    .unwrap_or_else(|| panic!("record {i}: acks=all must report an offset"))
            })
            .collect();
        if let Some(at) = offsets.windows(2).position(|w| w[0] >= w[1]) {
            panic!(
                "partition {p}: acknowledged offsets do not grow with the send order: record {} \
                 at {}, then record {} at {}",
                indices[at],
                offsets[at],
                indices[at + 1],
                offsets[at + 1]
            );
        }
    }

    // What the log holds, read by librdkafka and by the Java client.
    let bootstrap = cluster.bootstrap();
    let read = read_back(
        &bootstrap,
        topic,
        delivered.len(),
        WAIT,
        Isolation::ReadUncommitted,
    )
    .unwrap_or_else(|e| panic!("librdkafka read-back of {topic}: {e}"));
    let got_indices = indices_by_partition(&read, index_of);
    for p in 0..partition_of(PARTITIONS) {
        let w: Vec<Option<usize>> = want
            .get(&p)
            .map(|v| v.iter().copied().map(Some).collect())
            .unwrap_or_default();
        let g = got_indices.get(&p).cloned().unwrap_or_default();
        assert!(
            w == g,
            "partition {p}: the log differs from what was acknowledged: {}",
            mismatch(&w, &g)
        );
    }
    check_records(&read, index_of);
    assert_eq!(read.len(), delivered.len(), "records in the log");
    assert_at_reported_offsets(delivered.iter().map(|(&i, md)| (i, md)), &got_indices);
    let java = JavaHelper::shared()
        .expect("Java helper")
        .consume(
            &bootstrap,
            topic,
            Isolation::ReadUncommitted,
            delivered.len(),
            WAIT,
        )
        .unwrap_or_else(|e| panic!("Java read-back of {topic}: {e}"));
    assert!(
        java == read,
        "the Java consumer reads {} records, librdkafka {}; they differ",
        java.len(),
        read.len()
    );
    delivered
}
