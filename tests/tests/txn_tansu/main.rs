//! Live evidence for the ferrokafka `Producer`'s transactions against the Tansu broker (0.6.0).
//!
//! Two independent readers check what the broker stored:
//!
//! - librdkafka's consumer (`ferrokafka_tests::consume`), with both isolation levels;
//! - a hand-written Fetch v4 + RecordBatch v2 decoder (no ferrokafka or librdkafka code), which
//!   shows the raw log of a partition: data batches with their transactional bit, producer id,
//!   epoch and base sequence, and control batches with their marker type (COMMIT or ABORT).
//!
//! What is shown:
//!
//! 1. one transaction over several partitions of two topics: while it is open the last stable
//!    offset stays at its first record; after the commit every record reads back (both
//!    isolation levels), and every partition's log is the transactional data followed by a
//!    COMMIT marker of the same producer id and epoch;
//! 2. an aborted transaction (its records acknowledged before the abort) is followed by an ABORT
//!    marker, the next committed one by a COMMIT marker;
//! 3. records still queued (`linger.ms` far away) when the transaction aborts fail with
//!    `DeliveryError::TransactionAborted` and never reach the broker;
//! 4. a second producer with the same `transactional.id` fences the first: the first one's next
//!    commit fails with `TxnFailureKind::Fatal`, its record is not written, the second commits
//!    with the same producer id and a higher epoch;
//! 5. `send_offsets_to_transaction`: the group's offsets are committed with the transaction;
//! 6. calls in the wrong state fail at once with `InvalidState` / `NotTransactional`;
//! 7. five transactions in a row: all records once, in order, sequences continuing; two
//!    concurrent `commit_transaction` calls both get the outcome;
//! 8. an abort racing records in flight: every future resolves (delivered or
//!    `TransactionAborted`), and the delivered ones are exactly the data before the ABORT marker;
//! 9. fencing while a transaction is open: the newer producer's init aborts it;
//! 10. empty transactions complete.
//!
//! Some tests run Tansu behind a recording proxy ([`RecordedTansu`]: Tansu advertises the
//! proxy's address, so every connection goes through it) to see the requests the producer sent
//! and the answers it got.
//!
//! Tansu 0.6.0 behaviours pinned here (each a real assertion, so a Tansu change shows up):
//! no aborted-transaction list in Fetch (below); commit markers only on partitions the
//! transaction wrote data to; the ABORT marker of a transaction aborted by a newer producer's
//! init carries the old epoch; no answer (connection closed) to EndTxn from a fenced producer;
//! offset commit metadata is dropped (for librdkafka's OffsetCommit too).
//!
//! Known peer limitation (Tansu 0.6.0): its Fetch responses never list aborted transactions, so
//! a `read_committed` consumer sees the records of aborted transactions. Test 2 pins that
//! behaviour in a separate block, so a Tansu that fixes it makes the test fail and be updated.

mod abort;
mod commit;
mod fencing;
mod offsets;
mod raw_log;
mod recorded;
mod state;

use std::future::Future;
use std::time::Duration;

use ferrokafka::{Producer, ProducerConfig};
use ferrokafka_tests::consume::{Consumed, Isolation, read_back};
use ferrokafka_tests::tansu::Tansu;
use ferrokafka_tests::txn::{call, init, utf8};

const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Producer helpers
// ---------------------------------------------------------------------------------------------

fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![("bootstrap.servers", bootstrap)];
    props.extend_from_slice(extra);
    Producer::new(ProducerConfig::from_properties(props).expect("valid config")).expect("producer")
}

fn txn_producer(bootstrap: &str, transactional_id: &str, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![("transactional.id", transactional_id)];
    props.extend_from_slice(extra);
    producer(bootstrap, &props)
}

/// [`txn_producer`], once `init_transactions` succeeded.
async fn ready(bootstrap: &str, transactional_id: &str, extra: &[(&str, &str)]) -> Producer {
    let p = txn_producer(bootstrap, transactional_id, extra);
    init(&p, WAIT).await;
    p
}

/// Runs a transactional call with a bound, so a hang fails the test instead of stalling it.
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    call(WAIT, what, fut).await
}

/// A Tansu broker (one per test) with `topic` of `partitions` partitions, and its bootstrap
/// address.
fn tansu_with(topic: &str, partitions: u32) -> (Tansu, String) {
    let broker = Tansu::start().expect("start tansu");
    broker
        .create_topic(topic, partitions)
        .expect("create topic");
    let bootstrap = broker.bootstrap();
    (broker, bootstrap)
}

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

/// Reads `topic` back with librdkafka (on a blocking thread: it polls synchronously).
async fn read(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    isolation: Isolation,
) -> Vec<Consumed> {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || read_back(&b, &t, expected, WAIT, isolation))
        .await
        .expect("read-back thread")
        .unwrap_or_else(|e| panic!("read back {topic} ({isolation:?}): {e}"))
}

/// The keys read back from `topic` (at least `expected` of them), in the order read.
async fn read_keys(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    isolation: Isolation,
) -> Vec<String> {
    let read = read(bootstrap, topic, expected, isolation).await;
    read.iter().map(|r| utf8(r.key.as_deref())).collect()
}
