//! The pure-Rust peers a Rust user might pick instead of ferrokafka (feature `rust-peers`, off
//! by default so CI never compiles them): krafka, kacrab and rskafka from crates.io, each
//! driven through its own producer API by a small adapter of ours with the same workload as the
//! other clients (bench/src/lib.rs `Workload`), as close to the same settings as the crate
//! allows. Where it lacks one, the run goes ahead without it and says so in its report's
//! `notes` (the orchestrator prints them under the table).
//!
//! Each adapter keeps up to `--max-pending` deliveries outstanding in a `FuturesUnordered`, like
//! the ferrokafka side (bench/src/ferro.rs), on a multi-thread tokio runtime. Transactions are
//! not driven through the peers (`--transaction-size` is refused).

mod kacrab;
mod krafka;
mod rskafka;

use anyhow::{Context, Result, ensure};

use crate::{Client, Outcome, Params, Workload};

/// Runs `p.client` (one of the peers) and waits for every delivery.
pub fn run(p: &Params, w: &Workload) -> Result<Outcome> {
    ensure!(
        p.transaction_size.is_none(),
        "{} is not measured transactionally here",
        p.client.name()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("build the tokio runtime")?;
    match p.client {
        Client::Krafka => runtime.block_on(krafka::produce(p, w)),
        Client::Kacrab => runtime.block_on(kacrab::produce(p, w)),
        Client::Rskafka => runtime.block_on(rskafka::produce(p, w)),
        other => anyhow::bail!("{} is not a pure-Rust peer", other.name()),
    }
}

/// How long a peer may take to connect (and build its producer) before the run fails: a
/// client that cannot talk to a broker at all retries forever on its own.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// `connect` within [`CONNECT_TIMEOUT`]; the error starts with "no connection" (the
/// orchestrator then skips the client for the rest of the broker's cells).
async fn connect<T, E: std::fmt::Display>(
    client: &str,
    connect: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => anyhow::bail!("no connection: {client}: {e}"),
        Err(_) => anyhow::bail!(
            "no connection: {client} had no producer ready within {} s",
            CONNECT_TIMEOUT.as_secs()
        ),
    }
}

/// The `-X` properties an adapter does not map, as a note (they are not applied).
fn unmapped(client: &str, p: &Params, mapped: &[&str]) -> Option<String> {
    let left: Vec<&str> = p
        .extra
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !mapped.contains(k))
        .collect();
    (!left.is_empty()).then(|| format!("{client}: not applied: {}", left.join(", ")))
}
