//! Produce: draining ready batches per leader, assembling Produce requests, and routing each
//! partition's answer (delivered, split, or on to the retry decision).

use std::time::Instant;

use ferrokafka_accumulator::{
    BatchId, DrainedBatch, FailReason, QueueSlot, ReadySlots, TopicPartition,
};
use ferrokafka_wire::ErrorCode;
use ferrokafka_wire::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, TopicProduceData,
};
use ferrokafka_wire::messages::{ProduceRequest, ProduceResponse, RequestBody};

use super::Engine;
use super::idempotence::stamp_for;
use super::{ConnState, Pending, SentBatch, duration_ms_i32};
use crate::event::{ConnId, DeliveryError, Event, Reason};

impl Engine {
    pub(super) fn drain(&mut self, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        // The lists of the last round, emptied and refilled (their capacity kept).
        let mut ready = std::mem::take(&mut self.ready_slots);
        self.acc.ready_slots(now, &mut ready);
        if let Some(t) = ready.next_wakeup {
            wake_at(t);
        }
        self.drain_ready(&ready, now, wake_at);
        self.ready_slots = ready;
    }

    fn drain_ready(&mut self, ready: &ReadySlots, now: Instant, wake_at: &mut impl FnMut(Instant)) {
        if ready.ready.is_empty() {
            return;
        }
        // Which leaders can take a request now.
        // (foldhash: these are asked once per candidate partition, SipHash cost 115
        // instructions a question.)
        let mut sendable: foldhash::HashMap<i32, ConnId> = foldhash::HashMap::default();
        let mut leaders: foldhash::HashSet<i32> = foldhash::HashSet::default();
        // Each ready partition's leader, looked up once for this round.
        let mut ready_leaders: Vec<(QueueSlot, i32)> = Vec::with_capacity(ready.ready.len());
        for &slot in &ready.ready {
            let tp = self.acc.partition_at(slot);
            let Some(leader) = self.metadata.cluster().leader_for(&tp.topic, tp.partition) else {
                self.metadata.request_update();
                self.dirty = true;
                continue;
            };
            ready_leaders.push((slot, leader));
            if leaders.contains(&leader) {
                continue;
            }
            if let Some(conn) = self.ready_conn(leader) {
                let c = &self.conns[&conn];
                let throttled = c.throttled_until.is_some_and(|t| t > now);
                if let Some(t) = c.throttled_until.filter(|t| *t > now) {
                    wake_at(t);
                }
                if !throttled && c.in_flight() < self.config.max_in_flight_per_connection {
                    sendable.insert(leader, conn);
                }
            } else {
                self.ensure_connecting(leader, now);
            }
            leaders.insert(leader);
        }
        if sendable.is_empty() {
            return;
        }
        let txm = self.mode.manager();
        let transactional = self.mode.is_transactional();
        // A transactional producer sends only to the partitions the coordinator has added.
        let may_send =
            |tp: &TopicPartition| !transactional || txm.is_some_and(|m| m.may_send_to(tp));
        // As Java's sender: a leader with a ready partition gets every partition's head batch
        // (those still lingering too), in one request. Each candidate goes to the drain with
        // its leader, looked up once.
        let cluster = self.metadata.cluster();
        let acc = &self.acc;
        let mut routed: Vec<(QueueSlot, i32)> = ready_leaders
            .into_iter()
            .filter(|&(slot, leader)| {
                sendable.contains_key(&leader) && may_send(acc.partition_at(slot))
            })
            .collect();
        routed.extend(ready.lingering.iter().filter_map(|&slot| {
            let tp = acc.partition_at(slot);
            let leader = cluster
                .leader_for(&tp.topic, tp.partition)
                .filter(|l| sendable.contains_key(l))?;
            may_send(tp).then_some((slot, leader))
        }));
        let mut idem = self.mode.manager_mut();
        let batches = &mut self.batches;
        let drained = self.acc.drain_slots(
            &routed,
            self.config.accumulator.max_request_size,
            now,
            |req| {
                let stamp = stamp_for(idem.as_deref_mut(), batches, req, transactional)?;
                if stamp.base_sequence >= 0 {
                    batches.track(req.batch, req.tp.clone(), stamp.base_sequence);
                }
                Some(stamp)
            },
        );
        let drained_any = drained.batch_count() > 0;
        for failed in drained.failed {
            let msg = match &failed.reason {
                FailReason::Encode(e) => e.to_string(),
                other => format!("{other:?}"),
            };
            self.push_failed(
                failed.id,
                failed.tp,
                failed.record_count,
                DeliveryError::Encode(msg),
                false,
            );
        }
        if drained_any {
            // More may be ready: a drain takes one batch per partition.
            self.dirty = true;
        }
        for (leader, batches) in drained.by_leader {
            let Some(&conn) = sendable.get(&leader) else {
                continue;
            };
            self.send_produce(conn, batches, now);
        }
    }

    pub(super) fn send_produce(&mut self, conn: ConnId, batches: Vec<DrainedBatch>, now: Instant) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let ConnState::Ready(versions) = &c.state else {
            return;
        };
        let produce = if self.txn_v2 {
            &versions.produce_v2
        } else {
            &versions.produce
        };
        let version = match produce {
            Ok(v) => *v,
            Err(e) => {
                let msg = Reason::local(format!("broker {} cannot take Produce: {e}", c.node));
                for b in batches {
                    let expired = self.acc.fail(b.id).is_ok_and(|f| f.expired_in_flight);
                    self.push_failed(
                        b.id,
                        b.tp,
                        b.record_count,
                        DeliveryError::Fatal(msg.clone()),
                        expired,
                    );
                }
                return;
            }
        };
        let mut topic_data: Vec<TopicProduceData> = Vec::new();
        let mut sent = Vec::with_capacity(batches.len());
        for b in batches {
            self.counters.batches_sent += 1;
            self.counters.records_in_requests += b.record_count as u64;
            self.counters.batch_bytes += b.bytes.len() as u64;
            self.counters.batch_bytes_max = self.counters.batch_bytes_max.max(b.bytes.len() as u64);
            let topic = crate::metrics::topic_counters(&mut self.counters.by_topic, &b.tp.topic);
            topic.bytes += b.bytes.len() as u64;
            if b.compression_ratio > 0.0 {
                // compression-rate-avg: compressed / uncompressed bytes.
                #[allow(clippy::cast_precision_loss)] // batch sizes are far below 2^52
                let uncompressed = b.bytes.len() as f64 / f64::from(b.compression_ratio);
                self.counters.uncompressed_bytes += uncompressed as u64;
                topic.uncompressed_bytes += uncompressed as u64;
            }
            if b.attempts > 0 {
                self.counters.records_retried += b.record_count as u64;
                topic.records_retried += b.record_count as u64;
            } else {
                self.counters.queue_time_total += b.queue_time;
                self.counters.queue_time_max = self.counters.queue_time_max.max(b.queue_time);
                self.counters.queue_time_batches += 1;
            }
            let part = PartitionProduceData {
                index: b.tp.partition,
                records: Some(b.bytes.clone()),
                ..Default::default()
            };
            match topic_data.iter_mut().find(|t| t.name == b.tp.topic) {
                Some(t) => t.partition_data.push(part),
                None => topic_data.push(TopicProduceData {
                    name: b.tp.topic.to_string(),
                    partition_data: vec![part],
                    ..Default::default()
                }),
            }
            sent.push(SentBatch {
                id: b.id,
                tp: b.tp,
                record_count: b.record_count,
                attempts: b.attempts,
                stamp: b.stamp,
            });
        }
        if self.txn_v2
            && let Some((m, _)) = self.mode.parts_mut()
        {
            // Under v2 the partition joins the transaction with this Produce.
            m.mark_started();
        }
        let req = ProduceRequest {
            transactional_id: self.mode.txn().map(|t| t.id.clone()),
            acks: self.config.acks,
            timeout_ms: duration_ms_i32(self.config.request_timeout),
            topic_data,
            ..Default::default()
        };
        let acks_zero = self.config.acks == 0;
        if acks_zero {
            // No answer will come: the records are delivered once the driver reports the
            // request written (`handle_written`).
            match self.send_unanswered(conn, &RequestBody::Produce(req), version, now) {
                Some(send_no) => {
                    self.counters.produce_requests += 1;
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.acks0.push_back((send_no, sent));
                    }
                }
                None => self.requeue_or_fail(sent, ErrorCode::NETWORK_EXCEPTION, None, now),
            }
            return;
        }
        let body = RequestBody::Produce(req);
        if let Err(Pending::Produce(batches)) =
            self.send_request_with(conn, &body, version, Pending::Produce(sent), now)
        {
            self.requeue_or_fail(batches, ErrorCode::NETWORK_EXCEPTION, None, now);
        }
    }

    pub(super) fn handle_produce_response(
        &mut self,
        batches: Vec<SentBatch>,
        resp: ProduceResponse,
        now: Instant,
    ) {
        // Brokers answer partitions in the order they were asked: each batch's answer is
        // looked for at its own position first, and only an answer out of that order builds
        // the index by partition.
        let answers = || {
            resp.responses.iter().flat_map(|t| {
                t.partition_responses
                    .iter()
                    .map(move |p| (t.name.as_str(), p))
            })
        };
        let mut in_order = answers();
        let mut by_tp: Option<foldhash::HashMap<(&str, i32), &PartitionProduceResponse>> = None;
        let mut retry = Vec::new();
        for b in batches {
            let at_position = if by_tp.is_none() {
                in_order
                    .next()
                    .filter(|(name, p)| *name == b.tp.topic.as_str() && p.index == b.tp.partition)
            } else {
                None
            };
            let found = match at_position {
                Some((_, p)) => Some(p),
                None => by_tp
                    .get_or_insert_with(|| {
                        answers().map(|(name, p)| ((name, p.index), p)).collect()
                    })
                    .get(&(b.tp.topic.as_str(), b.tp.partition))
                    .copied(),
            };
            let Some(p) = found else {
                // The broker broke the protocol. Java treats it as UNKNOWN_SERVER_ERROR; the
                // message says what really happened.
                retry.push((
                    b,
                    ErrorCode::UNKNOWN_SERVER_ERROR,
                    Some("the broker's Produce response did not mention this partition".to_owned()),
                ));
                continue;
            };
            let code = ErrorCode(p.error_code);
            if p.current_leader.leader_id >= 0 {
                self.metadata.handle_leader_hint(
                    &b.tp.topic,
                    b.tp.partition,
                    p.current_leader.leader_id,
                    p.current_leader.leader_epoch,
                    &resp.node_endpoints,
                );
            }
            match code {
                ErrorCode::NONE => {
                    self.sequence_done(&b, true);
                    let expired = self.acc.complete(b.id).is_ok_and(|f| f.expired_in_flight);
                    let lat = (p.log_append_time_ms >= 0).then_some(p.log_append_time_ms);
                    let offset = Some(p.base_offset);
                    self.push_delivered(b.id, b.tp, offset, lat, b.record_count, expired);
                }
                ErrorCode::DUPLICATE_SEQUENCE_NUMBER if self.mode.manager().is_some() => {
                    self.sequence_done(&b, true);
                    let expired = self.acc.complete(b.id).is_ok_and(|f| f.expired_in_flight);
                    let offset = (p.base_offset >= 0).then_some(p.base_offset);
                    self.push_delivered(b.id, b.tp, offset, None, b.record_count, expired);
                }
                ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE
                    if b.record_count > 1 && !self.acc.is_expired(b.id) =>
                {
                    self.split(b, now);
                }
                _ => {
                    retry.push((b, code, p.error_message.clone()));
                }
            }
        }
        for (b, code, message) in retry {
            self.requeue_or_fail(vec![b], code, message, now);
        }
    }

    pub(super) fn split(&mut self, b: SentBatch, now: Instant) {
        // Java splits into batch.size pieces (uncompressed); the accumulator halves the limit
        // for a batch already within it, so repeated refusals always make progress.
        let limit = self.config.accumulator.batch_size;
        match self.acc.split_and_reenqueue(b.id, limit) {
            Ok(outcome) => {
                self.counters.batch_splits += 1;
                // Under idempotence the parts carry consecutive sequences from the original's
                // base (records' split), so they go out in its place with no epoch bump.
                // The parts take the original's place in the sequence tracker, each with its
                // slice of the original's (possibly renumbered) range, so each is completed,
                // failed or renumbered on its own (Java `splitAndReenqueue`).
                let counts: Vec<i32> = outcome.parts.iter().map(|p| p.record_count).collect();
                let bases = match (
                    self.batches.sequence(outcome.original),
                    self.mode.manager_mut(),
                ) {
                    (Some((tp, base)), Some(idem)) => {
                        idem.sequences_mut().split(tp, *base, &counts).ok()
                    }
                    _ => None,
                };
                let parts: Vec<BatchId> = outcome.parts.iter().map(|p| p.batch).collect();
                self.batches
                    .split(outcome.original, &parts, bases.as_deref());
                self.events.push_back(Event::Split(outcome));
            }
            Err(_) => {
                self.requeue_or_fail(vec![b], ErrorCode::MESSAGE_TOO_LARGE, None, now);
            }
        }
    }
}
