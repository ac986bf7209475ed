//! Fault injection: rules that match the next requests of an API (optionally on one broker,
//! optionally for one partition) and fail, delay, hold, drop or hang them.
//!
//! A rule matches at most `count` requests and is then spent. Rules are checked in the order
//! they were added; the first that matches a request applies. A partition-scoped error fails
//! only that partition of a Produce, Fetch or ListOffsets request (the others are served); an
//! unscoped error fails the whole request (every partition, or the top-level error code).

use std::time::Duration;

use ferrokafka_wire::{ApiKey, ErrorCode};

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer with these error codes, one per matched request (the last repeats).
    Errors(Vec<ErrorCode>),
    /// Serve the request but send the answer only after this long.
    Delay(Duration),
    /// Serve the request but keep the answer (and every later answer on the connection) until
    /// [`crate::Cluster::release_held`].
    Hold,
    /// Close the connection instead of answering (the request is *not* served).
    DropConnection,
    /// Serve the request, then close the connection without answering (the client cannot
    /// know whether it was applied).
    DropAfterServing,
    /// Neither serve nor answer the request, and read nothing more from the connection, which
    /// stays open (a hung broker): answers queued before it still leave, later requests on it
    /// are ignored (not served, not counted). The client's request timeout is its way out.
    Hang,
}

/// One fault rule; build with [`Fault::fail`], [`Fault::delay`], [`Fault::hold`],
/// [`Fault::drop_connection`], [`Fault::drop_after_serving`], [`Fault::hang`] and narrow with
/// [`Fault::on_broker`] / [`Fault::on_partition`] / [`Fault::times`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) api: ApiKey,
    pub(crate) broker: Option<i32>,
    pub(crate) partition: Option<(String, i32)>,
    pub(crate) remaining: u32,
    pub(crate) action: FaultAction,
    matched: usize,
}

impl Fault {
    fn new(api: ApiKey, action: FaultAction, count: u32) -> Self {
        Self {
            api,
            broker: None,
            partition: None,
            remaining: count,
            action,
            matched: 0,
        }
    }

    /// Fails the next `codes.len()` requests of `api`, the i-th with `codes[i]`.
    pub fn fail(api: ApiKey, codes: &[ErrorCode]) -> Self {
        let n = codes.len().max(1) as u32;
        let codes = if codes.is_empty() {
            vec![ErrorCode::UNKNOWN_SERVER_ERROR]
        } else {
            codes.to_vec()
        };
        Self::new(api, FaultAction::Errors(codes), n)
    }

    /// Delays the answers to the next request of `api` by `by`.
    pub fn delay(api: ApiKey, by: Duration) -> Self {
        Self::new(api, FaultAction::Delay(by), 1)
    }

    /// Holds the answer to the next request of `api` until released.
    pub fn hold(api: ApiKey) -> Self {
        Self::new(api, FaultAction::Hold, 1)
    }

    /// Closes the connection on the next request of `api`, without serving it.
    pub fn drop_connection(api: ApiKey) -> Self {
        Self::new(api, FaultAction::DropConnection, 1)
    }

    /// Serves the next request of `api`, then closes the connection without answering.
    pub fn drop_after_serving(api: ApiKey) -> Self {
        Self::new(api, FaultAction::DropAfterServing, 1)
    }

    /// Hangs the connection on the next request of `api`: that request is neither served nor
    /// answered, and nothing after it on the connection is read (see [`FaultAction::Hang`]).
    pub fn hang(api: ApiKey) -> Self {
        Self::new(api, FaultAction::Hang, 1)
    }

    /// Only requests sent to broker `id`.
    pub fn on_broker(mut self, id: i32) -> Self {
        self.broker = Some(id);
        self
    }

    /// Only this partition (Produce, Fetch, ListOffsets).
    pub fn on_partition(mut self, topic: &str, partition: i32) -> Self {
        self.partition = Some((topic.to_owned(), partition));
        self
    }

    /// Applies to the next `n` matching requests (for `fail`, the last code repeats).
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = n;
        self
    }
}

/// The rule list.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<Fault>,
}

/// A fault applied to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    Error(ErrorCode),
    Delay(Duration),
    Hold,
    DropConnection,
    DropAfterServing,
    Hang,
}

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault) {
        if fault.remaining > 0 {
            self.rules.push(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn pending(&self) -> usize {
        self.rules.len()
    }

    /// Takes the first matching rule for a request (partition `None`: request level; rules
    /// scoped to a partition match only that partition).
    pub(crate) fn take(
        &mut self,
        api: ApiKey,
        broker: i32,
        partition: Option<(&str, i32)>,
    ) -> Option<Applied> {
        let at = self.rules.iter().position(|r| {
            r.api == api
                && r.broker.is_none_or(|b| b == broker)
                && match (&r.partition, partition) {
                    (None, None) => true,
                    (Some((t, p)), Some((rt, rp))) => t == rt && *p == rp,
                    _ => false,
                }
        })?;
        let rule = &mut self.rules[at];
        let applied = match &rule.action {
            FaultAction::Errors(codes) => {
                let code = codes
                    .get(rule.matched)
                    .or(codes.last())
                    .copied()
                    .unwrap_or(ErrorCode::UNKNOWN_SERVER_ERROR);
                Applied::Error(code)
            }
            FaultAction::Delay(d) => Applied::Delay(*d),
            FaultAction::Hold => Applied::Hold,
            FaultAction::DropConnection => Applied::DropConnection,
            FaultAction::DropAfterServing => Applied::DropAfterServing,
            FaultAction::Hang => Applied::Hang,
        };
        rule.matched += 1;
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.rules.remove(at);
        }
        Some(applied)
    }

    /// Takes a partition-scoped *error* for this partition, leaving other kinds of rules alone.
    pub(crate) fn take_partition_error(
        &mut self,
        api: ApiKey,
        broker: i32,
        topic: &str,
        partition: i32,
    ) -> Option<ErrorCode> {
        let is_error = self.rules.iter().any(|r| {
            r.api == api
                && matches!(r.action, FaultAction::Errors(_))
                && r.broker.is_none_or(|b| b == broker)
                && r.partition
                    .as_ref()
                    .is_some_and(|(t, p)| t == topic && *p == partition)
        });
        if !is_error {
            return None;
        }
        match self.take(api, broker, Some((topic, partition))) {
            Some(Applied::Error(code)) => Some(code),
            _ => None,
        }
    }
}
