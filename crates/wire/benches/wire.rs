//! Produce request encoding and Metadata response decoding.
//!
//! Run: `cargo bench -p ferrokafka-wire`.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferrokafka_wire::frame::encode_request;
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::{MetadataResponse, ProduceRequest, metadata, produce};

fn produce_request(partitions: i32, batch_bytes: usize) -> ProduceRequest {
    let batch = Bytes::from(vec![0x5a; batch_bytes]);
    ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![produce::TopicProduceData {
            name: "bench-topic".into(),
            partition_data: (0..partitions)
                .map(|index| produce::PartitionProduceData {
                    index,
                    records: Some(batch.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn metadata_response(brokers: i32, topics: usize, partitions: i32) -> MetadataResponse {
    MetadataResponse {
        brokers: (0..brokers)
            .map(|id| metadata::MetadataResponseBroker {
                node_id: id,
                host: format!("broker-{id}.example.internal"),
                port: 9092,
                rack: Some(format!("rack-{}", id % 3)),
                ..Default::default()
            })
            .collect(),
        cluster_id: Some("bench-cluster".into()),
        controller_id: 0,
        topics: (0..topics)
            .map(|t| metadata::MetadataResponseTopic {
                name: Some(format!("topic-{t}")),
                partitions: (0..partitions)
                    .map(|p| metadata::MetadataResponsePartition {
                        partition_index: p,
                        leader_id: p % brokers,
                        leader_epoch: 5,
                        replica_nodes: vec![p % brokers, (p + 1) % brokers, (p + 2) % brokers],
                        isr_nodes: vec![p % brokers, (p + 1) % brokers, (p + 2) % brokers],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn bench_produce_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("produce_request_encode");
    for &(partitions, batch) in &[(6, 16 * 1024), (12, 1024 * 1024)] {
        let req = produce_request(partitions, batch).into();
        for version in [7i16, 9, 11] {
            let mut buf = BytesMut::with_capacity(partitions as usize * (batch + 64) + 128);
            buf.clear();
            encode_request(&mut buf, 1, Some("bench"), &req, version).unwrap();
            group.throughput(Throughput::Bytes(buf.len() as u64));
            group.bench_function(
                format!("v{version}/{partitions}x{}KiB", batch / 1024),
                |b| {
                    b.iter(|| {
                        buf.clear();
                        encode_request(&mut buf, 1, Some("bench"), black_box(&req), version)
                            .unwrap();
                        black_box(buf.len())
                    });
                },
            );
        }
    }
    group.finish();
}

fn bench_metadata_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("metadata_response_decode");
    let resp = metadata_response(10, 50, 12);
    for version in [1i16, 9, 12] {
        let mut buf = BytesMut::new();
        resp.encode_body(&mut buf, version).unwrap();
        let bytes = buf.freeze();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(
            format!("v{version}/10brokers-50topics-600partitions"),
            |b| {
                b.iter(|| MetadataResponse::decode_body(black_box(&bytes), version).unwrap());
            },
        );
        // Topics and partitions stay encoded until read: decoding and then reading
        // every partition is what a consumer of the answer pays.
        group.bench_function(
            format!("v{version}/10brokers-50topics-600partitions/read"),
            |b| {
                b.iter(|| {
                    let resp = MetadataResponse::decode_body(black_box(&bytes), version).unwrap();
                    resp.topics
                        .into_iter()
                        .flat_map(|t| t.partitions)
                        .map(|p| p.replica_nodes.len())
                        .sum::<usize>()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_produce_encode, bench_metadata_decode);
criterion_main!(benches);
