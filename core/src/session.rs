//! The poll session every binding wraps: how records are fetched, handed out and acknowledged,
//! the same in every language (docs/client.md, "Acknowledgement").
//!
//! - Fetching: wait (up to the caller's timeout) for the first record, then take up to
//!   [`POLL_BATCH`] records librdkafka has already fetched, without waiting, and warm the
//!   schemas their decode needs. Records fetched but not handed out stay in the session.
//! - Errors while polling: a retriable one (broker down, leader change; see
//!   [`Error::is_retriable`]) is logged through `tracing` and polling goes on; any other is
//!   returned to the caller (one that comes after the first record of a batch ends the batch and
//!   is returned by the next call).
//! - Acknowledgement, [`AckMode::Implicit`] (the default): the previous record handed out is
//!   acknowledged when the next one is asked for (poll, iteration, run) and when the session is
//!   closed. [`AckMode::Explicit`]: only [`Consumer::ack`] (or a commit of the record)
//!   acknowledges, for records handed to other threads. `run` acknowledges each record after
//!   its handler returned, in both modes.
//!
//! Bindings that keep fetched records on their own side (the C ABI lends a whole batch to Go in
//! one crossing) take them with [`PollSession::next_batch`] and report each record they hand to
//! the user with [`PollSession::handed`]; everything else is [`PollSession::next`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::avro::ValueBuilder;
use crate::consumer::{Consumer, Message, Received};
use crate::error::{Error, Result};
use crate::handling::Handling;
pub use crate::options::AckMode;

/// The most records one fetch takes (the wait is only for the first), in every binding.
pub const POLL_BATCH: usize = 256;
// large enough to amortize a crossing into the core, small enough to keep memory per poll low
const _: () = assert!(POLL_BATCH >= 64 && POLL_BATCH <= 4096);

/// A record handed out (or lent to a binding): topic, partition, offset.
type Position = (Arc<str>, i32, i64);

#[derive(Default)]
struct State {
    /// Fetched, not yet handed out or lent.
    fetched: VecDeque<Arc<Message>>,
    /// Lent to the binding by `next_batch`, not yet handed to the user (in order).
    lent: VecDeque<Position>,
    /// The last record handed out, acknowledged when the next is asked for (implicit mode).
    last: Option<Position>,
    /// A non-retriable error met after the first record of a batch, for the next call.
    pending_error: Option<Error>,
}

/// A consumer with the one fetch, error and acknowledgement policy of every binding.
pub struct PollSession {
    consumer: Arc<Consumer>,
    ack: AckMode,
    state: Mutex<State>,
    /// One fetch at a time (records of concurrent fetches could otherwise interleave).
    fetching: tokio::sync::Mutex<()>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn position(m: &Message) -> Position {
    (m.topic.clone(), m.partition, m.offset)
}

impl PollSession {
    /// A session over `consumer` acknowledging per `ack`.
    pub fn new(consumer: Arc<Consumer>, ack: AckMode) -> Self {
        PollSession {
            consumer,
            ack,
            state: Mutex::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The consumer (for seek, lag, commit and the other calls that need no session state).
    pub fn consumer(&self) -> &Arc<Consumer> {
        &self.consumer
    }

    /// The acknowledgement mode.
    pub fn ack_mode(&self) -> AckMode {
        self.ack
    }

    /// The next record is being asked for: in implicit mode the previous one handed out is
    /// acknowledged now.
    pub fn asked(&self) -> Result<()> {
        let last = lock(&self.state).last.take();
        match (self.ack, last) {
            (AckMode::Implicit, Some((topic, partition, offset))) => {
                self.ack_position(&topic, partition, offset)
            }
            _ => Ok(()),
        }
    }

    fn ack_position(&self, topic: &Arc<str>, partition: i32, offset: i64) -> Result<()> {
        let m = Message {
            topic: topic.clone(),
            partition,
            offset,
            timestamp_ms: None,
            key: None,
            value: None,
            headers: Vec::new(),
        };
        self.consumer.ack(&m)
    }

    /// The next record without waiting: one already fetched, or None. Acknowledges the previous
    /// one (implicit mode). For bindings that want to skip releasing a lock when a record is
    /// at hand.
    pub fn try_next(&self) -> Result<Option<Arc<Message>>> {
        self.asked()?;
        let mut st = lock(&self.state);
        let m = st.fetched.pop_front();
        if let Some(m) = &m {
            st.last = Some(position(m));
        }
        Ok(m)
    }

    /// The next record, waiting up to `timeout` for one (None: none arrived). Acknowledges the
    /// previous one (implicit mode).
    pub async fn next(&self, timeout: Duration) -> Result<Option<Arc<Message>>> {
        if let Some(m) = self.try_next()? {
            return Ok(Some(m));
        }
        let batch = self.fetch(timeout, POLL_BATCH).await?;
        let mut st = lock(&self.state);
        st.fetched.extend(batch);
        let m = st.fetched.pop_front();
        if let Some(m) = &m {
            st.last = Some(position(m));
        }
        Ok(m)
    }

    /// Up to `max` records (at most [`POLL_BATCH`]), waiting up to `timeout` for the first,
    /// lent to a binding that hands them out itself: it reports each one it hands to the user
    /// with [`handed`](Self::handed), in order. Records lent earlier and never handed out are
    /// forgotten (the binding dropped them). Acknowledges the previous record (implicit mode).
    pub async fn next_batch(&self, timeout: Duration, max: usize) -> Result<Vec<Arc<Message>>> {
        self.asked()?;
        let max = max.clamp(1, POLL_BATCH);
        let mut out: Vec<Arc<Message>> = {
            let mut st = lock(&self.state);
            st.lent.clear();
            let n = st.fetched.len().min(max);
            st.fetched.drain(..n).collect()
        };
        if out.is_empty() {
            out = self.fetch(timeout, max).await?;
        }
        lock(&self.state).lent.extend(out.iter().map(|m| position(m)));
        Ok(out)
    }

    /// A record lent by [`next_batch`](Self::next_batch) is handed to the user: the previous
    /// one is acknowledged (implicit mode) and this one becomes the previous.
    pub fn handed(&self, topic: &str, partition: i32, offset: i64) -> Result<()> {
        let pos = {
            let mut st = lock(&self.state);
            // records before it were dropped by the binding (a seek): they are not handed out
            let mut found = None;
            while let Some(p) = st.lent.pop_front() {
                if &*p.0 == topic && p.1 == partition && p.2 == offset {
                    found = Some(p);
                    break;
                }
            }
            found.unwrap_or_else(|| (Arc::from(topic), partition, offset))
        };
        self.asked()?;
        lock(&self.state).last = Some(pos);
        Ok(())
    }

    /// A record handed out by [`next`](Self::next) did not reach the user after all (an asyncio
    /// task was cancelled meanwhile): it is not acknowledged and comes next again.
    pub fn unread(&self, msg: Arc<Message>) {
        let mut st = lock(&self.state);
        if st.last.as_ref().is_some_and(|l| {
            Arc::ptr_eq(&l.0, &msg.topic) && l.1 == msg.partition && l.2 == msg.offset
        }) {
            st.last = None;
        }
        st.fetched.push_front(msg);
    }

    /// The previous record handed out is not to be acknowledged (its handling failed, e.g. a
    /// `with` block raised).
    pub fn forget_last(&self) {
        lock(&self.state).last = None;
    }

    /// Waits for the first record, then drains what is already fetched, then warms schemas.
    async fn fetch(&self, timeout: Duration, max: usize) -> Result<Vec<Arc<Message>>> {
        let _one = self.fetching.lock().await;
        if let Some(e) = lock(&self.state).pending_error.take() {
            return Err(e);
        }
        let deadline = Instant::now() + timeout;
        let first = loop {
            match self.consumer.recv(deadline.saturating_duration_since(Instant::now())).await {
                Ok(Some(m)) => break m,
                Ok(None) => return Ok(Vec::new()),
                Err(e) if e.is_retriable() => {
                    tracing::warn!(code = e.code(), error = %e, "consume error, polling goes on");
                    if Instant::now() >= deadline {
                        return Ok(Vec::new());
                    }
                    // a broker that is down reports at once; do not spin on it
                    tokio::time::sleep(
                        Duration::from_millis(10)
                            .min(deadline.saturating_duration_since(Instant::now())),
                    )
                    .await;
                }
                Err(e) => return Err(e),
            }
        };
        let mut out = Vec::with_capacity(max.min(64));
        out.push(Arc::new(first));
        while out.len() < max {
            match self.consumer.recv(Duration::ZERO).await {
                Ok(Some(m)) => out.push(Arc::new(m)),
                Ok(None) => break,
                Err(e) if e.is_retriable() => {
                    tracing::warn!(code = e.code(), error = %e, "consume error, polling goes on");
                    break;
                }
                Err(e) => {
                    lock(&self.state).pending_error = Some(e);
                    break;
                }
            }
        }
        self.consumer.warm_schemas(&out).await;
        Ok(out)
    }

    /// Commits now and waits for the broker (any commit mode but `auto`). `record` given: it is
    /// acknowledged first; none: the last record handed out is, in implicit mode (the caller is
    /// done with it), in explicit mode nothing is.
    pub fn commit(&self, record: Option<(&str, i32, i64)>) -> Result<()> {
        match record {
            Some((topic, partition, offset)) => {
                {
                    let mut st = lock(&self.state);
                    if st
                        .last
                        .as_ref()
                        .is_some_and(|l| &*l.0 == topic && l.1 == partition && l.2 == offset)
                    {
                        st.last = None;
                    }
                }
                self.ack_position(&Arc::from(topic), partition, offset)?;
            }
            None => self.asked()?,
        }
        self.consumer.commit()
    }

    /// Drops records of `topic`/`partition` fetched or lent but not handed out, and moves the
    /// partition to `offset`.
    pub fn seek(&self, topic: &str, partition: i32, offset: i64, timeout: Duration) -> Result<()> {
        {
            let mut st = lock(&self.state);
            st.fetched.retain(|m| !(&*m.topic == topic && m.partition == partition));
            st.lent.retain(|p| !(&*p.0 == topic && p.1 == partition));
            if st.last.as_ref().is_some_and(|l| &*l.0 == topic && l.1 == partition) {
                st.last = None;
            }
        }
        self.consumer.seek(topic, partition, offset, timeout)
    }

    /// Moves every assigned partition to the first record at or after `time_ms`, dropping what
    /// was fetched and not handed out.
    pub async fn seek_to_time(
        &self,
        client: &crate::Client,
        time_ms: i64,
    ) -> Result<Vec<(String, i32, i64)>> {
        {
            let mut st = lock(&self.state);
            st.fetched.clear();
            st.lent.clear();
            st.last = None;
        }
        self.consumer.seek_to_time(client, time_ms).await
    }

    /// Before a run loop reads the consumer itself: acknowledges the previous record (implicit
    /// mode) and moves partitions back to records fetched or lent but not handed out, so the
    /// run loop handles them.
    fn begin_run(&self) -> Result<()> {
        self.asked()?;
        let mut rewind: BTreeMap<(Arc<str>, i32), i64> = BTreeMap::new();
        {
            let mut st = lock(&self.state);
            let lent: Vec<Position> = st.lent.drain(..).collect();
            let fetched: Vec<Position> = st.fetched.drain(..).map(|m| position(&m)).collect();
            for (t, p, o) in lent.into_iter().chain(fetched) {
                let e = rewind.entry((t, p)).or_insert(o);
                *e = (*e).min(o);
            }
        }
        for ((t, p), o) in rewind {
            // records handed out before them and not acknowledged keep holding the commit back
            self.consumer.rewind(&t, p, o, Duration::from_secs(10))?;
        }
        Ok(())
    }

    /// The run loop ([`Consumer::run_with`]) after `begin_run`: each record
    /// is acknowledged after its handler returned (or it was dead-lettered).
    pub async fn run_with<B, F, Fut>(&self, builder: B, handler: F) -> Result<()>
    where
        B: ValueBuilder,
        B::Value: Clone,
        F: FnMut(Received<B::Value>) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        self.begin_run()?;
        self.consumer.run_with(builder, handler).await
    }

    /// One step of a run loop driven by the binding (see [`crate::handling`]), after
    /// `begin_run` when records are waiting in the session.
    pub async fn next_handling<B: ValueBuilder>(
        &self,
        builder: &mut B,
        timeout: Duration,
    ) -> Result<Option<Handling<B::Value>>> {
        let waiting = {
            let st = lock(&self.state);
            st.last.is_some() || !st.fetched.is_empty() || !st.lent.is_empty()
        };
        if waiting {
            self.begin_run()?;
        }
        self.consumer.next_handling(builder, timeout).await
    }

    /// Acknowledges the last record handed out (implicit mode), then closes the consumer
    /// (committing what was handled). Records fetched and not handed out are not committed.
    pub fn close(&self) -> Result<()> {
        let acked = match self.asked() {
            Err(Error::Closed { .. }) => Ok(()),
            r => r,
        };
        {
            let mut st = lock(&self.state);
            st.fetched.clear();
            st.lent.clear();
        }
        let closed = self.consumer.close();
        acked.and(closed)
    }
}
