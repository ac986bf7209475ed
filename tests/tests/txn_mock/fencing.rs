//! Fencing: the coordinator bumps the epoch of the producer's id (as a newer instance's
//! InitProducerId does on a real broker; on the mock, with a raw InitProducerId v3), noticed at
//! AddPartitionsToTxn, EndTxn or Produce; and what `send` says after a fatal error.

use std::collections::BTreeSet;
use std::time::Duration;

use ferrokafka::ErrorKind;
use ferrokafka_tests::txn::assert_begin_fatal;
use ferrokafka_tests::wire_client::WireClient;
use ferrokafka_wire::messages::{InitProducerIdRequest, RequestBody, ResponseBody};

use super::{
    Api, E, TID, TOPIC, abort, assert_abortable, assert_fatal, assert_refused_as_fatal, bounded,
    cluster, commit, committed_txn, delivered_now, outcomes, record, send_lenient, send_range,
};

/// The producer id and epoch of the first batch in `partition`, read with one raw Fetch v4
/// from `addr` (the leader).
fn first_batch_producer(addr: &str, partition: i32) -> (i64, i16) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut body = Vec::new();
    body.extend_from_slice(&1i16.to_be_bytes()); // Fetch
    body.extend_from_slice(&4i16.to_be_bytes()); // v4
    body.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    body.extend_from_slice(&1i16.to_be_bytes());
    body.push(b'f'); // client id
    body.extend_from_slice(&(-1i32).to_be_bytes()); // replica id
    body.extend_from_slice(&0i32.to_be_bytes()); // max wait
    body.extend_from_slice(&0i32.to_be_bytes()); // min bytes
    body.extend_from_slice(&(1i32 << 20).to_be_bytes()); // max bytes
    body.push(0); // read_uncommitted
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&i16::try_from(TOPIC.len()).expect("short").to_be_bytes());
    body.extend_from_slice(TOPIC.as_bytes());
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&partition.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes()); // fetch offset
    body.extend_from_slice(&(1i32 << 20).to_be_bytes());
    stream
        .write_all(&u32::try_from(body.len()).expect("small").to_be_bytes())
        .and_then(|()| stream.write_all(&body))
        .expect("send Fetch");
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).expect("Fetch response size");
    let mut resp = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut resp).expect("Fetch response");
    let i16_at = |at: usize| i16::from_be_bytes(resp[at..at + 2].try_into().expect("2"));
    let i32_at = |at: usize| i32::from_be_bytes(resp[at..at + 4].try_into().expect("4"));
    let i64_at = |at: usize| i64::from_be_bytes(resp[at..at + 8].try_into().expect("8"));
    let mut at = 4 + 4 + 4; // correlation id, throttle time, topic count
    at += 2 + usize::try_from(i16_at(at)).expect("name length");
    at += 4 + 4; // partition count, index
    assert_eq!(i16_at(at), 0, "Fetch error code");
    at += 2 + 8 + 8;
    let aborted = usize::try_from(i32_at(at).max(0)).expect("count");
    at += 4 + 16 * aborted;
    assert!(i32_at(at) > 61, "partition {partition} holds a batch");
    at += 4;
    // Batch v2: base offset 8, length 4, leader epoch 4, magic 1, crc 4, attributes 2,
    // last offset delta 4, timestamps 16, then the producer id (8) and epoch (2).
    (i64_at(at + 43), i16_at(at + 51))
}

/// The coordinator bumps the epoch of `(producer_id, epoch)` of [`TID`] (InitProducerId v3
/// with the current identity, KIP-360): what a real coordinator does when a newer instance
/// with the same `transactional.id` initializes. Returns the new epoch.
fn bump_epoch_at_coordinator(coordinator: &str, producer_id: i64, epoch: i16) -> i16 {
    let mut client = WireClient::connect(coordinator).expect("connect to the coordinator");
    let req = InitProducerIdRequest {
        transactional_id: Some(TID.to_owned()),
        transaction_timeout_ms: 60_000,
        producer_id,
        producer_epoch: epoch,
        ..Default::default()
    };
    match client
        .request(&RequestBody::InitProducerId(req), 3)
        .expect("InitProducerId v3")
    {
        ResponseBody::InitProducerId(r) => {
            assert_eq!(r.error_code, 0, "InitProducerId with the current id");
            assert_eq!(r.producer_id, producer_id, "same producer id");
            r.producer_epoch
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

/// `stage`: where the fenced producer notices: its next AddPartitionsToTxn (a new
/// transaction), its EndTxn (records already written), or its next Produce (partition already
/// added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FencedAt {
    AddPartitions,
    EndTxn,
    Produce,
}

/// Transaction 100.. of `a`, open when the fence comes: none (`AddPartitions`), ten records
/// written (`EndTxn`), or one record that added partition 1 (`Produce`).
async fn open_before_the_fence(
    a: &ferrokafka::Producer,
    stage: FencedAt,
) -> Vec<(usize, ferrokafka::RecordMetadata)> {
    match stage {
        FencedAt::AddPartitions => Vec::new(),
        FencedAt::EndTxn => {
            a.begin_transaction().expect("begin");
            delivered_now(a, 100..110, None).await
        }
        FencedAt::Produce => {
            // Add partition 1 to the transaction with one record, then fence, then produce.
            a.begin_transaction().expect("begin");
            delivered_now(a, 100..101, Some(1)).await
        }
    }
}

fn fenced(stage: FencedAt) {
    let c = cluster(1);
    let s = c.ready(&[]);
    let a = &s.p;
    let mut delivered = s.run(committed_txn(a, 0..10));
    // On the mock, a second producer with the same transactional.id gets a new producer id and
    // does not fence the first (see the module docs); it must still initialize.
    c.ready(&[]).close();
    let (pid, epoch) = first_batch_producer(&c.bootstrap, 0);
    let open = s.run(open_before_the_fence(a, stage));
    let new_epoch = bump_epoch_at_coordinator(&c.bootstrap, pid, epoch);
    eprintln!("{stage:?}: producer {pid} epoch {epoch} bumped to {new_epoch}");
    assert!(new_epoch > epoch);
    let failed = s.run(async {
        let (pending, refused) = match stage {
            FencedAt::AddPartitions => {
                a.begin_transaction().expect("begin");
                send_lenient(a, 200..210, None).await
            }
            FencedAt::EndTxn => (Vec::new(), Vec::new()),
            FencedAt::Produce => send_lenient(a, 200..210, Some(1)).await,
        };
        assert_refused_as_fatal(&refused);
        let result = commit(a).await;
        let failed = outcomes(pending).await;
        if stage == FencedAt::Produce {
            // The Produce error itself is abortable (INVALID_PRODUCER_EPOCH on Produce, KIP-588);
            // the abort's EndTxn is then refused, which is fatal.
            assert_abortable("commit", result);
        } else {
            assert_fatal("commit", result);
        }
        assert_fatal("abort", abort(a).await);
        assert_begin_fatal(a, "begin of the fenced producer");
        failed
    });
    s.close();
    for (i, r) in &failed {
        assert!(r.is_err(), "record {i} of the fenced producer: {r:?}");
    }
    // Records of the fenced transaction may be in the log (no markers on the mock).
    let aborted: BTreeSet<usize> = open.iter().map(|(i, _)| *i).collect();
    delivered.retain(|(i, _)| !aborted.contains(i));
    c.assert_log(&delivered, &aborted);
}

#[test]
fn fenced_at_add_partitions_is_fatal() {
    fenced(FencedAt::AddPartitions);
}

#[test]
fn fenced_at_end_txn_is_fatal() {
    fenced(FencedAt::EndTxn);
}

#[test]
fn fenced_at_produce_is_abortable_then_fatal() {
    fenced(FencedAt::Produce);
}

/// After a fatal transactional error, `send` must say why (the engine's own doc of
/// `SendError::Transaction`: "no transaction begun, abortable or fatal error"; Java's
/// `maybeAddPartition` throws the fatal error, e.g. `ProducerFencedException`).
///
/// Observed: `Send(Closed)` ("producer is closed") although nobody closed the producer. In
/// `Engine::run`, a fatal transaction state calls `acc.abort_all()`, which sets the
/// accumulator's `closing` flag; `Engine::append` checks `acc.is_closing()` before the
/// transaction manager's `send()`, so the fatal reason is masked as `Closed`.
#[test]
// Regression (fixed): send after a fatal transactional error (PRODUCER_FENCED) returns SendError::Closed instead of the fatal error
fn send_after_a_fatal_error_names_it() {
    let c = cluster(1);
    c.with_txn(&[], async |p| {
        c.inject(Api::EndTxn, &[E::RD_KAFKA_RESP_ERR_PRODUCER_FENCED]);
        p.begin_transaction().expect("begin");
        let pending = send_range(p, 0..5, None).await;
        assert_fatal("commit", commit(p).await);
        drop(outcomes(pending).await);
        let refused = bounded("send", p.send(record(9, None)))
            .await
            .expect_err("a fenced producer refuses sends");
        assert!(
            matches!(
                &refused,
                e if e.kind() == ErrorKind::ProducerFenced
                    && e.to_string().contains("PRODUCER_FENCED")
            ),
            "send after PRODUCER_FENCED: {refused:?}"
        );
    });
}
