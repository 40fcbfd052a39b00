//! TO BE REPLACED by the core's binding seam (issue 14: core parsers for text options, the
//! core poll session with its acknowledgement rule, and the core's error-details record).
//! Everything the Node binding needs beyond converting values lives here and only here, so
//! swapping it for the core's versions is one file: option text parsing (serializer kind,
//! start position, commit mode), the poll/drain loop (first record, then drain a batch, warm
//! the schemas, skip retriable errors), the acknowledgement bookkeeping (the previous record
//! is acked when the next is asked for), and error details. Semantics and messages follow
//! the Python binding, which carries the same pieces today.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kpipe::config::CommitMode;
use kpipe::{Serde, StartAt, TopicSerde};

/// Records drained per poll at most.
pub const BATCH: usize = 512;

fn invalid(path: &str, reason: String) -> kpipe::Error {
    kpipe::Error::ConfigInvalid { path: path.into(), reason }
}

/// "bytes" | "string" | "json" | "avro" (+ schema text) -> the core's serializer.
pub fn serde_of(kind: &str, schema: Option<String>, what: &str) -> kpipe::Result<Serde> {
    Ok(match kind {
        "bytes" => Serde::Bytes,
        "string" => Serde::String,
        "json" => Serde::Json,
        "avro" => Serde::Avro { schema: schema.map(Arc::from) },
        other => {
            return Err(invalid(
                what,
                format!("unknown serializer {other:?} (expected bytes, string, json or avro)"),
            ))
        }
    })
}

/// A start position given as text.
pub fn start_of(text: &str) -> kpipe::Result<StartAt> {
    match text {
        "committed" => Ok(StartAt::Committed),
        "earliest" => Ok(StartAt::Earliest),
        "latest" => Ok(StartAt::Latest),
        other => Err(invalid(
            "start",
            format!("unknown position {other:?} (expected committed, earliest, latest, an int offset or a datetime)"),
        )),
    }
}

/// A commit mode given as text.
pub fn commit_of(text: &str) -> kpipe::Result<CommitMode> {
    match text {
        "after-handle" => Ok(CommitMode::AfterHandle),
        "manual" => Ok(CommitMode::Manual),
        "auto" => Ok(CommitMode::Auto),
        other => Err(invalid(
            "commit",
            format!("unknown mode {other:?} (expected after-handle, manual or auto)"),
        )),
    }
}

/// The poll session's fetch step: wait up to `timeout` for a first record (a retriable
/// consume error counts as "nothing yet"), drain what is already fetched up to [`BATCH`], and
/// fetch the writer schemas the batch needs so decoding on the JS thread does no I/O.
pub async fn poll_batch(
    consumer: &kpipe::Consumer,
    client: &kpipe::Client,
    timeout: Duration,
) -> kpipe::Result<Vec<kpipe::Message>> {
    let mut out = Vec::new();
    match consumer.recv(timeout).await {
        Ok(Some(m)) => out.push(m),
        Ok(None) => return Ok(out),
        Err(e) if e.is_retriable() => return Ok(out),
        Err(e) => return Err(e),
    }
    while out.len() < BATCH {
        match consumer.recv(Duration::ZERO).await {
            Ok(Some(m)) => out.push(m),
            _ => break,
        }
    }
    let mut cache: Option<(Arc<str>, TopicSerde)> = None;
    for m in &out {
        let serde = match &cache {
            Some((t, s)) if Arc::ptr_eq(t, &m.topic) => s.clone(),
            _ => {
                let s = client.topic_serde(&m.topic);
                cache = Some((m.topic.clone(), s.clone()));
                s
            }
        };
        client.warm_readers(m, &serde).await;
    }
    Ok(out)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Acknowledgement bookkeeping: records fetched but not handed out, and the last record
/// handed out, which counts as handled once the next one is asked for.
#[derive(Default)]
pub struct Session {
    buf: Mutex<VecDeque<kpipe::Message>>,
    last: Mutex<Option<Arc<kpipe::Message>>>,
}

impl Session {
    /// Acks the record handed out last (called when the next is asked for, and on close).
    pub fn ack_last(&self, consumer: &kpipe::Consumer) {
        if let Some(prev) = lock(&self.last).take() {
            let _ = consumer.ack(&prev);
        }
    }

    /// A buffered record, if any.
    pub fn pop(&self) -> Option<kpipe::Message> {
        lock(&self.buf).pop_front()
    }

    /// Keeps the rest of a fetched batch for the following calls.
    pub fn keep(&self, rest: impl IntoIterator<Item = kpipe::Message>) {
        lock(&self.buf).extend(rest);
    }

    /// Records `m` as handed out and returns it shared.
    pub fn hand_out(&self, m: kpipe::Message) -> Arc<kpipe::Message> {
        let m = Arc::new(m);
        *lock(&self.last) = Some(m.clone());
        m
    }

    /// A record handed out to a caller that stopped waiting (aborted): it goes back to the
    /// front, so the next call returns it and nothing is skipped.
    pub fn unread(&self, m: &Arc<kpipe::Message>) {
        let mut last = lock(&self.last);
        if last.as_ref().is_some_and(|l| Arc::ptr_eq(l, m)) {
            *last = None;
        }
        lock(&self.buf).push_front((**m).clone());
    }

    /// An explicit ack of `m`: it no longer waits for the next call.
    pub fn forget(&self, m: &Arc<kpipe::Message>) {
        let mut last = lock(&self.last);
        if last.as_ref().is_some_and(|l| Arc::ptr_eq(l, m)) {
            *last = None;
        }
    }

    /// Drops what was fetched for one partition (after a seek) or everything (None).
    pub fn drop_buffered(&self, partition: Option<(&str, i32)>) {
        match partition {
            Some((t, p)) => lock(&self.buf).retain(|m| !(&*m.topic == t && m.partition == p)),
            None => {
                lock(&self.buf).clear();
                *lock(&self.last) = None;
            }
        }
    }

    /// Lowest buffered offset per partition, emptying the buffer: where `run` must rewind to
    /// so that it handles those records itself.
    pub fn take_rewinds(&self) -> Vec<(String, i32, i64)> {
        let mut rewind: std::collections::BTreeMap<(String, i32), i64> = Default::default();
        for m in lock(&self.buf).drain(..) {
            let e = rewind.entry((m.topic.to_string(), m.partition)).or_insert(m.offset);
            *e = (*e).min(m.offset);
        }
        rewind.into_iter().map(|((t, p), o)| (t, p, o)).collect()
    }
}

/// What a binding shows of an error.
pub struct Details {
    pub code: &'static str,
    pub message: String,
    pub retriable: bool,
    pub fatal: bool,
}

pub fn details(e: &kpipe::Error) -> Details {
    Details { code: e.code(), message: e.to_string(), retriable: e.is_retriable(), fatal: e.is_fatal() }
}

/// A reset target given as text ("earliest" | "latest"); times and explicit offsets come as
/// JS values (see `NativeClient::reset_offsets`).
pub fn reset_to_of(text: &str) -> kpipe::Result<kpipe::offsets::ResetTo> {
    match text {
        "earliest" => Ok(kpipe::offsets::ResetTo::Earliest),
        "latest" => Ok(kpipe::offsets::ResetTo::Latest),
        other => Err(kpipe::Error::InputInvalid { what: "to".into(), reason: format!("unknown position {other:?}") }),
    }
}

/// A migration strategy given as text.
pub fn strategy_of(text: &str) -> kpipe::Result<kpipe::offsets::Strategy> {
    match text {
        "timestamp" => Ok(kpipe::offsets::Strategy::Timestamp),
        "checkpoint" => Ok(kpipe::offsets::Strategy::Checkpoint),
        other => Err(kpipe::Error::InputInvalid {
            what: "strategy".into(),
            reason: format!("unknown {other:?} (timestamp or checkpoint)"),
        }),
    }
}
