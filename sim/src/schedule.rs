//! What a seed draws: the producer's settings, the application's calls and the fault schedule.

use std::fmt;

use ferrokafka_wire::{ApiKey, ErrorCode};

/// SplitMix64: a tiny deterministic PRNG (the only randomness of the simulation).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::try_from(self.below(items.len() as u64)).unwrap_or(0)]
    }
}

/// Delivery guarantee under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `enable.idempotence=true`: each acknowledged record exactly once, in order.
    Idempotent,
    /// `enable.idempotence=false`, `max.in.flight.requests.per.connection=1`: at least once, in
    /// order.
    AtLeastOnce,
    /// `transactional.id` set: committed transactions visible, aborted ones not.
    Transactional,
}

/// One application call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `send` of one record with this key (the value is the record's unique id).
    Send {
        /// Key number.
        key: u32,
    },
    /// `flush`, waited for.
    Flush,
    /// `begin_transaction`.
    Begin,
    /// `commit_transaction`, waited for.
    Commit,
    /// `abort_transaction`, waited for.
    Abort,
    /// `send_offsets_to_transaction` of one input partition's offset, waited for.
    SendOffsets {
        /// The offset.
        offset: i64,
    },
}

/// A fault class, the unit of `--faults`.
pub const CLASSES: &[&str] = &[
    "produce-errors",
    "txn-errors",
    "too-large",
    "drops",
    "delays",
    "leaders",
    "brokers",
    "throttle",
    "isr",
    "coordinator",
];

/// One fault of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The next Produce requests' answers for a partition carry these codes.
    ProduceErrors {
        /// Partition.
        partition: i32,
        /// One code per request.
        codes: Vec<ErrorCode>,
    },
    /// The next requests of a coordinator API fail with these codes.
    RequestErrors {
        /// API.
        api: ApiKey,
        /// One code per request.
        codes: Vec<ErrorCode>,
    },
    /// The next Produce for a partition is refused as too large (the batch is split).
    TooLarge {
        /// Partition.
        partition: i32,
    },
    /// The next request of `api` closes its connection unserved.
    DropUnserved {
        /// API.
        api: ApiKey,
    },
    /// The next request of `api` is served, then its connection closes unanswered.
    DropAfterServing {
        /// API.
        api: ApiKey,
    },
    /// Every connection of a broker closes.
    DropConnections {
        /// Broker.
        broker: i32,
    },
    /// The answers to the next requests of `api` on a broker come late (and so out of order
    /// with other connections').
    Delay {
        /// API.
        api: ApiKey,
        /// Broker.
        broker: i32,
        /// By how much.
        ms: u64,
        /// How many requests.
        times: u32,
    },
    /// A partition's leader moves.
    LeaderMove {
        /// Partition.
        partition: i32,
        /// New leader.
        to: i32,
    },
    /// A partition's leader epoch is bumped in place.
    BumpEpoch {
        /// Partition.
        partition: i32,
    },
    /// A broker goes down and comes back.
    BrokerDown {
        /// Broker.
        broker: i32,
        /// For how long.
        for_ms: u64,
    },
    /// Produce answers carry a throttle time for a while.
    Throttle {
        /// Throttle time.
        ms: i32,
        /// For how long.
        for_ms: u64,
    },
    /// `min.insync.replicas` is not met for a while (NOT_ENOUGH_REPLICAS).
    NotEnoughReplicas {
        /// For how long.
        for_ms: u64,
    },
    /// The transaction coordinator moves.
    CoordinatorMove {
        /// New coordinator.
        to: i32,
    },
}

impl FaultKind {
    /// The `--faults` class this fault belongs to.
    pub fn class(&self) -> &'static str {
        match self {
            FaultKind::ProduceErrors { .. } => "produce-errors",
            FaultKind::RequestErrors { .. } => "txn-errors",
            FaultKind::TooLarge { .. } => "too-large",
            FaultKind::DropUnserved { .. }
            | FaultKind::DropAfterServing { .. }
            | FaultKind::DropConnections { .. } => "drops",
            FaultKind::Delay { .. } => "delays",
            FaultKind::LeaderMove { .. } | FaultKind::BumpEpoch { .. } => "leaders",
            FaultKind::BrokerDown { .. } => "brokers",
            FaultKind::Throttle { .. } => "throttle",
            FaultKind::NotEnoughReplicas { .. } => "isr",
            FaultKind::CoordinatorMove { .. } => "coordinator",
        }
    }
}

/// A fault and when it strikes (milliseconds of simulated time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFault {
    /// When.
    pub at_ms: u64,
    /// What.
    pub kind: FaultKind,
}

impl fmt::Display for TimedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}ms {:?}", self.at_ms, self.kind)
    }
}

/// Everything a seed decides.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The seed.
    pub seed: u64,
    /// The guarantee under test.
    pub mode: Mode,
    /// Brokers (ids 1..=brokers).
    pub brokers: i32,
    /// Partitions of the one topic.
    pub partitions: i32,
    /// `linger.ms`.
    pub linger_ms: u64,
    /// `batch.size`.
    pub batch_size: usize,
    /// `delivery.timeout.ms`.
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms`.
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms`.
    pub retry_backoff_ms: u64,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: usize,
    /// The fake's base answer latency.
    pub latency_ms: u64,
    /// Application calls, each after a pause (ms) from the previous one.
    pub ops: Vec<(u64, Op)>,
    /// The fault schedule.
    pub faults: Vec<TimedFault>,
    /// The application ends by dropping the producer (`close(0)`: queued records fail at once)
    /// instead of a graceful close.
    pub drop_at_end: bool,
    /// The fake finalizes `transaction.version` 2 (KIP-890: Produce v12 adds partitions
    /// implicitly, EndTxn v5 bumps the epoch).
    pub transactions_v2: bool,
    /// The highest Produce version the fake advertises (older brokers: 3..=12).
    pub produce_max_version: i16,
}

const PRODUCE_CODES: &[ErrorCode] = &[
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::REQUEST_TIMED_OUT,
    ErrorCode::NOT_ENOUGH_REPLICAS,
    ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode::NETWORK_EXCEPTION,
    ErrorCode::LEADER_NOT_AVAILABLE,
    ErrorCode::KAFKA_STORAGE_ERROR,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
];

const COORDINATOR_CODES: &[ErrorCode] = &[
    ErrorCode::CONCURRENT_TRANSACTIONS,
    ErrorCode::NOT_COORDINATOR,
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::COORDINATOR_NOT_AVAILABLE,
];

const TXN_APIS: &[ApiKey] = &[
    ApiKey::FIND_COORDINATOR,
    ApiKey::INIT_PRODUCER_ID,
    ApiKey::ADD_PARTITIONS_TO_TXN,
    ApiKey::END_TXN,
];

impl Scenario {
    /// The scenario of `seed`, drawing faults only from `classes`.
    pub fn generate(seed: u64, classes: &[&str]) -> Self {
        let mut rng = Rng::new(seed);
        let mode = match rng.below(3) {
            0 => Mode::Idempotent,
            1 => Mode::AtLeastOnce,
            _ => Mode::Transactional,
        };
        let brokers = 3;
        let partitions = i32::try_from(rng.range(1, 4)).unwrap_or(1);
        let delivery_timeout_ms = rng.range(3_000, 12_000);
        let request_timeout_ms = rng.range(500, 2_000);
        let mut ops = Vec::new();
        let n = rng.range(20, 120);
        let mut in_txn = false;
        let mut next_offset = 0i64;
        if mode == Mode::Transactional {
            ops.push((0, Op::Begin));
            in_txn = true;
        }
        for _ in 0..n {
            let gap = if rng.chance(70) {
                rng.below(3)
            } else {
                rng.below(200)
            };
            let r = rng.below(100);
            let op = if mode == Mode::Transactional && r < 8 {
                if in_txn {
                    in_txn = false;
                    if rng.chance(70) {
                        Op::Commit
                    } else {
                        Op::Abort
                    }
                } else {
                    in_txn = true;
                    Op::Begin
                }
            } else if mode == Mode::Transactional && in_txn && r < 11 {
                next_offset += i64::try_from(rng.range(1, 10)).unwrap_or(1);
                Op::SendOffsets {
                    offset: next_offset,
                }
            } else if r < 12 {
                Op::Flush
            } else {
                if mode == Mode::Transactional && !in_txn {
                    ops.push((gap, Op::Begin));
                    in_txn = true;
                }
                Op::Send {
                    key: u32::try_from(rng.below(16)).unwrap_or(0),
                }
            };
            ops.push((gap, op));
        }
        if in_txn {
            ops.push((
                rng.below(50),
                if rng.chance(80) {
                    Op::Commit
                } else {
                    Op::Abort
                },
            ));
        }
        let span: u64 = ops.iter().map(|(g, _)| *g).sum::<u64>() + 2_000;
        let mut faults = Vec::new();
        let nfaults = rng.range(0, 12);
        for _ in 0..nfaults {
            let at_ms = rng.below(span);
            let broker = i32::try_from(rng.range(1, 3)).unwrap_or(1);
            let partition =
                i32::try_from(rng.below(u64::try_from(partitions).unwrap_or(1))).unwrap_or(0);
            let kind = match rng.below(14) {
                0 | 1 => FaultKind::ProduceErrors {
                    partition,
                    codes: (0..rng.range(1, 4))
                        .map(|_| rng.pick(PRODUCE_CODES))
                        .collect(),
                },
                2 => FaultKind::RequestErrors {
                    api: rng.pick(TXN_APIS),
                    codes: (0..rng.range(1, 3))
                        .map(|_| rng.pick(COORDINATOR_CODES))
                        .collect(),
                },
                3 => FaultKind::TooLarge { partition },
                4 => FaultKind::DropUnserved {
                    api: rng.pick(&[ApiKey::PRODUCE, ApiKey::METADATA, ApiKey::END_TXN]),
                },
                5 => FaultKind::DropAfterServing {
                    api: rng.pick(&[
                        ApiKey::PRODUCE,
                        ApiKey::PRODUCE,
                        ApiKey::END_TXN,
                        ApiKey::ADD_PARTITIONS_TO_TXN,
                        ApiKey::INIT_PRODUCER_ID,
                    ]),
                },
                6 => FaultKind::DropConnections { broker },
                7 | 8 => FaultKind::Delay {
                    api: rng.pick(&[ApiKey::PRODUCE, ApiKey::PRODUCE, ApiKey::METADATA]),
                    broker,
                    ms: rng.range(1, request_timeout_ms + 300),
                    times: u32::try_from(rng.range(1, 4)).unwrap_or(1),
                },
                9 => FaultKind::LeaderMove {
                    partition,
                    to: broker,
                },
                10 => FaultKind::BumpEpoch { partition },
                11 => FaultKind::BrokerDown {
                    broker,
                    for_ms: rng.range(10, 3_000),
                },
                12 => {
                    if rng.chance(50) {
                        FaultKind::Throttle {
                            ms: i32::try_from(rng.range(1, 500)).unwrap_or(1),
                            for_ms: rng.range(10, 2_000),
                        }
                    } else {
                        FaultKind::NotEnoughReplicas {
                            for_ms: rng.range(10, 2_000),
                        }
                    }
                }
                _ => FaultKind::CoordinatorMove { to: broker },
            };
            if classes.contains(&kind.class()) {
                faults.push(TimedFault { at_ms, kind });
            }
        }
        faults.sort_by_key(|f| f.at_ms);
        let mut scenario = Self {
            seed,
            mode,
            brokers,
            partitions,
            linger_ms: rng.below(20),
            batch_size: usize::try_from(rng.range(60, 2_000)).unwrap_or(1_000),
            delivery_timeout_ms,
            request_timeout_ms,
            retry_backoff_ms: rng.range(5, 200),
            max_in_flight: if mode == Mode::AtLeastOnce {
                1
            } else {
                usize::try_from(rng.range(1, 5)).unwrap_or(5)
            },
            latency_ms: rng.range(0, 5),
            ops,
            faults,
            drop_at_end: false,
            transactions_v2: false,
            produce_max_version: 12,
        };
        // Drawn last, so that adding it left every other draw of a seed as it was.
        scenario.drop_at_end = rng.chance(10);
        scenario.transactions_v2 = mode == Mode::Transactional && rng.chance(50);
        if rng.chance(20) {
            scenario.produce_max_version = i16::try_from(rng.range(3, 11)).unwrap_or(12);
        }
        scenario
    }
}
