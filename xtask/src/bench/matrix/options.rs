//! `bench matrix` / `bench quick` arguments: which brokers, clients and cells, how many runs.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct MatrixOptions {
    pub(super) brokers: Vec<Broker>,
    pub(super) clients: Vec<String>,
    pub(super) cells: Vec<Cell>,
    pub(super) runs: usize,
    pub(super) records: u64,
    pub(super) kafka_records: u64,
    pub(super) latency_records: u64,
    pub(super) timeout: Duration,
    pub(super) jvm_opts: Vec<String>,
}

pub(super) const MATRIX_USAGE: &str = "\
usage: cargo xtask bench matrix [options]   the issue-15 matrix (see below), one ratio table
       cargo xtask bench quick [options]    the two headline cells on the mock: librdkafka,
                                            ferrokafka, ferrokafka-cli; 2,000,000 records, 5 runs

cells (every one linger.ms=5, batch.size=1048576; keys are 10 bytes):
  keyless keyed keyless-1k keyed-1k            100 B / 1 KiB values, acks=all, idempotence on
  keyless-acks1 keyed-acks1                    acks=1, idempotence off
  keyless-lz4 keyed-lz4 keyless-zstd keyed-zstd
  keyed-p1000                                  1,000 partitions (the others have 6)
  latency-keyless latency-keyed                100,000 records/s: p50/p99 delivery latency

options:
  --brokers LIST       mock, kafka (matrix default mock,kafka; quick: mock)
  --clients LIST       librdkafka, ferrokafka, ferrokafka-cli, krafka, kacrab, rskafka, java
                       (matrix default all of them; quick: the first three)
  --cells LIST         cells to run (default all; quick: keyless,keyed)
  --runs N             measurements per (cell, client), alternating (default 3; quick 5)
  --records N          records per run on the mock for 100 B values, scaled down for 1 KiB
                       (default 2000000)
  --kafka-records N    the same on Kafka (default 1000000)
  --latency-records N  records per run in the latency cells (default 500000: 5 s at 100,000/s)
  --timeout-s N        a measurement taking longer is killed and counted as failed (default 300)
  --jvm-opt OPT        option for the Java client's JVM (repeatable)
";

impl MatrixOptions {
    pub(super) fn parse(quick: bool, args: &[String]) -> Result<MatrixOptions> {
        let mut args = args.to_vec();
        let brokers = list(
            take_option(&mut args, "--brokers")?,
            if quick { "mock" } else { "mock,kafka" },
        )
        .iter()
        .map(|b| match Broker::parse(b)? {
            Broker::Tansu => bail!("the matrix runs on mock and kafka, not tansu"),
            b => Ok(b),
        })
        .collect::<Result<Vec<_>>>()?;
        let clients = list(
            take_option(&mut args, "--clients")?,
            &if quick {
                REQUIRED.join(",")
            } else {
                MATRIX_CLIENTS.join(",")
            },
        );
        for c in &clients {
            ensure!(
                MATRIX_CLIENTS.contains(&c.as_str()),
                "unknown client {c:?} (one of {})",
                MATRIX_CLIENTS.join(", ")
            );
        }
        let all_cells: Vec<&str> = CELLS.iter().map(|c| c.id).collect();
        let cells =
            list(
                take_option(&mut args, "--cells")?,
                &if quick {
                    "keyless,keyed".to_string()
                } else {
                    all_cells.join(",")
                },
            )
            .iter()
            .map(|id| {
                CELLS.iter().find(|c| c.id == id).copied().with_context(|| {
                    format!("unknown cell {id:?} (one of {})", all_cells.join(", "))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let runs = number_option(&mut args, "--runs", if quick { 5 } else { 3 })?;
        let records = number_option(&mut args, "--records", 2_000_000)?;
        let kafka_records = number_option(&mut args, "--kafka-records", 1_000_000)?;
        let latency_records = number_option(&mut args, "--latency-records", 500_000)?;
        let timeout = Duration::from_secs(number_option(&mut args, "--timeout-s", 300)?);
        let mut jvm_opts = Vec::new();
        while let Some(o) = take_option(&mut args, "--jvm-opt")? {
            jvm_opts.push(o);
        }
        if !args.is_empty() {
            bail!("unexpected arguments {args:?}\n\n{MATRIX_USAGE}");
        }
        ensure!(runs > 0, "--runs must be positive");
        ensure!(
            records > 0 && kafka_records > 0 && latency_records > 0,
            "record counts must be positive"
        );
        ensure!(
            !brokers.is_empty() && !clients.is_empty() && !cells.is_empty(),
            "nothing to run"
        );
        Ok(MatrixOptions {
            brokers,
            clients,
            cells,
            runs,
            records,
            kafka_records,
            latency_records,
            timeout,
            jvm_opts,
        })
    }

    pub(super) fn records(&self, broker: Broker, cell: &Cell) -> u64 {
        let base = match broker {
            Broker::Kafka => self.kafka_records,
            Broker::Mock | Broker::Tansu => self.records,
        };
        cell.records(base, self.latency_records)
    }
}
