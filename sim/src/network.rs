//! The simulated network: the engine's I/O performed against the fake cluster, and the
//! answers delivered once their simulated latency has passed.

use super::*;

impl Sim<'_> {
    pub(super) fn perform(&mut self, io: Io) {
        self.log(|| match &io {
            Io::Send { conn, data } => format!("send {conn:?} {} bytes", data.len()),
            other => format!("{other:?}"),
        });
        match io {
            Io::Connect { conn, host, port } => {
                let fake = self
                    .cluster
                    .broker_at(&host, port)
                    .and_then(|b| self.cluster.connect(b).ok());
                if let Some(fake) = fake {
                    self.open.insert(conn, fake);
                    self.engine.handle_connected(conn, self.now);
                } else {
                    self.engine.handle_disconnect(conn, self.now);
                }
            }
            Io::Send { conn, data } => {
                let Some(&fake) = self.open.get(&conn) else {
                    return;
                };
                self.engine.handle_written(conn, self.now);
                let mut buf = BytesMut::from(&data[..]);
                let wall = self.wall();
                while let Ok(Some(frame)) = split_frame(&mut buf, 1 << 30) {
                    self.cluster.handle_frame(fake, &frame, self.now, wall);
                }
            }
            Io::Close { conn } => {
                if let Some(fake) = self.open.remove(&conn) {
                    self.cluster.disconnect(fake);
                }
            }
        }
    }

    /// Runs both sides until neither has anything to do now; connections are polled in an
    /// order drawn from the seed (answers of different connections interleave differently).
    pub(super) fn settle(&mut self) -> Result<(), Failure> {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(io) = self.engine.poll_io(self.now) {
                progressed = true;
                self.perform(io);
            }
            let mut conns: Vec<(ConnId, FakeConn)> =
                self.open.iter().map(|(a, b)| (*a, *b)).collect();
            for i in (1..conns.len()).rev() {
                let j = usize::try_from(self.rng.below(i as u64 + 1)).unwrap_or(0);
                conns.swap(i, j);
            }
            for (conn, fake) in conns {
                if let Some(frame) = self.cluster.poll_transmit(fake, self.now) {
                    progressed = true;
                    self.engine.handle_frame(conn, &frame[4..], self.now);
                }
                if self.cluster.is_closed(fake) && self.open.contains_key(&conn) {
                    progressed = true;
                    self.log(|| format!("fake closed {conn:?}"));
                    self.open.remove(&conn);
                    self.cluster.disconnect(fake);
                    self.engine.handle_disconnect(conn, self.now);
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                progressed = true;
                self.on_event(ev)?;
            }
            if !progressed {
                return Ok(());
            }
        }
        Err(self.fail("livelock: the engine and the fake did not settle in 10,000 rounds"))
    }
}
