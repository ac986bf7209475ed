//! The `delivery.timeout.ms` bound: in-flight and queued batches fail exactly at it.

use crate::*;

impl Sim {
    /// The broker never answers the first `silent` Produce requests (each hangs its
    /// connection) and answers the rest.
    pub(crate) fn silent_on_first_produces(mut self, silent: u32) -> Self {
        self.net
            .cluster
            .inject(Fault::hang(ApiKey::PRODUCE).times(silent));
        self
    }
}

#[test]
fn an_in_flight_batch_fails_exactly_at_the_delivery_timeout() {
    // The report: a 10 s delivery timeout with a 7 s request timeout failed records at 14 s
    // (the second request's timeout). The bound holds while the batch is in flight.
    let mut c = config();
    c.accumulator.delivery_timeout = secs(10);
    c.request_timeout = secs(7);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1)).silent_on_first_produces(u32::MAX);
    let (b, _, _) = sim.append("t", None, b"x");
    // The batch was created now (the append waited for metadata first).
    let created = sim.net.now;
    sim.run_for(ms(9_999));
    assert_eq!(sim.failure_of(b), None, "still within delivery.timeout.ms");
    assert_eq!(
        sim.served(ApiKey::PRODUCE),
        2,
        "sent, timed out at 7 s, sent again: in flight at the deadline"
    );
    sim.run_for(ms(1));
    assert_eq!(sim.net.now - created, secs(10));
    let err = sim
        .failure_of(b)
        .expect("failed at exactly delivery.timeout.ms");
    assert!(
        matches!(
            err,
            DeliveryError::DeliveryTimeout {
                maybe_written: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    assert!(err.to_string().contains("may have written it"), "{err}");
    // Reported once: the second request's later timeout adds no event.
    sim.run_for(secs(10));
    assert_eq!(
        sim.events
            .iter()
            .filter(|e| matches!(e, Event::Failed { batch, .. } | Event::Delivered { batch, .. } if *batch == b))
            .count(),
        1
    );
    assert!(!sim.net.engine.has_incomplete());
}

#[test]
fn a_queued_batch_never_sent_fails_at_the_delivery_timeout_as_not_written() {
    let mut c = config();
    c.accumulator.delivery_timeout = secs(3);
    c.request_timeout = secs(1);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1));
    sim.append("t", None, b"warm-up");
    sim.run_for(ms(20));
    // The broker goes away: the engine sees its connections close, new ones are refused.
    sim.net.cluster.broker_down(1);
    sim.settle();
    let (b, _, _) = sim.append("t", None, b"x");
    // The batch was created now (the append waited for metadata first).
    let created = sim.net.now;
    sim.run_for(secs(3));
    assert_eq!(sim.net.now - created, secs(3));
    let err = sim.failure_of(b).expect("failed");
    assert!(
        !err.outcome_unknown(),
        "never sent: certainly not written: {err}"
    );
    assert_eq!(sim.values("t", 0), ["warm-up"]);
}

#[test]
fn an_idempotent_partition_waits_for_its_expired_batch_then_goes_on_under_a_new_epoch() {
    let mut c = config();
    c.idempotence = true;
    c.accumulator.delivery_timeout = secs(10);
    c.request_timeout = secs(7);
    // The first two Produce requests (the batch and its retry) are never answered.
    let mut sim = Sim::new(c, brokers(1).topic("t", 1)).silent_on_first_produces(2);
    let (first, _, _) = sim.append("t", None, b"lost");
    sim.run_for(secs(10));
    assert!(
        sim.failure_of(first).is_some_and(|e| e.outcome_unknown()),
        "{:?} {:?}",
        sim.events,
        sim.order()
    );
    // Sent after the expiry, while the expired batch's request is still out: held back.
    let (second, _, _) = sim.append("t", None, b"after");
    sim.run_for(secs(2));
    assert_eq!(
        sim.served(ApiKey::PRODUCE),
        2,
        "nothing more is sent to the partition while its expired batch is unresolved"
    );
    assert!(!sim.delivered().contains_key(&second));
    // The retry's request times out (lost): the gap it may leave is closed by an epoch bump,
    // and the held record goes out under the new epoch from sequence 0.
    sim.run_for(secs(10));
    assert!(sim.delivered().contains_key(&second), "{:?}", sim.events);
    assert_eq!(sim.values("t", 0), ["after"]);
    assert_eq!(sim.stamps("t", 0), vec![(1, 0)]);
    assert!(!sim.net.engine.has_incomplete());
}

#[test]
fn an_in_flight_expiry_makes_the_transaction_abortable() {
    let mut c = txn_config();
    c.accumulator.delivery_timeout = secs(10);
    c.request_timeout = secs(7);
    let mut sim = Sim::new(c, brokers(1).topic("t", 1)).silent_on_first_produces(u32::MAX);
    sim.init();
    sim.net.engine.begin_transaction().unwrap();
    let (b, _, _) = sim.append("t", None, b"x");
    sim.run_for(secs(10));
    assert!(sim.failure_of(b).is_some_and(|e| e.outcome_unknown()));
    assert_eq!(
        sim.net.engine.commit_transaction().map_err(|f| f.kind),
        Err(TxnFailureKind::Abortable)
    );
}
