//! The fault schedule applied to the fake cluster, and healed.

use super::*;

impl Sim<'_> {
    pub(super) fn apply_fault(&mut self, kind: &FaultKind) {
        let c = &mut self.net.cluster;
        match kind {
            FaultKind::ProduceErrors { partition, codes } => {
                c.inject(Fault::fail(ApiKey::PRODUCE, codes).on_partition(TOPIC, *partition));
            }
            FaultKind::RequestErrors { api, codes } => c.inject(Fault::fail(*api, codes)),
            FaultKind::TooLarge { partition } => c.inject(
                Fault::fail(ApiKey::PRODUCE, &[ErrorCode::MESSAGE_TOO_LARGE])
                    .on_partition(TOPIC, *partition),
            ),
            FaultKind::DropUnserved { api } => c.inject(Fault::drop_connection(*api)),
            FaultKind::DropAfterServing { api } => c.inject(Fault::drop_after_serving(*api)),
            FaultKind::DropConnections { broker } => {
                c.drop_connections(*broker);
            }
            FaultKind::Delay {
                api,
                broker,
                ms,
                times,
            } => c.inject(
                Fault::delay(*api, Duration::from_millis(*ms))
                    .on_broker(*broker)
                    .times(*times),
            ),
            FaultKind::LeaderMove { partition, to } => {
                if c.is_up(*to) {
                    c.move_leader(TOPIC, *partition, *to);
                }
            }
            FaultKind::BumpEpoch { partition } => {
                c.bump_leader_epoch(TOPIC, *partition);
            }
            FaultKind::BrokerDown { broker, for_ms } => {
                // Keep one broker up: the cluster as a whole stays available.
                let up = c.broker_ids().into_iter().filter(|b| c.is_up(*b)).count();
                if up > 1 && c.is_up(*broker) {
                    c.broker_down(*broker);
                    let at = self.now_ms() + for_ms;
                    self.heals.push((at, kind.clone()));
                }
            }
            FaultKind::Throttle { ms, for_ms } => {
                c.set_throttle(ApiKey::PRODUCE, *ms);
                let at = self.now_ms() + for_ms;
                self.heals.push((at, kind.clone()));
            }
            FaultKind::NotEnoughReplicas { for_ms } => {
                c.set_not_enough_replicas(TOPIC, true);
                let at = self.now_ms() + for_ms;
                self.heals.push((at, kind.clone()));
            }
            FaultKind::CoordinatorMove { to } => {
                if c.is_up(*to) {
                    c.move_coordinator("sim-txn", *to);
                    c.move_coordinator(GROUP, *to);
                }
            }
        }
    }

    pub(super) fn heal(&mut self, kind: &FaultKind) {
        match kind {
            FaultKind::BrokerDown { broker, .. } => self.net.cluster.broker_up(*broker),
            FaultKind::Throttle { .. } => self.net.cluster.set_throttle(ApiKey::PRODUCE, 0),
            FaultKind::NotEnoughReplicas { .. } => {
                self.net.cluster.set_not_enough_replicas(TOPIC, false);
            }
            _ => {}
        }
    }

    pub(super) fn apply_due_faults(&mut self) {
        let now = self.now_ms();
        while let Some(f) = self.sc.faults.get(self.next_fault) {
            if f.at_ms > now {
                break;
            }
            self.next_fault += 1;
            let kind = f.kind.clone();
            self.log(|| format!("fault {kind:?}"));
            self.apply_fault(&kind);
        }
        let (due, later): (Vec<_>, Vec<_>) = self.heals.drain(..).partition(|(at, _)| *at <= now);
        self.heals = later;
        for (_, kind) in due {
            self.heal(&kind);
        }
    }
}
