//! The engine's events (deliveries, failures, transactional results) matched against the
//! application's records and transactions.

use super::*;

impl Sim<'_> {
    pub(super) fn resolve(
        &mut self,
        batch: BatchId,
        outcome: Outcome,
        error: Option<&DeliveryError>,
        count: i32,
    ) -> Result<(), Failure> {
        let Some(members) = self.batches.remove(&batch) else {
            return Err(self.fail(format!("an event for unknown or finished batch {batch}")));
        };
        if usize::try_from(count).ok() != Some(members.len()) {
            return Err(self.fail(format!(
                "batch {batch} resolved with {count} records, {} were appended to it",
                members.len()
            )));
        }
        for (id, _) in members {
            let step = self.step;
            let r = &mut self.recs[id as usize];
            if r.outcome.is_some() {
                return Err(Failure {
                    step,
                    at_ms: ms(self.net.now - self.net.start),
                    message: format!("record {id} resolved twice"),
                });
            }
            r.outcome = Some(outcome);
            r.error = error.cloned();
            let took = ms(self.net.now - self.net.start).saturating_sub(r.appended_ms);
            self.summary.slowest_ms = self.summary.slowest_ms.max(took);
            match outcome {
                Outcome::Delivered => self.summary.delivered += 1,
                Outcome::Failed { .. } => self.summary.failed += 1,
            }
        }
        Ok(())
    }

    pub(super) fn check_event(&mut self, ev: Event) -> Result<(), Failure> {
        if self.trace.is_some() {
            let members = match &ev {
                Event::Delivered { batch, .. } | Event::Failed { batch, .. } => format!(
                    " records {:?}",
                    self.batches
                        .get(batch)
                        .map(|m| m.iter().map(|(id, _)| *id).collect::<Vec<_>>())
                ),
                _ => String::new(),
            };
            self.log(|| format!("event {ev:?}{members}"));
        }
        match ev {
            Event::Delivered {
                batch,
                record_count,
                ..
            } => self.resolve(batch, Outcome::Delivered, None, record_count),
            Event::Failed {
                batch,
                record_count,
                error,
                ..
            } => {
                let outcome = Outcome::Failed {
                    maybe_written: error.outcome_unknown(),
                };
                if matches!(error, DeliveryError::DeliveryTimeout { .. }) {
                    self.summary.timed_out += u64::try_from(record_count).unwrap_or(0);
                }
                self.resolve(batch, outcome, Some(&error), record_count)
            }
            Event::Split(split) => {
                self.summary.splits += 1;
                let Some(members) = self.batches.remove(&split.original) else {
                    return Err(self.fail(format!("split of unknown batch {}", split.original)));
                };
                for (id, index) in members {
                    let Some(h) = split.locate(index) else {
                        return Err(self.fail(format!("split lost record {id}")));
                    };
                    self.batches.entry(h.batch).or_default().push((id, h.index));
                }
                for v in self.batches.values_mut() {
                    v.sort_by_key(|(_, i)| *i);
                }
                Ok(())
            }
            Event::Transaction { call, result } => self.on_txn(call, result.map_err(|e| e.kind)),
            _ => Ok(()),
        }
    }

    pub(super) fn on_txn(
        &mut self,
        call: TxnCall,
        result: Result<(), TxnFailureKind>,
    ) -> Result<(), Failure> {
        if self.blocked == Blocked::Txn(call) {
            self.blocked = Blocked::No;
        }
        if result.is_err() {
            self.summary.txn_errors += 1;
        }
        match (call, result) {
            (TxnCall::SendOffsets, Ok(())) => {
                if let (Some(t), Some(o)) = (self.current_txn, self.sending_offset.take()) {
                    self.txn_offsets[t] = Some(o);
                }
            }
            (TxnCall::CommitTransaction, Ok(())) => {
                if let Some(t) = self.current_txn.take() {
                    self.txns[t] = TxnEnd::Committed;
                    self.summary.committed += 1;
                    self.check_txn(t)?;
                }
            }
            (TxnCall::AbortTransaction, Ok(())) => {
                if let Some(t) = self.current_txn.take() {
                    self.txns[t] = TxnEnd::Aborted;
                    self.summary.aborted += 1;
                    self.check_txn(t)?;
                }
            }
            (TxnCall::CommitTransaction | TxnCall::SendOffsets, Err(TxnFailureKind::Abortable)) => {
                // The application aborts and goes on.
                if self.net.engine.abort_transaction().is_ok() {
                    self.blocked = Blocked::Txn(TxnCall::AbortTransaction);
                } else {
                    self.give_up_txn();
                }
            }
            (TxnCall::InitTransactions, Ok(()))
            | (TxnCall::SendOffsets, Err(TxnFailureKind::Aborted)) => {}
            (_, Err(_)) => self.give_up_txn(),
        }
        Ok(())
    }

    /// The application stops using transactions after a failure it cannot handle: it closes.
    pub(super) fn give_up_txn(&mut self) {
        if let Some(t) = self.current_txn.take() {
            self.txns[t] = TxnEnd::Unknown;
        }
        self.next_op = self.sc.ops.len();
        self.blocked = Blocked::No;
    }
}
