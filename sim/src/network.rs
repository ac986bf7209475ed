//! The simulated network: the fake's in-process driver with the simulation's hooks — every
//! `Io` traced, connections visited in an order drawn from the seed and one answer taken per
//! visit (so answers of different connections interleave differently), each event checked.

use super::*;

impl Drive for Sim<'_> {
    type Error = Failure;

    fn in_process(&mut self) -> &mut InProcess {
        &mut self.net
    }

    fn on_event(&mut self, event: Event) -> Result<(), Failure> {
        self.check_event(event)
    }

    fn on_io(&mut self, io: &Io) {
        self.log(|| match io {
            Io::Send { conn, data } => format!("send {conn:?} {} bytes", data.len()),
            other => format!("{other:?}"),
        });
    }

    fn order_connections(&mut self, conns: &mut [(ConnId, FakeConn)]) {
        for i in (1..conns.len()).rev() {
            let j = usize::try_from(self.rng.below(i as u64 + 1)).unwrap_or(0);
            conns.swap(i, j);
        }
    }

    fn one_answer_per_visit(&self) -> bool {
        true
    }

    fn on_closed_by_cluster(&mut self, conn: ConnId) {
        self.log(|| format!("fake closed {conn:?}"));
    }
}

impl Sim<'_> {
    /// Runs both sides until neither has anything to do now.
    pub(super) fn settle(&mut self) -> Result<(), Failure> {
        self.run_until_quiet().map_err(|e| match e {
            Unsettled::Event(failure) => failure,
            Unsettled::Livelock => {
                self.fail("livelock: the engine and the fake did not settle in 10,000 rounds")
            }
        })
    }
}
