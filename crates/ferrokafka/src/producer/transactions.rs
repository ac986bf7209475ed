//! The transactional calls of [`Producer`] (Java's `initTransactions`, `beginTransaction`,
//! `sendOffsetsToTransaction`, `commitTransaction`, `abortTransaction`): each starts under the
//! lock and waits for the driver to report its outcome.

#[allow(clippy::wildcard_imports)]
use super::*;

impl Producer {
    /// Starts a transactional call under the lock and waits (at most `max.block.ms`, as in
    /// Java) for its outcome. On timeout the call goes on in the background; calling it again
    /// waits for the same outcome.
    async fn transactional(
        &self,
        call: TxnCall,
        start: impl FnOnce(&mut Engine) -> Result<(), TxnFailure>,
    ) -> Result<(), ProduceError> {
        let started = clock_now();
        let result = self.transactional_inner(call, start).await;
        let slot = match call {
            TxnCall::InitTransactions => 0,
            TxnCall::SendOffsets => 2,
            TxnCall::CommitTransaction => 3,
            TxnCall::AbortTransaction => 4,
        };
        let took = crate::metrics::nanos(clock_now() - started);
        self.shared().measured.txn_ns[slot].fetch_add(took, Ordering::Relaxed);
        result
    }

    async fn transactional_inner(
        &self,
        call: TxnCall,
        start: impl FnOnce(&mut Engine) -> Result<(), TxnFailure>,
    ) -> Result<(), ProduceError> {
        let shared = self.shared();
        let (tx, rx) = oneshot::channel();
        {
            let mut st = shared.lock();
            if st.driver_gone {
                return Err(ProduceError::closed());
            }
            start(&mut st.engine).map_err(ProduceError::transaction)?;
            st.txn_waiters.entry(call).or_default().push(tx);
        }
        shared.wake_driver.notify_one();
        let timeout = shared.config.max_block;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result.map_err(ProduceError::transaction),
            Ok(Err(_)) => Err(ProduceError::closed()),
            Err(_) => Err(ProduceError::timeout(call.name(), timeout)),
        }
    }

    /// Java `initTransactions`: finds the transaction coordinator, gets the producer id and
    /// epoch (fencing older producers with the same `transactional.id`) and completes any
    /// transaction a previous instance left open. Needs `transactional.id`.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .set("transactional.id", "orders-service-1")
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// // Once per producer, before the first transaction (fences older instances of the same
    /// // transactional.id).
    /// producer.init_transactions().await?;
    /// producer.begin_transaction()?;
    /// producer.send(ProducerRecord::new("events").with_value("a")).await?;
    /// producer.commit_transaction().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn init_transactions(&self) -> Result<(), ProduceError> {
        self.transactional(TxnCall::InitTransactions, Engine::init_transactions)
            .await
    }

    /// Java `beginTransaction` (local, immediate).
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .set("transactional.id", "orders-service-1")
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// producer.init_transactions().await?;
    /// for batch in [["a", "b"], ["c", "d"]] {
    ///     producer.begin_transaction()?;
    ///     for value in batch {
    ///         producer.send(ProducerRecord::new("events").with_value(value)).await?;
    ///     }
    ///     producer.commit_transaction().await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn begin_transaction(&self) -> Result<(), ProduceError> {
        let started = clock_now();
        let result = self
            .shared()
            .lock()
            .engine
            .begin_transaction()
            .map_err(ProduceError::transaction);
        let took = crate::metrics::nanos(clock_now() - started);
        self.shared().measured.txn_ns[1].fetch_add(took, Ordering::Relaxed);
        result
    }

    /// Java `sendOffsetsToTransaction` (KIP-447): the consumed offsets become part of the
    /// transaction and are committed to `group` with it.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .set("transactional.id", "orders-service-1")
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// use ferrokafka::{GroupMetadata, OffsetToCommit};
    /// producer.init_transactions().await?;
    /// producer.begin_transaction()?;
    /// // Consume-transform-produce: the output records...
    /// producer.send(ProducerRecord::new("events").with_value("transformed")).await?;
    /// // ...and the input offsets they came from, committed atomically with them.
    /// let consumed = OffsetToCommit {
    ///     topic: "input".into(),
    ///     partition: 0,
    ///     offset: 42, // the next offset to consume
    ///     leader_epoch: None,
    ///     metadata: None,
    /// };
    /// producer
    ///     .send_offsets_to_transaction(vec![consumed], GroupMetadata::new("transformer"))
    ///     .await?;
    /// producer.commit_transaction().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: Vec<OffsetToCommit>,
        group: GroupMetadata,
    ) -> Result<(), ProduceError> {
        self.transactional(TxnCall::SendOffsets, move |e| {
            e.send_offsets_to_transaction(offsets, group)
        })
        .await
    }

    /// Java `commitTransaction`: sends everything of the transaction, then commits it. An
    /// abortable error (a record failed) means `abort_transaction` next.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .set("transactional.id", "orders-service-1")
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// producer.init_transactions().await?;
    /// producer.begin_transaction()?;
    /// producer.send(ProducerRecord::new("events").with_value("debit")).await?;
    /// producer.send(ProducerRecord::new("events").with_value("credit")).await?;
    /// match producer.commit_transaction().await {
    ///     Ok(()) => {} // both records are visible to read_committed consumers
    ///     // A record failed: abort, and the transaction can be retried.
    ///     Err(e) if e.is_abortable() => producer.abort_transaction().await?,
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn commit_transaction(&self) -> Result<(), ProduceError> {
        self.transactional(TxnCall::CommitTransaction, Engine::commit_transaction)
            .await
    }

    /// Java `abortTransaction`: records not sent yet fail with `TransactionAborted`, what is in
    /// flight is awaited, then the transaction is aborted.
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferrokafka::{Producer, ProducerConfig, ProducerRecord};
    /// # use ferrokafka_fake::{ClusterConfig, FakeServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferrokafka::ProduceError> {
    /// # // An in-memory fake cluster stands in for Kafka here; point `bootstrap_servers` at
    /// # // your brokers (and drop `transport`) in real code.
    /// # let fake = FakeServer::in_memory(ClusterConfig::builder().topic("events", 3).build());
    /// # let config = ProducerConfig::builder()
    /// #     .bootstrap_servers(fake.bootstrap())
    /// #     .transport(fake.transport())
    /// #     .set("transactional.id", "orders-service-1")
    /// #     .build()
    /// #     .unwrap();
    /// # let producer = Producer::new(config)?;
    /// producer.init_transactions().await?;
    /// producer.begin_transaction()?;
    /// producer.send(ProducerRecord::new("events").with_value("never visible")).await?;
    /// // Changed our mind: read_committed consumers never see the record.
    /// producer.abort_transaction().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn abort_transaction(&self) -> Result<(), ProduceError> {
        self.transactional(TxnCall::AbortTransaction, Engine::abort_transaction)
            .await
    }
}
