//! What a large Metadata answer costs: the cluster model it leaves behind (which lives as long
//! as the producer), and the peak while the answer is decoded and merged, stay within a small
//! multiple of the answer's frame. Measured with a counting allocator (hence `unsafe`, which the
//! library itself forbids).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use ferrokafka_metadata::Cluster;
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::MetadataResponse;
use ferrokafka_wire::messages::metadata::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            let grown = new_size - layout.size();
            let now = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn partition(p: i32) -> MetadataResponsePartition {
    let replicas = vec![1 + p % 3, 1 + (p + 1) % 3, 1 + (p + 2) % 3];
    MetadataResponsePartition {
        partition_index: p,
        leader_id: 1 + p % 3,
        leader_epoch: 7,
        isr_nodes: replicas.clone(),
        replica_nodes: replicas,
        ..Default::default()
    }
}

/// `topics` topics of `partitions` partitions each, three replicas per partition, encoded at
/// Metadata v12.
fn answer(topics: usize, partitions: i32) -> bytes::Bytes {
    let resp = MetadataResponse {
        brokers: (1..=3)
            .map(|id| MetadataResponseBroker {
                node_id: id,
                host: format!("broker-{id}.example.com"),
                port: 9092,
                ..Default::default()
            })
            .collect(),
        topics: (0..topics)
            .map(|t| MetadataResponseTopic {
                name: Some(topic_name(topics, t)),
                partitions: (0..partitions).map(partition).collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut frame = BytesMut::new();
    resp.encode_body(&mut frame, 12).unwrap();
    frame.freeze()
}

fn topic_name(topics: usize, t: usize) -> String {
    if topics == 1 {
        "a-topic-with-many-partitions".to_owned()
    } else {
        format!("topic-{t:05}")
    }
}

/// Decodes `frame` and merges it into an empty cluster, by value (`update_owned`) or by
/// reference (`update`, dropping the response after); returns the cluster, and the bytes it
/// holds and the peak above the baseline, both as multiples of the frame.
fn decode_and_merge(frame: &[u8], owned: bool) -> (Cluster, f64, f64) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let decoded = MetadataResponse::decode_body(frame, 12).unwrap();
    let mut cluster = Cluster::default();
    if owned {
        cluster.update_owned(decoded);
    } else {
        cluster.update(&decoded);
        drop(decoded);
    }
    let model = LIVE.load(Ordering::Relaxed) - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    #[allow(clippy::cast_precision_loss)]
    let ratios = (
        model as f64 / frame.len() as f64,
        peak as f64 / frame.len() as f64,
    );
    (cluster, ratios.0, ratios.1)
}

fn check(topics: usize, partitions: i32) {
    let frame = answer(topics, partitions);
    for owned in [true, false] {
        let (cluster, model_ratio, peak_ratio) = decode_and_merge(&frame, owned);
        eprintln!(
            "frame {} B for {topics} topics of {partitions} partitions, merged {}: model \
             {model_ratio:.2}x; peak while decoding and merging {peak_ratio:.2}x",
            frame.len(),
            if owned { "by value" } else { "by reference" },
        );
        assert_eq!(cluster.topics().count(), topics);
        for t in [0, topics / 2, topics - 1] {
            assert_eq!(
                cluster.partition_count(&topic_name(topics, t)),
                Some(partitions as usize)
            );
        }
        assert!(model_ratio <= 4.0, "model {model_ratio:.2}x the frame");
        // By reference, the answer keeps its bytes while the model is built (and a topic read
        // from them copies its partitions' bytes): about one frame more, not held to the bound.
        if owned {
            assert!(peak_ratio <= 4.0, "peak {peak_ratio:.2}x the frame");
        }
    }
}

// One test function: the allocator counts every thread, so the shapes must not overlap.
#[test]
fn a_big_answer_costs_a_small_multiple_of_its_frame_while_merged_and_after() {
    // One topic of many partitions.
    check(1, 100_000);
    // Many topics of few partitions.
    check(20_000, 5);
}
