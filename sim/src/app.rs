//! The simulated application: sends, flushes, transactions begun, committed and aborted, then
//! close, as the scenario schedules them.

use super::*;

impl Sim<'_> {
    pub(super) fn try_send(&mut self, key: u32, since_ms: u64) -> Result<bool, Failure> {
        let id = u32::try_from(self.recs.len()).unwrap_or(u32::MAX);
        let key_bytes = format!("k{key}");
        let value = id.to_string();
        let rec = OutgoingRecord {
            topic: TOPIC,
            partition: None,
            key: Some(key_bytes.as_bytes()),
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: self.wall(),
        };
        match self.net.engine.append(&rec, self.net.now) {
            Ok(a) => {
                self.log(|| format!("append record {id} -> p{} {:?}", a.partition, a.batch));
                self.recs.push(Rec {
                    partition: a.partition,
                    appended_ms: self.now_ms(),
                    txn: self.current_txn,
                    outcome: None,
                    error: None,
                });
                self.summary.records += 1;
                self.batches.entry(a.batch).or_default().push((id, a.index));
                Ok(true)
            }
            Err(SendError::TopicPending(_)) => {
                let since = self.at(since_ms);
                // The application's max.block.ms: as long as delivery.timeout.ms.
                let max_block = Duration::from_millis(self.sc.delivery_timeout_ms);
                match self
                    .net
                    .engine
                    .check_topic(TOPIC, since, max_block, self.net.now)
                {
                    Ok(true) => self.try_send(key, since_ms),
                    Ok(false) => Ok(false),
                    // max.block.ms passed: the send fails, nothing was appended.
                    Err(_) => Ok(true),
                }
            }
            Err(SendError::WouldBlock) => {
                if self.now_ms() > since_ms + self.sc.delivery_timeout_ms {
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            // Refused (transaction state, closed, fatal): the application sees the error.
            Err(_) => Ok(true),
        }
    }

    /// Performs the application's calls that are due (sequentially: a blocked call waits).
    pub(super) fn drive_app(&mut self) -> Result<(), Failure> {
        for _ in 0..1_000 {
            if let Some((key, since)) = self.waiting_send {
                if !self.try_send(key, since)? {
                    return Ok(());
                }
                self.waiting_send = None;
            }
            match self.blocked {
                Blocked::No => {}
                Blocked::Flush(token, began) => {
                    if self.net.engine.flush_complete(token) {
                        self.blocked = Blocked::No;
                    } else if self.now_ms() > began + self.sc.delivery_timeout_ms * 3 {
                        return Err(self.fail("flush never completed"));
                    } else {
                        return Ok(());
                    }
                }
                Blocked::Txn(_) | Blocked::Closed => return Ok(()),
            }
            if self.next_op >= self.sc.ops.len() {
                if self.close_started.is_none() {
                    self.close_started = Some(self.now_ms());
                    self.net.engine.close();
                    if self.sc.drop_at_end {
                        self.log(|| "drop: close(0) aborts what is left".to_owned());
                        self.net.engine.abort();
                    }
                    self.blocked = Blocked::Closed;
                }
                return Ok(());
            }
            if self.now_ms() < self.op_due_ms {
                return Ok(());
            }
            let op = self.sc.ops[self.next_op].1;
            self.next_op += 1;
            if let Some((gap, _)) = self.sc.ops.get(self.next_op) {
                self.op_due_ms = self.now_ms() + gap;
            }
            match op {
                Op::Send { key } => self.waiting_send = Some((key, self.now_ms())),
                Op::Flush => {
                    let token = self.net.engine.begin_flush();
                    let pending: Vec<u32> = (0..self.recs.len())
                        .filter(|i| self.recs[*i].outcome.is_none())
                        .filter_map(|i| u32::try_from(i).ok())
                        .collect();
                    self.flushes.push((token, pending));
                    self.blocked = Blocked::Flush(token, self.now_ms());
                }
                Op::SendOffsets { offset } => {
                    let offsets = vec![OffsetToCommit {
                        topic: INPUT.to_owned(),
                        partition: 0,
                        offset,
                        leader_epoch: None,
                        metadata: None,
                    }];
                    if self
                        .net
                        .engine
                        .send_offsets_to_transaction(offsets, GroupMetadata::new(GROUP))
                        .is_ok()
                    {
                        self.sending_offset = Some(offset);
                        self.blocked = Blocked::Txn(TxnCall::SendOffsets);
                    }
                }
                Op::Begin => {
                    if self.net.engine.begin_transaction().is_ok() {
                        self.txn_offsets.push(None);
                        self.txns.push(TxnEnd::Open);
                        self.current_txn = Some(self.txns.len() - 1);
                    }
                }
                Op::Commit => {
                    if self.net.engine.commit_transaction().is_ok() {
                        self.blocked = Blocked::Txn(TxnCall::CommitTransaction);
                    }
                }
                Op::Abort => {
                    if self.net.engine.abort_transaction().is_ok() {
                        self.blocked = Blocked::Txn(TxnCall::AbortTransaction);
                    }
                }
            }
        }
        Ok(())
    }
}
