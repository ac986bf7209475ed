//! Writes seed inputs for the wire fuzz targets into the workspace's `fuzz/corpus/`: for every
//! message and version, the default value and a populated one, prefixed with the
//! version byte the targets read; and a few complete frames.
//!
//! Run: `cargo run -p ferrokafka-wire --example wire_fuzz_seeds`.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use ferrokafka_wire::frame::{encode_request, encode_response};
use ferrokafka_wire::message::Message;
use ferrokafka_wire::messages::*;
use ferrokafka_wire::{RequestBody, ResponseBody};

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    std::fs::write(dir.join(name), data).expect("write seed");
}

fn seeds<T: Message>(target: &str, samples: &[T]) {
    for version in T::MIN_VERSION..=T::MAX_VERSION {
        for (i, msg) in samples.iter().enumerate() {
            let mut buf = BytesMut::new();
            buf.extend_from_slice(&[(version - T::MIN_VERSION) as u8]);
            if msg.encode_body(&mut buf, version).is_ok() {
                write(target, &format!("seed-v{version}-{i}"), &buf);
            }
        }
    }
}

fn produce_request() -> ProduceRequest {
    ProduceRequest {
        transactional_id: Some("txn-1".into()),
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![produce::TopicProduceData {
            name: "topic".into(),
            partition_data: vec![produce::PartitionProduceData {
                index: 0,
                records: Some(Bytes::from_static(&[0; 61])),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn metadata_response() -> MetadataResponse {
    MetadataResponse {
        brokers: vec![metadata::MetadataResponseBroker {
            node_id: 1,
            host: "127.0.0.1".into(),
            port: 9092,
            rack: Some("r1".into()),
            ..Default::default()
        }],
        cluster_id: Some("cluster".into()),
        controller_id: 1,
        topics: vec![metadata::MetadataResponseTopic {
            name: Some("topic".into()),
            partitions: vec![metadata::MetadataResponsePartition {
                partition_index: 0,
                leader_id: 1,
                leader_epoch: 3,
                replica_nodes: vec![1],
                isr_nodes: vec![1],
                ..Default::default()
            }]
            .into(),
            ..Default::default()
        }]
        .into(),
        ..Default::default()
    }
}

fn produce_response() -> ProduceResponse {
    ProduceResponse {
        responses: vec![produce::TopicProduceResponse {
            name: "topic".into(),
            partition_responses: vec![produce::PartitionProduceResponse {
                index: 0,
                error_code: 6,
                base_offset: 42,
                current_leader: produce::LeaderIdAndEpoch {
                    leader_id: 2,
                    leader_epoch: 7,
                    ..Default::default()
                },
                ..Default::default()
            }],
            ..Default::default()
        }],
        node_endpoints: vec![produce::NodeEndpoint {
            node_id: 2,
            host: "localhost".into(),
            port: 9093,
            ..Default::default()
        }],
        ..Default::default()
    }
}

macro_rules! defaults {
    ($($target:literal => $t:ty),* $(,)?) => {$(
        seeds::<$t>($target, &[<$t>::default()]);
    )*};
}

fn main() {
    defaults! {
        "wire_request_api_versions" => ApiVersionsRequest,
        "wire_response_api_versions" => ApiVersionsResponse,
        "wire_request_metadata" => MetadataRequest,
        "wire_request_init_producer_id" => InitProducerIdRequest,
        "wire_response_init_producer_id" => InitProducerIdResponse,
        "wire_request_find_coordinator" => FindCoordinatorRequest,
        "wire_response_find_coordinator" => FindCoordinatorResponse,
        "wire_request_add_partitions_to_txn" => AddPartitionsToTxnRequest,
        "wire_response_add_partitions_to_txn" => AddPartitionsToTxnResponse,
        "wire_request_add_offsets_to_txn" => AddOffsetsToTxnRequest,
        "wire_response_add_offsets_to_txn" => AddOffsetsToTxnResponse,
        "wire_request_end_txn" => EndTxnRequest,
        "wire_response_end_txn" => EndTxnResponse,
        "wire_request_txn_offset_commit" => TxnOffsetCommitRequest,
        "wire_response_txn_offset_commit" => TxnOffsetCommitResponse,
        "wire_request_sasl_handshake" => SaslHandshakeRequest,
        "wire_response_sasl_handshake" => SaslHandshakeResponse,
        "wire_request_sasl_authenticate" => SaslAuthenticateRequest,
        "wire_response_sasl_authenticate" => SaslAuthenticateResponse,
        "wire_request_create_topics" => CreateTopicsRequest,
        "wire_response_create_topics" => CreateTopicsResponse,
    }
    seeds(
        "wire_request_produce",
        &[ProduceRequest::default(), produce_request()],
    );
    seeds(
        "wire_response_produce",
        &[ProduceResponse::default(), produce_response()],
    );
    seeds(
        "wire_response_metadata",
        &[MetadataResponse::default(), metadata_response()],
    );

    // Frames: selector bytes (api index, version) then size-prefixed frames.
    let mut frame = BytesMut::from(&[0u8, 9][..]);
    encode_request(
        &mut frame,
        0,
        Some("seed"),
        &RequestBody::from(produce_request()),
        9,
    )
    .unwrap();
    write("wire_frame", "seed-produce-v9", &frame);
    let mut frame = BytesMut::from(&[1u8, 12][..]);
    encode_response(&mut frame, 0, &ResponseBody::from(metadata_response()), 12).unwrap();
    encode_response(&mut frame, 1, &ResponseBody::from(metadata_response()), 12).unwrap();
    write("wire_frame", "seed-metadata-v12-x2", &frame);
    println!("seeds written");
}
