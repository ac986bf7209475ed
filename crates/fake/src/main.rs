//! `ferrokafka-fake`: serves an in-memory fake Kafka cluster on loopback and prints its
//! bootstrap address, for people and for other languages' tests.
//!
//! ```text
//! cargo run -p ferrokafka-fake --features server -- --brokers 3 --topic orders:6
//! ```
//!
//! Options: `--brokers N` (default 1), `--topic NAME[:PARTITIONS]` (repeatable),
//! `--transactions-v2`, `--no-auto-create`, `--exit-on-stdin-eof` (stop when stdin closes, so
//! a test harness that dies takes the fake with it). The first line printed is
//! `bootstrap: HOST:PORT,...`.

use std::io::Write;
use std::process::ExitCode;

use ferrokafka_fake::{ClusterConfig, FakeServer};

const USAGE: &str = "usage: ferrokafka-fake [--brokers N] [--topic NAME[:PARTITIONS]]... \
[--transactions-v2] [--no-auto-create] [--exit-on-stdin-eof]";

struct Args {
    config: ClusterConfig,
    exit_on_eof: bool,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut builder = ClusterConfig::builder();
    let mut exit_on_eof = false;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--brokers" => {
                let n = args.next().ok_or("--brokers needs a number")?;
                let n: i32 = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or(format!("--brokers {n}: expected 1 to 100"))?;
                builder = builder.brokers(n);
            }
            "--topic" => {
                let spec = args.next().ok_or("--topic needs NAME[:PARTITIONS]")?;
                let (name, parts) = match spec.split_once(':') {
                    Some((name, p)) => (
                        name.to_owned(),
                        p.parse::<i32>()
                            .ok()
                            .filter(|p| *p >= 1)
                            .ok_or(format!("--topic {spec}: partitions must be a number >= 1"))?,
                    ),
                    None => (spec.clone(), 1),
                };
                if name.is_empty() {
                    return Err(format!("--topic {spec}: empty name"));
                }
                builder = builder.topic(&name, parts);
            }
            "--transactions-v2" => builder = builder.transactions_v2(true),
            "--no-auto-create" => builder = builder.auto_create_topics(None),
            "--exit-on-stdin-eof" => exit_on_eof = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        config: builder.build(),
        exit_on_eof,
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("ferrokafka-fake: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ferrokafka-fake: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match runtime.block_on(FakeServer::start(args.config)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferrokafka-fake: cannot bind: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A reader that stops reading after the first line must not kill the server: write errors
    // are ignored (println! would panic on a closed pipe).
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "bootstrap: {}", server.bootstrap());
    for id in server.with_cluster(|c| c.broker_ids()) {
        if let Some(addr) = server.addr(id) {
            let _ = writeln!(out, "broker {id}: {addr}");
        }
    }
    let _ = out.flush();
    drop(out);
    if args.exit_on_eof {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    } else {
        // Serve until killed.
        loop {
            std::thread::park();
        }
    }
    drop(server);
    ExitCode::SUCCESS
}
