//! The consumer's run loop in steps, for callers that cannot hand the core an async handler
//! (the C ABI, hence Go): [`Consumer::next_handling`] polls and decodes one record,
//! the caller runs its handler, then reports [`Consumer::complete`] or [`Consumer::fail`].
//! `fail` decides, by `consumer.max_attempts` and `consumer.backoff_ms`, whether to retry
//! (the caller waits [`Outcome::Retry::after`] and calls its handler again) or to dead-letter
//! the record (written to the DLQ with the `kpipe.*` headers of [`crate::dlq`], acked only once
//! the DLQ write is acknowledged). [`Consumer::run_with`] is these steps in a loop, so the
//! retry and DLQ rules exist once.
//!
//! ```text
//! loop {
//!     let Some(mut h) = consumer.next_handling(&mut builder, timeout).await? else { continue };
//!     loop {
//!         match handler(&h) {
//!             Ok(()) => { consumer.complete(&h)?; break }
//!             Err(e) => match consumer.fail(&mut h, &e).await? {
//!                 Outcome::Retry { after, .. } => sleep(after),
//!                 Outcome::DeadLettered => break,
//!             },
//!         }
//!     }
//! }
//! consumer.finish_run()?;
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::avro::ValueBuilder;
use crate::config::CommitMode;
use std::future::Future;
use std::sync::atomic::Ordering;

use super::{Consumer, Message, Received};
use crate::avro::JsonBuilder;
use crate::error::{Error, Result};

/// One record being handled: the message, its decoded key and value, and the handler
/// attempts that failed so far.
#[derive(Debug, Clone)]
pub struct Handling<V> {
    /// The record as received, with its raw key and value.
    pub message: Arc<Message>,
    /// The decoded key; None for a null key.
    pub key: Option<V>,
    /// The decoded value; None for a null value.
    pub value: Option<V>,
    failed_attempts: u32,
}

impl<V: Clone> Handling<V> {
    /// What a `run` handler receives.
    pub fn received(&self) -> Received<V> {
        Received { message: self.message.clone(), key: self.key.clone(), value: self.value.clone() }
    }
}

impl<V> Handling<V> {
    /// Handler attempts that failed so far (the next attempt is this + 1).
    pub fn failed_attempts(&self) -> u32 {
        self.failed_attempts
    }
}

/// What [`Consumer::fail`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Call the handler again after `after`; `attempt` is the attempt that failed (from 1).
    Retry {
        /// How long to wait before the next attempt.
        after: Duration,
        /// The attempt that failed, from 1.
        attempt: u32,
    },
    /// The record was written to the DLQ and acknowledged; go on with the next one.
    DeadLettered,
}

impl Consumer {
    /// Polls one record (up to `timeout`) and decodes its key and value into `builder`'s
    /// values. `Ok(None)`: nothing to handle this time (no record arrived, a retriable consume
    /// error was logged, or the record could not be decoded and went to the DLQ) — call again.
    /// A retriable decode error (registry down) is retried up to `consumer.max_attempts` times
    /// with backoff and then returned, the record uncommitted. `closed` once the consumer is
    /// closed.
    pub async fn next_handling<B: ValueBuilder>(
        &self,
        builder: &mut B,
        timeout: Duration,
    ) -> Result<Option<Handling<B::Value>>> {
        let cfg = self.inner()?.client.config().consumer.clone();
        let msg = match self.recv(timeout).await {
            Ok(Some(m)) => Arc::new(m),
            Ok(None) => return Ok(None),
            Err(e) if e.is_retriable() => {
                tracing::warn!(code = e.code(), error = %e, "consume error, continuing");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut attempt = 0;
        let decoded = loop {
            attempt += 1;
            let r = async {
                let k = self.decode_key(&msg, builder).await?;
                let v = self.decode_value(&msg, builder).await?;
                Ok::<_, Error>((k, v))
            }
            .await;
            match r {
                Err(e) if e.is_retriable() && attempt < cfg.max_attempts => {
                    tracing::warn!(topic = %msg.topic, offset = msg.offset, attempt, code = e.code(), "decode retry");
                    tokio::time::sleep(crate::retry::backoff(cfg.backoff_ms, attempt)).await;
                }
                Err(e) if e.is_retriable() || e.is_fatal() => return Err(e),
                other => break other,
            }
        };
        match decoded {
            Ok((key, value)) => Ok(Some(Handling { message: msg, key, value, failed_attempts: 0 })),
            Err(e) => {
                self.dead_letter(&msg, &e, 0).await?;
                self.ack(&msg)?;
                Ok(None)
            }
        }
    }

    /// The handler succeeded: the record counts as handled (committable).
    pub fn complete<V>(&self, h: &Handling<V>) -> Result<()> {
        self.ack(&h.message)
    }

    /// The handler failed with `err`: either retry after a backoff, or (attempts used up)
    /// write the record to the DLQ, wait for that write's acknowledgement, and ack the record.
    /// A DLQ failure (or no DLQ configured) is returned; the record stays uncommitted.
    pub async fn fail<V>(&self, h: &mut Handling<V>, err: &Error) -> Result<Outcome> {
        let cfg = self.inner()?.client.config().consumer.clone();
        h.failed_attempts += 1;
        let attempt = h.failed_attempts;
        let msg = &h.message;
        if attempt < cfg.max_attempts {
            let after = crate::retry::backoff(cfg.backoff_ms, attempt);
            tracing::info!(topic = %msg.topic, offset = msg.offset, attempt, code = err.code(), wait_ms = after.as_millis() as u64, "handler failed, retrying");
            return Ok(Outcome::Retry { after, attempt });
        }
        self.dead_letter(msg, err, attempt).await?;
        self.ack(msg)?;
        Ok(Outcome::DeadLettered)
    }

    /// Ends a run: with `commit: after-handle`, commits what was handled and waits for it.
    pub fn finish_run(&self) -> Result<()> {
        let inner = match self.inner() {
            Ok(i) => i,
            // closed while running (consumer or client close): close already committed
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        if inner.mode == CommitMode::AfterHandle {
            inner.commit_now(rdkafka::consumer::CommitMode::Sync)?;
        }
        Ok(())
    }
}

/// The run loop: the steps above in a loop.
impl Consumer {
    /// Asks a running [`run`](Self::run) loop to return after the current record.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Runs `handler` on every record, decoded to natural JSON, until [`stop`](Self::stop) or
    /// [`close`](Self::close). See [`run_with`](Self::run_with).
    pub async fn run<F, Fut>(&self, handler: F) -> Result<()>
    where
        F: FnMut(Received<serde_json::Value>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        self.run_with(JsonBuilder, handler).await
    }

    /// The run loop: decode, call `handler` up to `consumer.max_attempts` times with
    /// exponential backoff from `consumer.backoff_ms`; a record that still fails, or cannot be
    /// decoded, goes to the DLQ (`consumer.dlq`) with its original bytes and headers plus the
    /// `kpipe.*` headers; it counts as handled only once the DLQ write is acknowledged. A DLQ
    /// failure (or no DLQ configured) stops the loop with that error, the record uncommitted.
    /// A retriable decode error (registry down) is retried likewise and then returned.
    pub async fn run_with<B, F, Fut>(&self, mut builder: B, mut handler: F) -> Result<()>
    where
        B: ValueBuilder,
        B::Value: Clone,
        F: FnMut(Received<B::Value>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        // The steps below (next_handling / complete / fail) are shared with the C ABI.
        self.stop.store(false, Ordering::SeqCst);
        while !self.stop.load(Ordering::SeqCst) {
            let mut h = match self.next_handling(&mut builder, Duration::from_millis(200)).await {
                Ok(Some(h)) => h,
                Ok(None) => continue,
                Err(Error::Closed { .. }) => return Ok(()),
                Err(e) => return Err(e),
            };
            loop {
                let msg = &h.message;
                let span = tracing::debug_span!("handle", topic = %msg.topic, partition = msg.partition, offset = msg.offset, attempt = h.failed_attempts() + 1);
                match tracing::Instrument::instrument(handler(h.received()), span).await {
                    Ok(()) => {
                        self.complete(&h)?;
                        break;
                    }
                    Err(e) => match self.fail(&mut h, &e).await? {
                        Outcome::Retry { after, .. } => tokio::time::sleep(after).await,
                        Outcome::DeadLettered => break,
                    },
                }
            }
        }
        self.finish_run()
    }

    pub(crate) async fn dead_letter(
        &self,
        msg: &Message,
        err: &Error,
        attempts: u32,
    ) -> Result<()> {
        let inner = self.inner()?;
        let template = &inner.client.config().consumer.dlq;
        match crate::dlq::send(&inner.client, template, &inner.group, msg, err, attempts).await {
            Ok(d) => {
                tracing::warn!(topic = %msg.topic, partition = msg.partition, offset = msg.offset, dlq = %d.topic, code = err.code(), attempts, "record sent to the DLQ");
                Ok(())
            }
            Err(e) => {
                tracing::error!(topic = %msg.topic, offset = msg.offset, code = e.code(), error = %e, "DLQ write failed; not committing");
                Err(e)
            }
        }
    }
}
