//! The simulated driver: the fake's [`InProcess`] driver with the hooks these scenarios use
//! (answers no fake broker gives, held write reports, every request recorded), and the
//! settings and records the scenarios share.

use crate::*;

/// What a [`Hook`] does with one request, before the fake sees it.
pub(crate) enum Intercept {
    /// The fake serves and answers it.
    Pass,
    /// The fake never sees it; this is the answer.
    Answer(ResponseBody),
    /// The fake serves it, and this answer is sent too (for an acks=0 Produce, which the fake
    /// does not answer).
    ServeAndAnswer(ResponseBody),
}

pub(crate) type Hook = Box<dyn FnMut(&RequestHeader, &RequestBody) -> Intercept>;

/// The simulated application's `max.block.ms` (Java's default): how long a send may wait for
/// its topic's metadata.
pub(crate) const MAX_BLOCK: Duration = Duration::from_secs(60);

pub(crate) struct Sim {
    /// The engine, the fake and the connections between them.
    pub(crate) net: InProcess,
    pub(crate) events: Vec<Event>,
    /// Every request the engine wrote, in order (whether the fake read it or not).
    pub(crate) requests: Vec<(RequestHeader, RequestBody)>,
    pub(crate) connects: u32,
    pub(crate) hook: Option<Hook>,
    /// Hold back `handle_written` reports (a slow socket).
    pub(crate) hold_writes: bool,
    pub(crate) held_writes: Vec<ConnId>,
}

pub(crate) fn brokers(n: i32) -> ClusterBuilder {
    ClusterConfig::builder().brokers(n)
}

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

impl Drive for Sim {
    type Error = Infallible;

    fn in_process(&mut self) -> &mut InProcess {
        &mut self.net
    }

    fn on_event(&mut self, event: Event) -> Result<(), Infallible> {
        self.events.push(event);
        Ok(())
    }

    fn on_io(&mut self, io: &Io) {
        if matches!(io, Io::Connect { .. }) {
            self.connects += 1;
        }
    }

    /// The bytes are on the wire (acks=0 requests are delivered now), unless the test holds the
    /// write reports back.
    fn report_written(&mut self, conn: ConnId) -> bool {
        if self.hold_writes {
            self.held_writes.push(conn);
        }
        !self.hold_writes
    }

    fn on_request(&mut self, _conn: ConnId, frame: &[u8]) -> FrameIntercept {
        let (header, body) = decode_request(frame).expect("a valid request");
        let intercept = match self.hook.as_mut().map(|h| h(&header, &body)) {
            None | Some(Intercept::Pass) => FrameIntercept::Pass,
            Some(Intercept::Answer(answer)) => FrameIntercept::Answer(encode(&header, &answer)),
            Some(Intercept::ServeAndAnswer(answer)) => {
                FrameIntercept::ServeAndAnswer(encode(&header, &answer))
            }
        };
        self.requests.push((header, body));
        intercept
    }
}

/// `answer` as a frame answering the request `header` heads.
fn encode(header: &RequestHeader, answer: &ResponseBody) -> Bytes {
    let mut out = BytesMut::new();
    encode_response(&mut out, header.correlation_id, answer, header.api_version).unwrap();
    out.freeze()
}

impl Sim {
    pub(crate) fn new(config: EngineConfig, cluster: ClusterBuilder) -> Self {
        let now = Instant::now();
        let partitioner = ferrokafka_partition::by_name("").unwrap();
        let engine = Engine::new(config, partitioner, now).unwrap();
        Self {
            net: InProcess::new(engine, cluster.build(), now),
            events: Vec::new(),
            requests: Vec::new(),
            connects: 0,
            hook: None,
            hold_writes: false,
            held_writes: Vec::new(),
        }
    }

    pub(crate) fn hook(
        &mut self,
        hook: impl FnMut(&RequestHeader, &RequestBody) -> Intercept + 'static,
    ) {
        self.hook = Some(Box::new(hook));
    }

    /// Runs both sides until neither has anything more to do right now (bounded).
    pub(crate) fn settle(&mut self) {
        self.run_until_quiet()
            .expect("the engine and the fake settle");
    }

    /// Advances the clock to the next timer of either side (at most `max`), then settles.
    pub(crate) fn tick(&mut self, max: Duration) {
        self.advance(max).expect("the engine and the fake settle");
    }

    /// Runs for `total` simulated time in timer steps (bounded).
    pub(crate) fn run_for(&mut self, total: Duration) {
        let end = self.net.now + total;
        for _ in 0..100_000 {
            if self.net.now >= end {
                return;
            }
            self.tick((end - self.net.now).min(ms(100)));
        }
        panic!("run_for did not finish");
    }

    /// Appends a record, settling until the topic's metadata is known (bounded):
    /// (batch, index in it, partition).
    pub(crate) fn append_record(&mut self, rec: OutgoingRecord<'_>) -> (BatchId, i32, i32) {
        let since = self.net.now;
        for _ in 0..1_000 {
            match self.net.engine.append(&rec, self.net.now) {
                Ok(a) => return (a.batch, a.index, a.partition),
                Err(SendError::TopicPending(_)) => {
                    let ready =
                        self.net
                            .engine
                            .check_topic(rec.topic, since, MAX_BLOCK, self.net.now);
                    assert!(ready.is_ok(), "{ready:?}");
                    self.tick(ms(10));
                }
                Err(e) => panic!("append failed: {e}"),
            }
        }
        panic!("topic never became known");
    }

    pub(crate) fn append(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> (BatchId, i32, i32) {
        self.append_record(OutgoingRecord {
            key,
            ..record(topic, value)
        })
    }

    /// Appends to an explicit partition.
    pub(crate) fn append_to(&mut self, topic: &str, partition: i32, value: &[u8]) -> BatchId {
        self.append_record(OutgoingRecord {
            partition: Some(partition),
            ..record(topic, value)
        })
        .0
    }

    pub(crate) fn delivered(&self) -> HashMap<BatchId, Option<i64>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Delivered {
                    batch, base_offset, ..
                } => Some((*batch, *base_offset)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn failed(&self) -> Vec<(BatchId, DeliveryError)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Failed { batch, error, .. } => Some((*batch, error.clone())),
                _ => None,
            })
            .collect()
    }

    /// The batch's failure, if it has failed.
    pub(crate) fn failure_of(&self, batch: BatchId) -> Option<DeliveryError> {
        self.failed()
            .into_iter()
            .find_map(|(b, e)| (b == batch).then_some(e))
    }

    /// The values in a partition's log, in offset order.
    pub(crate) fn values(&self, topic: &str, partition: i32) -> Vec<String> {
        let records = self.net.cluster.records(topic, partition).into_iter();
        records
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect()
    }

    /// (producer epoch, sequence) of each record in a partition's log.
    pub(crate) fn stamps(&self, topic: &str, partition: i32) -> Vec<(i16, i32)> {
        let records = self.net.cluster.records(topic, partition);
        records
            .iter()
            .map(|r| (r.producer_epoch, r.sequence))
            .collect()
    }

    /// Requests of `api` the fake read (answered or not).
    pub(crate) fn served(&self, api: ApiKey) -> u64 {
        self.net.cluster.requests_served(api)
    }

    /// The API of every request the engine wrote, in order.
    pub(crate) fn order(&self) -> Vec<ApiKey> {
        self.requests.iter().map(|(h, _)| h.api_key).collect()
    }

    /// The `committed` flag of every EndTxn request written.
    pub(crate) fn end_txns(&self) -> Vec<bool> {
        self.requests
            .iter()
            .filter_map(|(_, b)| match b {
                RequestBody::EndTxn(e) => Some(e.committed),
                _ => None,
            })
            .collect()
    }

    /// The Produce versions the fake served.
    pub(crate) fn produce_versions(&self) -> Vec<i16> {
        let seen = self.net.cluster.versions_seen().into_iter();
        seen.filter_map(|(k, v)| (k == ApiKey::PRODUCE).then_some(v))
            .collect()
    }
}

/// A record for `topic` without key, partition or headers.
pub(crate) fn record<'a>(topic: &'a str, value: &'a [u8]) -> OutgoingRecord<'a> {
    OutgoingRecord {
        topic,
        partition: None,
        key: None,
        value: Some(value),
        headers: &[],
        timestamp: WALL_START_MS,
    }
}

/// A Produce answer giving every partition of `req` this error code and message.
pub(crate) fn produce_answer(
    req: &ProduceRequest,
    code: ErrorCode,
    message: Option<&str>,
) -> ResponseBody {
    let responses = req.topic_data.iter().map(|t| TopicProduceResponse {
        name: t.name.clone(),
        partition_responses: t
            .partition_data
            .iter()
            .map(|p| PartitionProduceResponse {
                index: p.index,
                error_code: code.0,
                error_message: message.map(str::to_owned),
                base_offset: -1,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    });
    ResponseBody::Produce(ProduceResponse {
        responses: responses.collect(),
        ..Default::default()
    })
}

pub(crate) fn config() -> EngineConfig {
    let mut c = EngineConfig::new(vec![BrokerAddress::new("b1", 9092)]);
    c.accumulator.linger = ms(5);
    c.accumulator.retry_backoff = ms(100);
    c.accumulator.retry_backoff_max = secs(1);
    c.accumulator.delivery_timeout = secs(120);
    c.request_timeout = secs(30);
    c
}
