//! What a large Metadata answer costs: the cluster model it leaves behind (which lives as long
//! as the producer) stays within a small multiple of the answer's frame. Measured with a
//! counting allocator (hence `unsafe`, which the library itself forbids).

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

/// One topic of `partitions` partitions with three replicas each, encoded at Metadata v12.
fn big_answer(partitions: i32) -> bytes::Bytes {
    let resp = MetadataResponse {
        brokers: (1..=3)
            .map(|id| MetadataResponseBroker {
                node_id: id,
                host: format!("broker-{id}.example.com"),
                port: 9092,
                ..Default::default()
            })
            .collect(),
        topics: vec![MetadataResponseTopic {
            name: Some("a-topic-with-many-partitions".into()),
            partitions: (0..partitions)
                .map(|p| {
                    let replicas = vec![1 + p % 3, 1 + (p + 1) % 3, 1 + (p + 2) % 3];
                    MetadataResponsePartition {
                        partition_index: p,
                        leader_id: 1 + p % 3,
                        leader_epoch: 7,
                        isr_nodes: replicas.clone(),
                        replica_nodes: replicas,
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut frame = BytesMut::new();
    resp.encode_body(&mut frame, 12).unwrap();
    frame.freeze()
}

#[test]
fn the_model_a_big_answer_leaves_is_a_small_multiple_of_its_frame() {
    const PARTITIONS: i32 = 100_000;
    let frame = big_answer(PARTITIONS);
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let decoded = MetadataResponse::decode_body(&frame, 12).unwrap();
    let mut cluster = Cluster::default();
    cluster.update(&decoded);
    drop(decoded);
    let model = LIVE.load(Ordering::Relaxed) - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    #[allow(clippy::cast_precision_loss)]
    let (model_ratio, peak_ratio) = (
        model as f64 / frame.len() as f64,
        peak as f64 / frame.len() as f64,
    );
    eprintln!(
        "frame {} B for {PARTITIONS} partitions; model {model} B ({model_ratio:.1}x); peak while \
         decoding and merging {peak} B ({peak_ratio:.1}x)",
        frame.len()
    );
    assert_eq!(
        cluster.partition_count("a-topic-with-many-partitions"),
        Some(PARTITIONS as usize)
    );
    assert!(model_ratio <= 4.0, "model {model_ratio:.1}x the frame");
}
