//! `ferrokafka-cli`: kcat-style `produce` and a perf test. The producer path lands in a later issue.

fn main() {
    eprintln!("ferrokafka-cli: the producer is not implemented yet (see README status table)");
    std::process::exit(2);
}
