//! Consumer: the core's group consumer. Records are fetched in batches with the GIL released
//! (schemas they need fetched then too) and handed out one by one; key and value are decoded
//! into Python objects on first access. A record counts as handled (its offset may be
//! committed) once the next one is asked for, or on `commit(msg)`.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kpipe::{ConsumerOptions, StartAt, TopicSerde};
use pyo3::exceptions::{PyException, PyStopAsyncIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::convert::{str_of, types, NoBuilder, PyBuilder};
use crate::error::{self, IntoPy};
use crate::producer::millis_of;
use crate::runtime::{guarded, now, wait, SIGNAL_CHECK};

/// Records fetched per wake-up at most.
const BATCH: usize = 512;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One consumed record. `key` and `value` are decoded with the topic's deserializers on first
/// access (SerializationError if they cannot be); `raw_key`/`raw_value` are the bytes.
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct Message {
    msg: Arc<kpipe::Message>,
    consumer: Arc<kpipe::Consumer>,
    key: PyOnceLock<Py<PyAny>>,
    value: PyOnceLock<Py<PyAny>>,
}

impl Message {
    fn new(msg: Arc<kpipe::Message>, consumer: Arc<kpipe::Consumer>) -> Self {
        Message {
            msg,
            consumer,
            key: PyOnceLock::new(),
            value: PyOnceLock::new(),
        }
    }
}

#[pymethods]
impl Message {
    #[getter]
    fn topic(&self) -> &str {
        &self.msg.topic
    }
    #[getter]
    fn partition(&self) -> i32 {
        self.msg.partition
    }
    #[getter]
    fn offset(&self) -> i64 {
        self.msg.offset
    }
    /// Milliseconds since the epoch (None when the record has none).
    #[getter]
    fn timestamp(&self) -> Option<i64> {
        self.msg.timestamp_ms
    }
    /// List of (name, bytes) pairs, in order.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items: Vec<Bound<'py, PyTuple>> = self
            .msg
            .headers
            .iter()
            .map(|(k, v)| {
                PyTuple::new(
                    py,
                    [
                        PyString::new(py, k).into_any(),
                        PyBytes::new(py, v).into_any(),
                    ],
                )
            })
            .collect::<PyResult<_>>()?;
        PyList::new(py, items)
    }
    /// The first header named `name` (bytes), or None.
    fn header<'py>(&self, py: Python<'py>, name: &str) -> Option<Bound<'py, PyBytes>> {
        self.msg.header(name).map(|v| PyBytes::new(py, v))
    }
    #[getter]
    fn raw_key<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.msg.key.as_deref().map(|b| PyBytes::new(py, b))
    }
    #[getter]
    fn raw_value<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.msg.value.as_deref().map(|b| PyBytes::new(py, b))
    }
    /// The decoded key (None for no key).
    #[getter]
    fn key(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.key
            .get_or_try_init(py, || self.decode(py, true))
            .map(|v| v.clone_ref(py))
    }
    /// The decoded value (None for a tombstone).
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.value
            .get_or_try_init(py, || self.decode(py, false))
            .map(|v| v.clone_ref(py))
    }
    fn __repr__(&self) -> String {
        format!(
            "<kpipe.Message {}[{}]@{}>",
            self.msg.topic, self.msg.partition, self.msg.offset
        )
    }
}

impl Message {
    /// Decodes with the GIL held when the writer schema is cached; otherwise fetches it first
    /// with the GIL released (a decode to JSON on the runtime, which caches the schema or
    /// returns the registry's error) and Ctrl-C answered, then decodes.
    fn decode(&self, py: Python<'_>, is_key: bool) -> PyResult<Py<PyAny>> {
        for _ in 0..2 {
            let mut b = PyBuilder::new(py)?;
            let got = if is_key {
                now(self.consumer.decode_key(&self.msg, &mut b))
            } else {
                now(self.consumer.decode_value(&self.msg, &mut b))
            };
            if let Some(v) = got.py_err()? {
                let v = v.py_err()?;
                return Ok(v.map(|v| v.unbind()).unwrap_or_else(|| py.None()));
            }
            let (c, m) = (self.consumer.clone(), self.msg.clone());
            wait(py, async move {
                let mut j = kpipe::avro::JsonBuilder;
                if is_key {
                    c.decode_key(&m, &mut j).await.map(|_| ())
                } else {
                    c.decode_value(&m, &mut j).await.map(|_| ())
                }
            })?
            .py_err()?;
        }
        Err(error::coded(
            "registry.unavailable",
            "the writer schema could not be kept in the cache".into(),
        ))
    }
}


/// A group consumer (see Client.consumer). Iterate it, `poll()` it, `run(handler)` it, or
/// `async for msg in consumer.stream()`. Thread-safe; `close()` is idempotent.
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct Consumer {
    client: kpipe::Client,
    inner: Arc<kpipe::Consumer>,
    /// Fetched, not yet handed out.
    buf: Mutex<VecDeque<kpipe::Message>>,
    /// The last record handed out: handled once the next is asked for.
    last: Mutex<Option<Arc<kpipe::Message>>>,
}

fn start_of(start: Option<&Bound<'_, PyAny>>) -> PyResult<StartAt> {
    let Some(s) = start.filter(|s| !s.is_none()) else {
        return Ok(StartAt::Committed);
    };
    if let Some(t) = str_of(s) {
        return match t {
            "committed" => Ok(StartAt::Committed),
            "earliest" => Ok(StartAt::Earliest),
            "latest" => Ok(StartAt::Latest),
            other => Err(error::coded(
                "config.invalid",
                format!("start: unknown position {other:?} (expected committed, earliest, latest, an int offset or a datetime)"),
            )),
        };
    }
    if s.is_instance_of::<PyInt>() && !s.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(StartAt::Offset(s.extract()?));
    }
    let py = s.py();
    if s.is_instance(types(py)?.datetime.bind(py))? {
        return Ok(StartAt::Timestamp(millis_of(s)?));
    }
    Err(PyTypeError::new_err(
        "start must be 'committed', 'earliest', 'latest', an int offset or a datetime",
    ))
}

/// The serializers per topic, looked up once per batch.
async fn warm_batch(client: &kpipe::Client, batch: &[kpipe::Message]) {
    {
        let mut cache: Option<(Arc<str>, TopicSerde)> = None;
        for m in batch {
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
    }
}

impl Consumer {
    pub fn open(
        py: Python<'_>,
        client: &kpipe::Client,
        group: &str,
        topics: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        commit: Option<&str>,
        properties: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let topics: Vec<String> = match str_of(topics) {
            Some(t) => vec![t.to_string()],
            None => topics.extract()?,
        };
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let mut opts = ConsumerOptions::new(group, &names);
        opts.start = start_of(start)?;
        opts.commit = match commit {
            None => None,
            Some("after-handle") => Some(kpipe::config::CommitMode::AfterHandle),
            Some("manual") => Some(kpipe::config::CommitMode::Manual),
            Some("auto") => Some(kpipe::config::CommitMode::Auto),
            Some(other) => {
                return Err(error::coded(
                    "config.invalid",
                    format!(
                        "commit: unknown mode {other:?} (expected after-handle, manual or auto)"
                    ),
                ))
            }
        };
        if let Some(p) = properties {
            for (k, v) in p.iter() {
                opts.properties.push((k.extract()?, v.str()?.to_string()));
            }
        }
        let c = client.clone();
        let inner = py
            .detach(move || {
                guarded(|| {
                    // librdkafka's stream consumer spawns onto the runtime it is created in
                    let handle = kpipe::runtime::handle()?;
                    let _ctx = handle.enter();
                    c.consumer(opts)
                })
            })
            .py_err()?;
        Ok(Consumer {
            client: client.clone(),
            inner: Arc::new(inner),
            buf: Mutex::default(),
            last: Mutex::default(),
        })
    }

    fn ack_last(&self) {
        if let Some(prev) = lock(&self.last).take() {
            let _ = self.inner.ack(&prev);
        }
    }

    fn hand_out(&self, m: kpipe::Message) -> Message {
        let m = Arc::new(m);
        *lock(&self.last) = Some(m.clone());
        Message::new(m, self.inner.clone())
    }

    /// The next record within `timeout` seconds (None: forever), GIL released while waiting.
    fn next_record(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<Option<kpipe::Message>> {
        if let Some(m) = lock(&self.buf).pop_front() {
            return Ok(Some(m));
        }
        let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
        loop {
            let slice = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .min(SIGNAL_CHECK),
                None => SIGNAL_CHECK,
            };
            let (inner, client) = (self.inner.clone(), self.client.clone());
            let got: kpipe::Result<Vec<kpipe::Message>> = py
                .detach(move || {
                    kpipe::runtime::block_on(async move {
                        let mut out = Vec::new();
                        match inner.recv(slice).await {
                            Ok(Some(m)) => out.push(m),
                            Ok(None) => return Ok(out),
                            Err(e) if e.is_retriable() => return Ok(out),
                            Err(e) => return Err(e),
                        }
                        while out.len() < BATCH {
                            match inner.recv(Duration::ZERO).await {
                                Ok(Some(m)) => out.push(m),
                                _ => break,
                            }
                        }
                        warm_batch(&client, &out).await;
                        Ok(out)
                    })
                })
                .and_then(|r| r);
            let batch = got.py_err()?;
            if !batch.is_empty() {
                let mut it = batch.into_iter();
                let first = it.next();
                lock(&self.buf).extend(it);
                return Ok(first);
            }
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }
}

#[pymethods]
impl Consumer {
    /// The next record, or None when none arrives within `timeout` seconds (None: wait
    /// until one does). Marks the previous record handled.
    ///
    /// >>> msg = consumer.poll(1.0)
    #[pyo3(signature = (timeout=None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Message>> {
        self.ack_last();
        Ok(self.next_record(py, timeout)?.map(|m| self.hand_out(m)))
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Message>> {
        // a closed consumer raises ClosedError, as every call on it does
        self.inner.cluster().py_err()?;
        self.ack_last();
        match self.next_record(py, None) {
            Ok(m) => Ok(m.map(|m| self.hand_out(m))),
            // closed meanwhile (consumer.close() or client.close() from another thread): the
            // loop ends, as it would after stop()
            Err(e)
                if e.value(py)
                    .getattr("code")
                    .ok()
                    .and_then(|c| c.extract::<String>().ok())
                    .as_deref()
                    == Some("closed") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Marks `msg` handled (default: the last record handed out) and commits every handled
    /// offset now, waiting for the broker.
    #[pyo3(signature = (msg=None))]
    fn commit(&self, py: Python<'_>, msg: Option<&Bound<'_, Message>>) -> PyResult<()> {
        match msg {
            Some(m) => {
                let m = m.get();
                let mut last = lock(&self.last);
                if last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &m.msg)) {
                    *last = None;
                }
                drop(last);
                self.inner.ack(&m.msg).py_err()?;
            }
            None => self.ack_last(),
        }
        let inner = self.inner.clone();
        py.detach(move || guarded(|| inner.commit())).py_err()
    }

    /// Marks `msg` handled without committing now (after-handle commits it soon).
    fn ack(&self, msg: &Bound<'_, Message>) -> PyResult<()> {
        self.inner.ack(&msg.get().msg).py_err()
    }

    /// Calls `handler(msg)` for every record until `stop()`, `close()` or Ctrl-C, with the
    /// core's semantics: an exception is retried (consumer.max_attempts, backoff), then the
    /// record goes to the DLQ with kpipe.* headers; undecodable records go straight there;
    /// offsets are committed after handling. The GIL is held only while the handler runs.
    ///
    /// >>> def handle(msg):
    /// ...     charge(msg.value)          # raise to retry / dead-letter
    /// >>> consumer.run(handle)
    fn run(&self, py: Python<'_>, handler: Py<PyAny>) -> PyResult<()> {
        // ClosedError on a closed consumer; closed while running, run returns (like stop())
        self.inner.cluster().py_err()?;
        self.ack_last();
        // records fetched by an earlier poll but not handed out: rewind to them, so the run
        // loop reads (and handles, retries, dead-letters) them itself
        let mut rewind: std::collections::BTreeMap<(String, i32), i64> = Default::default();
        for m in lock(&self.buf).drain(..) {
            let e = rewind
                .entry((m.topic.to_string(), m.partition))
                .or_insert(m.offset);
            *e = (*e).min(m.offset);
        }
        for ((t, p), o) in rewind {
            let inner = self.inner.clone();
            py.detach(move || guarded(|| inner.seek(&t, p, o, Duration::from_secs(10))))
                .py_err()?;
        }
        let inner = self.inner.clone();
        let stash: Arc<Mutex<Option<PyErr>>> = Arc::default();
        let cb = {
            let (inner, stash) = (inner.clone(), stash.clone());
            move |rcv: kpipe::consumer::Received<()>| {
                let r: Result<(), Option<kpipe::Error>> = Python::attach(|py| {
                    let m = Message::new(rcv.message.clone(), inner.clone());
                    match handler.call1(py, (m,)) {
                        Ok(_) => Ok(()),
                        Err(e) if e.is_instance_of::<PyException>(py) => {
                            let v = e.value(py);
                            let name = v
                                .get_type()
                                .name()
                                .map(|n| n.to_string())
                                .unwrap_or_default();
                            Err(Some(kpipe::Error::handler(format!("{name}: {v}"))))
                        }
                        Err(e) => {
                            // KeyboardInterrupt, SystemExit: leave the loop, record unhandled
                            *lock(&stash) = Some(e);
                            Err(None)
                        }
                    }
                });
                async move {
                    match r {
                        Ok(()) => Ok(()),
                        Err(Some(e)) => Err(e),
                        Err(None) => std::future::pending().await,
                    }
                }
            }
        };
        let stash2 = stash.clone();
        let r: kpipe::Result<PyResult<()>> = py.detach(move || {
            kpipe::runtime::block_on(async move {
                let mut fut = pin!(inner.run_with(NoBuilder, cb));
                loop {
                    tokio::select! {
                        r = &mut fut => return r.py_err(),
                        _ = tokio::time::sleep(SIGNAL_CHECK) => {
                            if let Some(e) = lock(&stash2).take() {
                                return Err(e);
                            }
                            Python::attach(|py| py.check_signals())?;
                        }
                    }
                }
            })
        });
        r.py_err()?
    }

    /// Asks a running `run` to return after the current record (callable from the handler or
    /// another thread).
    fn stop(&self) {
        self.inner.stop();
    }

    /// An async iterator: `async for msg in consumer.stream(): ...` (never blocks the loop).
    fn stream(slf: Py<Self>) -> MessageStream {
        MessageStream { consumer: slf }
    }

    /// Moves every assigned partition to the first record at or after `when` (datetime or
    /// int ms); returns [(topic, partition, offset)]. Records already fetched are dropped.
    fn seek_to_time(
        &self,
        py: Python<'_>,
        when: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<(String, i32, i64)>> {
        let ms = millis_of(when)?;
        lock(&self.buf).clear();
        *lock(&self.last) = None;
        let (inner, client) = (self.inner.clone(), self.client.clone());
        wait(py, async move { inner.seek_to_time(&client, ms).await })?.py_err()
    }

    /// Moves one assigned partition to `offset`.
    fn seek(&self, py: Python<'_>, topic: &str, partition: i32, offset: i64) -> PyResult<()> {
        lock(&self.buf).retain(|m| !(&*m.topic == topic && m.partition == partition));
        let inner = self.inner.clone();
        let t = topic.to_string();
        py.detach(move || guarded(|| inner.seek(&t, partition, offset, Duration::from_secs(10))))
            .py_err()
    }

    /// Assigned (topic, partition) pairs.
    fn assignment(&self) -> PyResult<Vec<(String, i32)>> {
        self.inner.assignment().py_err()
    }

    /// Next offset to read per assigned partition: [(topic, partition, offset)] (-1: unknown).
    fn position(&self) -> PyResult<Vec<(String, i32, i64)>> {
        self.inner.position().py_err()
    }

    /// Commits what was handled and leaves the group. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.ack_last();
        lock(&self.buf).clear();
        let inner = self.inner.clone();
        py.detach(move || guarded(|| inner.close())).py_err()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes; the last record counts as handled only when the block did not raise.
    #[pyo3(signature = (exc_type=None, _exc=None, _tb=None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if exc_type.is_some_and(|t| !t.is_none()) {
            *lock(&self.last) = None;
        }
        self.close(py)?;
        Ok(false)
    }
}

/// `async for msg in consumer.stream()`: each step waits on kpipe's runtime threads and
/// resolves an asyncio future, so the event loop never blocks.
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct MessageStream {
    consumer: Py<Consumer>,
}

#[pymethods]
impl MessageStream {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
        let fut = event_loop.call_method0("create_future")?;
        let consumer = self.consumer.bind(py).get();
        consumer.inner.cluster().py_err()?;
        consumer.ack_last();
        if let Some(m) = lock(&consumer.buf).pop_front() {
            fut.call_method1("set_result", (consumer.hand_out(m),))?;
            return Ok(fut);
        }
        let (inner, client) = (consumer.inner.clone(), consumer.client.clone());
        let (lp, f, owner) = (
            event_loop.unbind(),
            fut.clone().unbind(),
            self.consumer.clone_ref(py),
        );
        let handle = kpipe::runtime::handle().py_err()?;
        handle.spawn(async move {
            let got: kpipe::Result<Option<kpipe::Message>> = loop {
                match inner.recv(SIGNAL_CHECK).await {
                    Ok(Some(m)) => {
                        warm_batch(&client, std::slice::from_ref(&m)).await;
                        break Ok(Some(m));
                    }
                    Ok(None) => {
                        // stop waiting when the awaiting task was cancelled
                        let cancelled = Python::attach(|py| {
                            f.bind(py)
                                .call_method0("done")
                                .and_then(|d| d.is_truthy())
                                .unwrap_or(true)
                        });
                        if cancelled {
                            return;
                        }
                    }
                    Err(kpipe::Error::Closed { .. }) => break Ok(None),
                    Err(e) if e.is_retriable() => continue,
                    Err(e) => break Err(e),
                }
            };
            Python::attach(|py| {
                let deliver = match py
                    .import("kpipe._kpipe")
                    .and_then(|m| m.getattr("_deliver"))
                {
                    Ok(d) => d,
                    Err(_) => return,
                };
                let (ok, value): (bool, Py<PyAny>) = match got {
                    Ok(Some(m)) => match Py::new(
                        py,
                        PendingMessage {
                            msg: Mutex::new(Some(m)),
                        },
                    ) {
                        Ok(p) => (true, p.into_any()),
                        Err(e) => (false, e.into_value(py).into_any()),
                    },
                    Ok(None) => (
                        false,
                        PyStopAsyncIteration::new_err(()).into_value(py).into_any(),
                    ),
                    Err(e) => (false, error::to_py(e).into_value(py).into_any()),
                };
                let _ = lp
                    .bind(py)
                    .call_method1("call_soon_threadsafe", (deliver, owner, f, ok, value));
            });
        });
        Ok(fut)
    }
}

/// A fetched record on its way to the event loop thread.
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct PendingMessage {
    msg: Mutex<Option<kpipe::Message>>,
}

/// Runs on the event loop: hands the record out, or keeps it for the next step when the
/// awaiting task was cancelled meanwhile (so no record is skipped).
#[pyfunction]
pub fn _deliver(
    consumer: &Bound<'_, Consumer>,
    fut: &Bound<'_, PyAny>,
    ok: bool,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let c = consumer.get();
    let done = fut.call_method0("done")?.is_truthy()?;
    if ok {
        let pending = value
            .cast::<PendingMessage>()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let Some(m) = lock(&pending.get().msg).take() else {
            return Ok(());
        };
        if done {
            lock(&c.buf).push_front(m);
        } else {
            fut.call_method1("set_result", (c.hand_out(m),))?;
        }
    } else if !done {
        fut.call_method1("set_exception", (value,))?;
    }
    Ok(())
}
