//! The invariants, checked after every step and at the end of a run.

use super::*;

impl Sim<'_> {
    /// The ids of our records in a partition's log, in offset order.
    pub(super) fn log_ids(
        &self,
        partition: i32,
        committed_only: bool,
    ) -> Result<Vec<u32>, Failure> {
        let records = if committed_only {
            self.net.cluster.committed_records(TOPIC, partition)
        } else {
            self.net.cluster.records(TOPIC, partition)
        };
        records
            .iter()
            .map(|r| {
                r.value
                    .as_deref()
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|id| (*id as usize) < self.recs.len())
                    .ok_or_else(|| {
                        self.fail(format!(
                            "partition {partition} holds a record never sent: {r:?}"
                        ))
                    })
            })
            .collect()
    }

    /// Order, duplicates and placement of one partition's log.
    pub(super) fn check_log(&self, partition: i32) -> Result<(), Failure> {
        let ids = self.log_ids(partition, false)?;
        let mut seen = HashSet::new();
        let mut last_first: Option<u32> = None;
        for id in ids {
            let r = &self.recs[id as usize];
            if r.partition != partition {
                return Err(self.fail(format!(
                    "record {id} sent to partition {} found in partition {partition}",
                    r.partition
                )));
            }
            if seen.insert(id) {
                if last_first.is_some_and(|l| l > id) {
                    return Err(self.fail(format!(
                        "partition {partition}: record {id} first written after record {}, sent later",
                        last_first.unwrap_or(0)
                    )));
                }
                last_first = Some(id);
            } else if self.sc.mode != Mode::AtLeastOnce {
                return Err(self.fail(format!(
                    "partition {partition}: record {id} written twice with idempotence"
                )));
            }
            // Transactional records are judged by read_committed visibility instead. A broker
            // refusal (`DeliveryError::Broker`) speaks for the last attempt only and carries no
            // maybe-written flag: an earlier attempt whose answer was lost may be in the log
            // (without idempotence nothing tells the broker it is a retry), so it is left out.
            let broker_refusal = matches!(r.error, Some(DeliveryError::Broker { .. }));
            if let (
                Some(Outcome::Failed {
                    maybe_written: false,
                }),
                None,
                false,
            ) = (r.outcome, r.txn, broker_refusal)
            {
                return Err(self.fail(format!(
                    "record {id} is in the log although it failed with a certain outcome: {:?}",
                    r.error
                )));
            }
        }
        Ok(())
    }

    /// Per step: the logs that grew, and every record's deadline.
    pub(super) fn check_step(&mut self) -> Result<(), Failure> {
        for p in 0..self.sc.partitions {
            let hw = self.net.cluster.high_watermark(TOPIC, p).unwrap_or(0);
            let i = usize::try_from(p).unwrap_or(0);
            if hw != self.seen_hw[i] {
                self.seen_hw[i] = hw;
                self.check_log(p)?;
            }
        }
        let now = self.now_ms();
        let limit = self.sc.delivery_timeout_ms + DEADLINE_SLACK_MS;
        if let Some((id, r)) = self
            .recs
            .iter()
            .enumerate()
            .find(|(_, r)| r.outcome.is_none() && now > r.appended_ms + limit)
        {
            return Err(self.fail(format!(
                "record {id} (appended at {}ms) unresolved past delivery.timeout.ms = {}ms",
                r.appended_ms, self.sc.delivery_timeout_ms
            )));
        }
        for (token, ids) in &self.flushes {
            if self.net.engine.flush_complete(*token)
                && let Some(id) = ids
                    .iter()
                    .find(|id| self.recs[**id as usize].outcome.is_none())
            {
                return Err(self.fail(format!(
                    "flush {token} completed before record {id} resolved"
                )));
            }
        }
        self.flushes.retain(|(_, ids)| {
            ids.iter()
                .any(|id| self.recs[*id as usize].outcome.is_none())
        });
        Ok(())
    }

    /// A finished transaction: committed → every record visible once to read_committed;
    /// aborted → none.
    pub(super) fn check_txn(&mut self, t: usize) -> Result<(), Failure> {
        let group = self.net.cluster.committed_offset(GROUP, INPUT, 0);
        match self.txns[t] {
            TxnEnd::Committed => {
                if let Some(o) = self.txn_offsets[t] {
                    self.committed_offset = Some(o);
                }
                if group != self.committed_offset {
                    return Err(self.fail(format!(
                        "transaction {t} committed with offset {:?}: the group's offset is {group:?}, expected {:?}",
                        self.txn_offsets[t], self.committed_offset
                    )));
                }
            }
            TxnEnd::Aborted if group != self.committed_offset => {
                return Err(self.fail(format!(
                    "transaction {t} aborted (offset {:?}): the group's offset moved to {group:?} from {:?}",
                    self.txn_offsets[t], self.committed_offset
                )));
            }
            _ => {}
        }
        self.check_records_of_txn(t)
    }

    pub(super) fn check_records_of_txn(&self, t: usize) -> Result<(), Failure> {
        let mut visible: HashMap<u32, usize> = HashMap::new();
        for p in 0..self.sc.partitions {
            for id in self.log_ids(p, true)? {
                *visible.entry(id).or_default() += 1;
            }
        }
        for (id, r) in self.recs.iter().enumerate() {
            if r.txn != Some(t) {
                continue;
            }
            let n = visible
                .get(&u32::try_from(id).unwrap_or(0))
                .copied()
                .unwrap_or(0);
            match self.txns[t] {
                TxnEnd::Committed if n != 1 || r.outcome != Some(Outcome::Delivered) => {
                    let log: Vec<(i64, i64, i16, bool)> = self
                        .net
                        .cluster
                        .records(TOPIC, r.partition)
                        .iter()
                        .filter(|x| x.value.as_deref() == Some(id.to_string().as_bytes()))
                        .map(|x| (x.offset, x.producer_id, x.producer_epoch, x.transactional))
                        .collect();
                    return Err(self.fail(format!(
                        "transaction {t} committed, but record {id} is visible {n} time(s) to \
                         read_committed (outcome {:?}, {:?}); in the log at {log:?}, last stable \
                         offset {:?}, markers {:?}",
                        r.outcome,
                        r.error,
                        self.net.cluster.last_stable_offset(TOPIC, r.partition),
                        self.net.cluster.markers(TOPIC, r.partition),
                    )));
                }
                TxnEnd::Aborted if n != 0 => {
                    return Err(self.fail(format!(
                        "transaction {t} aborted, but record {id} is visible to read_committed"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub(super) fn check_end(&mut self) -> Result<(), Failure> {
        if let Some(id) = self.recs.iter().position(|r| r.outcome.is_none()) {
            return Err(self.fail(format!("record {id} never resolved")));
        }
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for p in 0..self.sc.partitions {
            self.check_log(p)?;
            for id in self.log_ids(p, false)? {
                *counts.entry(id).or_default() += 1;
            }
        }
        for (id, r) in self.recs.iter().enumerate() {
            let n = counts
                .get(&u32::try_from(id).unwrap_or(0))
                .copied()
                .unwrap_or(0);
            if r.outcome == Some(Outcome::Delivered) && n == 0 {
                return Err(self.fail(format!("record {id} acknowledged but not in the log")));
            }
        }
        for t in 0..self.txns.len() {
            self.check_records_of_txn(t)?;
        }
        Ok(())
    }
}
