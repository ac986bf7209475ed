//! The matrix's workloads ([`CELLS`]) and its clients.

use super::*;

/// One workload of the matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Cell {
    /// What `--cells` names it.
    pub(super) id: &'static str,
    pub(super) key_size: usize,
    pub(super) value_size: usize,
    pub(super) compression: &'static str,
    pub(super) acks: &'static str,
    pub(super) idempotence: bool,
    pub(super) partitions: u32,
    /// Latency cells: records/s to send at.
    pub(super) throughput: Option<u64>,
}

const fn cell(id: &'static str, key_size: usize, value_size: usize) -> Cell {
    Cell {
        id,
        key_size,
        value_size,
        compression: "none",
        acks: "all",
        idempotence: true,
        partitions: 6,
        throughput: None,
    }
}

const fn compressed(mut c: Cell, compression: &'static str) -> Cell {
    c.compression = compression;
    c
}

const fn acks1(mut c: Cell) -> Cell {
    c.acks = "1";
    c.idempotence = false;
    c
}

const fn partitions(mut c: Cell, n: u32) -> Cell {
    c.partitions = n;
    c
}

const fn at_rate(mut c: Cell, rate: u64) -> Cell {
    c.throughput = Some(rate);
    c
}

/// The rate of the latency cells.
pub(super) const LATENCY_RATE: u64 = 100_000;

/// The matrix, in table order.
pub(super) const CELLS: [Cell; 13] = [
    cell("keyless", 0, 100),
    cell("keyed", 10, 100),
    cell("keyless-1k", 0, 1024),
    cell("keyed-1k", 10, 1024),
    acks1(cell("keyless-acks1", 0, 100)),
    acks1(cell("keyed-acks1", 10, 100)),
    compressed(cell("keyless-lz4", 0, 100), "lz4"),
    compressed(cell("keyed-lz4", 10, 100), "lz4"),
    compressed(cell("keyless-zstd", 0, 100), "zstd"),
    compressed(cell("keyed-zstd", 10, 100), "zstd"),
    partitions(cell("keyed-p1000", 10, 100), 1000),
    at_rate(cell("latency-keyless", 0, 100), LATENCY_RATE),
    at_rate(cell("latency-keyed", 10, 100), LATENCY_RATE),
];

impl Cell {
    /// A one-line description for the table.
    pub(super) fn describe(&self) -> String {
        let mut s = format!(
            "{} {}",
            if self.key_size > 0 {
                "keyed"
            } else {
                "keyless"
            },
            if self.value_size >= 1024 {
                format!("{} KiB", self.value_size / 1024)
            } else {
                format!("{} B", self.value_size)
            }
        );
        if self.compression != "none" {
            let _ = write!(s, " {}", self.compression);
        }
        let _ = write!(
            s,
            " acks={}{}",
            self.acks,
            if self.idempotence { " idem" } else { "" }
        );
        if self.partitions != 6 {
            let _ = write!(s, " {}p", self.partitions);
        }
        if let Some(r) = self.throughput {
            let _ = write!(s, " @{}/s", thousands(r as f64));
        }
        s
    }

    /// The topic of the cell on a shared broker (Kafka): one per partition count.
    pub(super) fn topic(&self) -> String {
        if self.partitions == 6 {
            TOPIC.to_string()
        } else {
            format!("{TOPIC}-p{}", self.partitions)
        }
    }

    /// Records per run: `records` for 100-byte values, scaled down with the value size (the
    /// same bytes per run), `latency_records` at a fixed rate.
    pub(super) fn records(&self, records: u64, latency_records: u64) -> u64 {
        if self.throughput.is_some() {
            latency_records
        } else {
            (records * 110 / (self.key_size + self.value_size).max(1) as u64).clamp(1, records)
        }
    }
}

/// The clients `--clients` may name, in table order.
pub(super) const MATRIX_CLIENTS: [&str; 7] = [
    "librdkafka",
    "ferrokafka",
    "ferrokafka-cli",
    "krafka",
    "kacrab",
    "rskafka",
    "java",
];

/// The clients whose failures fail the run; the others are reported as not available.
pub(super) const REQUIRED: [&str; 3] = ["librdkafka", "ferrokafka", "ferrokafka-cli"];

/// The pure-Rust peers (the `rust-peers` feature of ferrokafka-bench).
pub(super) const PEERS: [&str; 3] = ["krafka", "kacrab", "rskafka"];
