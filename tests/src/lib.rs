//! Harness for the workspace integration tests: fetches and runs the real brokers.
