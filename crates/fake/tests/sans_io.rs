//! The cluster as a sans-IO state machine: request frames in, answer frames out, time passed
//! in. Each test reads like a transcript: what the client sends, what the fake answers.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokafka_fake::{Cluster, ClusterConfig, ConnId, Fault, TopicConfig, TxnStatus};
use ferrokafka_records::{BatchBuilder, Compression, ProducerStamp};
use ferrokafka_wire::frame::{decode_response, encode_request};
use ferrokafka_wire::messages::create_topics::{CreatableTopic, CreatableTopicConfig};
use ferrokafka_wire::messages::fetch::{FetchPartition, FetchTopic};
use ferrokafka_wire::messages::list_offsets::{ListOffsetsPartition, ListOffsetsTopic};
use ferrokafka_wire::messages::offset_fetch::OffsetFetchRequestTopic;
use ferrokafka_wire::messages::produce::{PartitionProduceData, TopicProduceData};
use ferrokafka_wire::messages::txn::AddPartitionsToTxnTopic;
use ferrokafka_wire::messages::txn::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use ferrokafka_wire::messages::*;
use ferrokafka_wire::{ApiKey, ErrorCode, RequestBody, ResponseBody};

const WALL: i64 = 1_700_000_000_000;

struct Client {
    cluster: Cluster,
    conns: Vec<(i32, ConnId)>,
    now: Instant,
    correlation: i32,
}

impl Client {
    fn new(config: ClusterConfig) -> Self {
        Self {
            cluster: Cluster::new(config),
            conns: Vec::new(),
            now: Instant::now(),
            correlation: 0,
        }
    }

    fn conn(&mut self, broker: i32) -> ConnId {
        if let Some((_, c)) = self
            .conns
            .iter()
            .find(|(b, c)| *b == broker && !self.cluster.is_closed(*c))
        {
            return *c;
        }
        let c = self.cluster.connect(broker).expect("connect");
        self.conns.push((broker, c));
        c
    }

    /// Sends a request; returns the answer if one is due now.
    fn send(&mut self, broker: i32, body: RequestBody, version: i16) -> Option<ResponseBody> {
        let conn = self.conn(broker);
        self.send_on(conn, body, version)
    }

    fn send_on(&mut self, conn: ConnId, body: RequestBody, version: i16) -> Option<ResponseBody> {
        self.correlation += 1;
        let api = body.api_key();
        let mut frame = BytesMut::new();
        encode_request(&mut frame, self.correlation, Some("t"), &body, version).expect("encode");
        self.cluster.handle_frame(conn, &frame[4..], self.now, WALL);
        self.receive(conn, api, version)
    }

    fn receive(&mut self, conn: ConnId, api: ApiKey, version: i16) -> Option<ResponseBody> {
        let frame = self.cluster.poll_transmit(conn, self.now)?;
        let (_, body) = decode_response(&frame[4..], api, version).expect("decode answer");
        Some(body)
    }
}

fn batch(stamp: ProducerStamp, values: &[&str]) -> Bytes {
    let mut b = BatchBuilder::new(Compression::NONE, 1024);
    for v in values {
        b.append(WALL, None, Some(v.as_bytes()), &[])
            .expect("append");
    }
    b.close(stamp).expect("close").into_bytes()
}

fn produce(topic: &str, partition: i32, records: Bytes, txn: Option<&str>) -> RequestBody {
    ProduceRequest {
        transactional_id: txn.map(str::to_owned),
        acks: -1,
        timeout_ms: 1000,
        topic_data: vec![TopicProduceData {
            name: topic.into(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
    .into()
}

/// (error code, base offset, log append time) of the single partition answered.
fn produce_result(r: Option<ResponseBody>) -> (ErrorCode, i64, i64) {
    let Some(ResponseBody::Produce(r)) = r else {
        panic!("no Produce answer: {r:?}");
    };
    let p = &r.responses[0].partition_responses[0];
    (ErrorCode(p.error_code), p.base_offset, p.log_append_time_ms)
}

fn init_pid(c: &mut Client, broker: i32, txn: Option<&str>) -> (i64, i16) {
    let req = InitProducerIdRequest {
        transactional_id: txn.map(str::to_owned),
        transaction_timeout_ms: 60_000,
        ..Default::default()
    };
    let Some(ResponseBody::InitProducerId(r)) = c.send(broker, req.into(), 4) else {
        panic!("no InitProducerId answer");
    };
    assert_eq!(ErrorCode(r.error_code), ErrorCode::NONE);
    (r.producer_id, r.producer_epoch)
}

/// AddPartitionsToTxn of `t`/0 to transaction `tx` for producer `pid` at `epoch`.
fn add_t0(pid: i64, epoch: i16) -> AddPartitionsToTxnRequest {
    AddPartitionsToTxnRequest {
        transactional_id: "tx".into(),
        producer_id: pid,
        producer_epoch: epoch,
        topics: vec![AddPartitionsToTxnTopic {
            name: "t".into(),
            partitions: vec![0],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Adds `t`/0 to transaction `tx` (coordinator broker 1); the stamp of its first batch.
fn begin_txn_on_t0(c: &mut Client, pid: i64, epoch: i16) -> ProducerStamp {
    c.send(1, add_t0(pid, epoch).into(), 3);
    ProducerStamp {
        producer_id: pid,
        producer_epoch: epoch,
        base_sequence: 0,
        transactional: true,
    }
}

/// Ends transaction `tx` (coordinator broker 1), committing or aborting it; the answer's code.
fn end_txn(c: &mut Client, pid: i64, epoch: i16, committed: bool) -> ErrorCode {
    let end = EndTxnRequest {
        transactional_id: "tx".into(),
        producer_id: pid,
        producer_epoch: epoch,
        committed,
        ..Default::default()
    };
    let Some(ResponseBody::EndTxn(r)) = c.send(1, end.into(), 3) else {
        panic!("not an EndTxn answer")
    };
    ErrorCode(r.error_code)
}

#[test]
fn idempotent_duplicates_get_their_original_offsets_and_gaps_are_out_of_order() {
    let mut c = Client::new(ClusterConfig::builder().topic("t", 1).build());
    let (pid, epoch) = init_pid(&mut c, 1, None);
    let b0 = batch(ProducerStamp::idempotent(pid, epoch, 0), &["a", "b"]);
    let b1 = batch(ProducerStamp::idempotent(pid, epoch, 2), &["c"]);
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, b0.clone(), None), 9)).1,
        0
    );
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, b1.clone(), None), 9)).1,
        2
    );
    // A retry of the first batch: success, its original offset, nothing appended.
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, b0, None), 9)),
        (ErrorCode::NONE, 0, -1)
    );
    assert_eq!(c.cluster.high_watermark("t", 0), Some(3));
    // A gap.
    let gap = batch(ProducerStamp::idempotent(pid, epoch, 7), &["x"]);
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, gap, None), 9)).0,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    // An unknown producer id starting mid-stream.
    let stranger = batch(ProducerStamp::idempotent(pid + 50, 0, 4), &["y"]);
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, stranger, None), 9)).0,
        ErrorCode::UNKNOWN_PRODUCER_ID
    );
    let state = c.cluster.producer_state("t", 0, pid).expect("state");
    assert_eq!(state.batches.len(), 2);
    assert_eq!(c.cluster.records("t", 0).len(), 3);
}

#[test]
fn an_old_epoch_is_fenced_after_init_producer_id_bumps_it() {
    let mut c = Client::new(ClusterConfig::builder().topic("t", 1).build());
    let (pid, e0) = init_pid(&mut c, 1, Some("tx"));
    let (pid2, e1) = init_pid(&mut c, 1, Some("tx"));
    assert_eq!((pid2, e1), (pid, e0 + 1));
    // The zombie's coordinator calls are fenced.
    let add = add_t0(pid, e0);
    let Some(ResponseBody::AddPartitionsToTxn(r)) = c.send(1, add.clone().into(), 3) else {
        panic!()
    };
    assert_eq!(
        ErrorCode(r.results_by_topic[0].results_by_partition[0].partition_error_code),
        ErrorCode::PRODUCER_FENCED
    );
    // The current epoch adds the partition and produces; the zombie's batch is refused.
    let add = AddPartitionsToTxnRequest {
        producer_epoch: e1,
        ..add
    };
    c.send(1, add.into(), 3);
    let stamp = |epoch| ProducerStamp {
        producer_id: pid,
        producer_epoch: epoch,
        base_sequence: 0,
        transactional: true,
    };
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, batch(stamp(e1), &["ok"]), Some("tx")), 9)).0,
        ErrorCode::NONE
    );
    let zombie = batch(
        ProducerStamp {
            base_sequence: 1,
            ..stamp(e0)
        },
        &["zombie"],
    );
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, zombie, Some("tx")), 9)).0,
        ErrorCode::INVALID_PRODUCER_EPOCH
    );
}

#[test]
fn an_abort_leaves_records_invisible_below_the_last_stable_offset() {
    let mut c = Client::new(ClusterConfig::builder().topic("t", 1).build());
    let (pid, epoch) = init_pid(&mut c, 1, Some("tx"));
    let stamp = begin_txn_on_t0(&mut c, pid, epoch);
    produce_result(c.send(1, produce("t", 0, batch(stamp, &["a", "b"]), Some("tx")), 9));
    // Open transaction: the LSO holds at its first offset.
    assert_eq!(c.cluster.last_stable_offset("t", 0), Some(0));
    assert_eq!(
        c.cluster.transaction("tx").unwrap().status,
        TxnStatus::Ongoing
    );
    assert_eq!(end_txn(&mut c, pid, epoch, false), ErrorCode::NONE);
    assert_eq!(c.cluster.last_stable_offset("t", 0), Some(3));
    assert!(c.cluster.committed_records("t", 0).is_empty());
    assert_eq!(c.cluster.records("t", 0).len(), 2);
    // A read_committed Fetch lists the aborted transaction.
    let fetch = FetchRequest {
        max_wait_ms: 0,
        min_bytes: 1,
        isolation_level: 1,
        topics: vec![FetchTopic {
            topic: "t".into(),
            partitions: vec![FetchPartition {
                partition: 0,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let Some(ResponseBody::Fetch(r)) = c.send(1, fetch.into(), 12) else {
        panic!()
    };
    let p = &r.responses[0].partitions[0];
    assert_eq!((p.high_watermark, p.last_stable_offset), (3, 3));
    let aborted = p.aborted_transactions.as_ref().expect("aborted list");
    assert_eq!(aborted.len(), 1);
    assert_eq!((aborted[0].producer_id, aborted[0].first_offset), (pid, 0));
    assert_eq!(c.cluster.markers("t", 0).len(), 1);
}

#[test]
fn a_transaction_older_than_its_timeout_is_aborted_and_its_producer_fenced() {
    let mut c = Client::new(ClusterConfig::builder().topic("t", 1).build());
    let (pid, epoch) = init_pid(&mut c, 1, Some("tx")); // timeout 60 s
    let stamp = begin_txn_on_t0(&mut c, pid, epoch);
    produce_result(c.send(1, produce("t", 0, batch(stamp, &["late"]), Some("tx")), 9));
    c.now += Duration::from_secs(59);
    assert!(c.cluster.expire_transactions(c.now, WALL).is_empty());
    assert_eq!(c.cluster.last_stable_offset("t", 0), Some(0));
    // Past the timeout, any request (here a consumer's Metadata) lets the coordinator abort.
    c.now += Duration::from_secs(2);
    c.send(1, MetadataRequest::default().into(), 12);
    let state = c.cluster.transaction("tx").unwrap();
    assert_eq!(
        (state.status, state.producer_epoch),
        (TxnStatus::CompleteAbort, epoch + 1)
    );
    assert_eq!(c.cluster.last_stable_offset("t", 0), Some(2));
    assert!(c.cluster.committed_records("t", 0).is_empty());
    // The producer's commit is fenced.
    assert_eq!(
        end_txn(&mut c, pid, epoch, true),
        ErrorCode::PRODUCER_FENCED
    );
}

#[test]
fn faults_fail_delay_hold_and_drop() {
    let mut c = Client::new(ClusterConfig::builder().brokers(2).topic("t", 2).build());
    let plain = || batch(ProducerStamp::NONE, &["v"]);
    // Partition 0 is led by broker 1, partition 1 by broker 2.
    assert_eq!(c.cluster.leader("t", 0), Some((1, 0)));
    c.cluster.inject(
        Fault::fail(
            ApiKey::PRODUCE,
            &[ErrorCode::NOT_ENOUGH_REPLICAS, ErrorCode::REQUEST_TIMED_OUT],
        )
        .on_partition("t", 0),
    );
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, plain(), None), 9)).0,
        ErrorCode::NOT_ENOUGH_REPLICAS
    );
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, plain(), None), 9)).0,
        ErrorCode::REQUEST_TIMED_OUT
    );
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, plain(), None), 9)).0,
        ErrorCode::NONE
    );
    assert_eq!(c.cluster.pending_faults(), 0);

    // Delay: the answer is due only later.
    c.cluster
        .inject(Fault::delay(ApiKey::PRODUCE, Duration::from_millis(50)).on_broker(1));
    assert!(c.send(1, produce("t", 0, plain(), None), 9).is_none());
    let conn = c.conn(1);
    let due = c.cluster.poll_timeout(conn).expect("a timer");
    assert_eq!(due, c.now + Duration::from_millis(50));
    c.now = due;
    assert_eq!(
        produce_result(c.receive(conn, ApiKey::PRODUCE, 9)).0,
        ErrorCode::NONE
    );

    // Hold: nothing leaves until released, and later answers queue behind it.
    c.cluster.inject(Fault::hold(ApiKey::METADATA));
    assert!(c.send(1, MetadataRequest::default().into(), 12).is_none());
    assert!(c.send(1, produce("t", 0, plain(), None), 9).is_none());
    assert_eq!(c.cluster.held(), 1);
    assert_eq!(c.cluster.release_held(), 1);
    assert!(matches!(
        c.receive(conn, ApiKey::METADATA, 12),
        Some(ResponseBody::Metadata(_))
    ));
    assert!(matches!(
        c.receive(conn, ApiKey::PRODUCE, 9),
        Some(ResponseBody::Produce(_))
    ));

    // Drop: the connection closes without an answer, nothing is appended.
    let before = c.cluster.high_watermark("t", 0);
    c.cluster.inject(Fault::drop_connection(ApiKey::PRODUCE));
    assert!(c.send(1, produce("t", 0, plain(), None), 9).is_none());
    assert!(c.cluster.is_closed(conn));
    assert_eq!(c.cluster.high_watermark("t", 0), before);
}

#[test]
fn a_hang_serves_and_answers_nothing_more_on_its_connection() {
    let mut c = Client::new(ClusterConfig::builder().topic("t", 1).build());
    let plain = || batch(ProducerStamp::NONE, &["v"]);
    // An answer queued before the hang still leaves.
    c.cluster
        .inject(Fault::delay(ApiKey::METADATA, Duration::from_millis(10)));
    assert!(c.send(1, MetadataRequest::default().into(), 12).is_none());
    c.cluster.inject(Fault::hang(ApiKey::PRODUCE));
    assert!(c.send(1, produce("t", 0, plain(), None), 9).is_none());
    // Read by nobody: neither served nor counted.
    assert!(c.send(1, produce("t", 0, plain(), None), 9).is_none());
    assert!(c.send(1, MetadataRequest::default().into(), 12).is_none());
    assert_eq!(c.cluster.requests_served(ApiKey::PRODUCE), 1);
    assert_eq!(c.cluster.requests_served(ApiKey::METADATA), 1);
    assert_eq!(c.cluster.high_watermark("t", 0), Some(0));
    let conn = c.conn(1);
    assert!(!c.cluster.is_closed(conn), "a hung connection stays open");
    c.now += Duration::from_millis(10);
    assert!(matches!(
        c.receive(conn, ApiKey::METADATA, 12),
        Some(ResponseBody::Metadata(_))
    ));
    c.now += Duration::from_secs(3600);
    assert!(c.cluster.poll_timeout(conn).is_none());
    assert!(c.cluster.poll_transmit(conn, c.now).is_none());
    assert_eq!(c.cluster.pending_faults(), 0);
    // Another connection is served.
    let other = c.cluster.connect(1).expect("connect");
    assert_eq!(
        produce_result(c.send_on(other, produce("t", 0, plain(), None), 9)).0,
        ErrorCode::NONE
    );
    assert_eq!(c.cluster.high_watermark("t", 0), Some(1));
}

#[test]
fn leaders_move_brokers_go_down_and_topic_limits_hold() {
    let mut c = Client::new(
        ClusterConfig::builder()
            .brokers(3)
            .topic("t", 1)
            .topic_with(
                "small",
                1,
                TopicConfig {
                    log_append_time: true,
                    max_message_bytes: 100,
                },
            )
            .build(),
    );
    let plain = |v: &str| batch(ProducerStamp::NONE, &[v]);
    assert_eq!(c.cluster.broker_at("127.0.0.1", 9093), Some(2));
    assert!(c.cluster.move_leader("t", 0, 2));
    assert_eq!(c.cluster.leader("t", 0), Some((2, 1)));
    assert_eq!(
        produce_result(c.send(1, produce("t", 0, plain("a"), None), 10)).0,
        ErrorCode::NOT_LEADER_OR_FOLLOWER
    );
    assert_eq!(
        produce_result(c.send(2, produce("t", 0, plain("a"), None), 10)).0,
        ErrorCode::NONE
    );
    c.cluster.broker_down(2);
    assert!(c.cluster.connect(2).is_err());
    let (leader, epoch) = c.cluster.leader("t", 0).unwrap();
    assert!(leader != 2 && epoch == 2);
    c.cluster.set_not_enough_replicas("t", true);
    assert_eq!(
        produce_result(c.send(leader, produce("t", 0, plain("b"), None), 10)).0,
        ErrorCode::NOT_ENOUGH_REPLICAS
    );
    c.cluster.set_not_enough_replicas("t", false);
    // max.message.bytes and LogAppendTime.
    let (small_leader, _) = c.cluster.leader("small", 0).unwrap();
    let big = "x".repeat(200);
    assert_eq!(
        produce_result(c.send(small_leader, produce("small", 0, plain(&big), None), 10)).0,
        ErrorCode::MESSAGE_TOO_LARGE
    );
    assert_eq!(
        produce_result(c.send(small_leader, produce("small", 0, plain("s"), None), 10)),
        (ErrorCode::NONE, 0, WALL)
    );
    assert_eq!(c.cluster.records("small", 0)[0].timestamp, WALL);
    // Throttling shows in the answer.
    c.cluster.set_throttle(ApiKey::PRODUCE, 250);
    let Some(ResponseBody::Produce(r)) =
        c.send(small_leader, produce("small", 0, plain("s"), None), 10)
    else {
        panic!()
    };
    assert_eq!(r.throttle_time_ms, 250);
}

#[test]
fn api_versions_advertise_the_configured_ranges_and_transaction_version() {
    let mut c = Client::new(
        ClusterConfig::builder()
            .api_versions(ApiKey::PRODUCE, 3, 8)
            .transactions_v2(true)
            .build(),
    );
    let Some(ResponseBody::ApiVersions(r)) = c.send(1, ApiVersionsRequest::default().into(), 3)
    else {
        panic!()
    };
    assert_eq!(r.range(ApiKey::PRODUCE), Some((3, 8)));
    assert_eq!(r.range(ApiKey::FETCH), Some((4, 12)));
    assert!(r.transactions_v2());
    // A Produce above the advertised range closes the connection, as Kafka does.
    let conn = c.conn(1);
    assert!(
        c.send_on(
            conn,
            produce("t", 0, batch(ProducerStamp::NONE, &["v"]), None),
            9
        )
        .is_none()
    );
    assert!(c.cluster.is_closed(conn));
    // Garbage closes the connection too, without a panic.
    let conn = c.conn(1);
    c.cluster.handle_frame(conn, &[0, 0, 0xff], c.now, WALL);
    assert!(c.cluster.is_closed(conn));
}

#[test]
fn offsets_sent_in_a_transaction_are_fetched_after_the_commit_and_list_offsets_answers() {
    let mut c = Client::new(ClusterConfig::builder().build());
    // CreateTopics with a config the fake honours.
    let create = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: "in".into(),
            num_partitions: 2,
            replication_factor: 1,
            configs: vec![CreatableTopicConfig {
                name: "message.timestamp.type".into(),
                value: Some("LogAppendTime".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let Some(ResponseBody::CreateTopics(r)) = c.send(1, create.clone().into(), 7) else {
        panic!()
    };
    assert_eq!((r.topics[0].error_code, r.topics[0].num_partitions), (0, 2));
    let Some(ResponseBody::CreateTopics(r)) = c.send(1, create.into(), 7) else {
        panic!()
    };
    assert_eq!(
        ErrorCode(r.topics[0].error_code),
        ErrorCode::TOPIC_ALREADY_EXISTS
    );

    let (pid, epoch) = init_pid(&mut c, 1, Some("tx"));
    let add = AddOffsetsToTxnRequest {
        transactional_id: "tx".into(),
        producer_id: pid,
        producer_epoch: epoch,
        group_id: "g".into(),
        ..Default::default()
    };
    let Some(ResponseBody::AddOffsetsToTxn(r)) = c.send(1, add.into(), 3) else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    let commit = TxnOffsetCommitRequest {
        transactional_id: "tx".into(),
        group_id: "g".into(),
        producer_id: pid,
        producer_epoch: epoch,
        topics: vec![TxnOffsetCommitRequestTopic {
            name: "in".into(),
            partitions: vec![TxnOffsetCommitRequestPartition {
                partition_index: 1,
                committed_offset: 42,
                committed_metadata: Some("m".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let Some(ResponseBody::TxnOffsetCommit(r)) = c.send(1, commit.into(), 3) else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let fetch = OffsetFetchRequest {
        group_id: "g".into(),
        topics: Some(vec![OffsetFetchRequestTopic {
            name: "in".into(),
            partition_indexes: vec![1],
            ..Default::default()
        }]),
        require_stable: true,
        ..Default::default()
    };
    let offset_fetch = |c: &mut Client| {
        let Some(ResponseBody::OffsetFetch(r)) = c.send(1, fetch.clone().into(), 7) else {
            panic!()
        };
        let p = &r.topics[0].partitions[0];
        (ErrorCode(p.error_code), p.committed_offset)
    };
    assert_eq!(
        offset_fetch(&mut c),
        (ErrorCode::UNSTABLE_OFFSET_COMMIT, -1)
    );
    assert_eq!(end_txn(&mut c, pid, epoch, true), ErrorCode::NONE);
    assert_eq!(offset_fetch(&mut c), (ErrorCode::NONE, 42));

    // ListOffsets: earliest and latest of a partition holding two records.
    c.send(
        1,
        produce("in", 0, batch(ProducerStamp::NONE, &["a", "b"]), None),
        9,
    );
    let list = |timestamp| -> RequestBody {
        ListOffsetsRequest {
            replica_id: -1,
            isolation_level: 1,
            topics: vec![ListOffsetsTopic {
                name: "in".into(),
                partitions: vec![ListOffsetsPartition {
                    partition_index: 0,
                    timestamp,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
        .into()
    };
    for (timestamp, offset) in [(-2, 0), (-1, 2), (WALL, 0)] {
        let Some(ResponseBody::ListOffsets(r)) = c.send(1, list(timestamp), 7) else {
            panic!()
        };
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.offset),
            (0, offset),
            "timestamp {timestamp}"
        );
    }
}
