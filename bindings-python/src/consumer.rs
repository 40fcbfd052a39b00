//! Consumer: a wrapper of the core's poll session (kpipe::session), which fetches in batches
//! (with the GIL released here), warms schemas, applies the retriable-error policy and the
//! acknowledgement mode. Key and value are decoded into Python objects on first access.

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kpipe::session::{AckMode, PollSession};
use kpipe::{ConsumerOptions, StartAt};
use pyo3::exceptions::{PyException, PyStopAsyncIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::convert::{str_of, types, PyBuilder};
use crate::error::{self, IntoPy};
use crate::producer::millis_of;
use crate::runtime::{guarded, now, wait, SIGNAL_CHECK};

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
        Message { msg, consumer, key: PyOnceLock::new(), value: PyOnceLock::new() }
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
    /// List of (name, bytes or None) pairs, in order; None is a null header value.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items: Vec<Bound<'py, PyTuple>> = self
            .msg
            .headers
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Some(v) => PyBytes::new(py, v).into_any(),
                    None => py.None().into_bound(py),
                };
                PyTuple::new(py, [PyString::new(py, k).into_any(), value])
            })
            .collect::<PyResult<_>>()?;
        PyList::new(py, items)
    }
    /// The value of the first header named `name` (bytes); None when there is no such header
    /// or its value is null (`headers` tells the two apart).
    fn header<'py>(&self, py: Python<'py>, name: &str) -> Option<Bound<'py, PyBytes>> {
        self.msg.header(name).flatten().map(|v| PyBytes::new(py, v))
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
        self.key.get_or_try_init(py, || self.decode(py, true)).map(|v| v.clone_ref(py))
    }
    /// The decoded value (None for a tombstone).
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.value.get_or_try_init(py, || self.decode(py, false)).map(|v| v.clone_ref(py))
    }
    fn __repr__(&self) -> String {
        format!("<kpipe.Message {}[{}]@{}>", self.msg.topic, self.msg.partition, self.msg.offset)
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
                let m = &self.msg;
                let v = v.map_err(|e| {
                    error::details_to_py(e.details().at_record(&m.topic, m.partition, m.offset))
                })?;
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
        Err(error::to_py(kpipe::Error::writer_not_cached()))
    }
}

/// A group consumer (see Client.consumer). Iterate it, `poll()` it, `run(handler)` it, or
/// `async for msg in consumer.stream()`. Thread-safe; `close()` is idempotent.
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct Consumer {
    client: kpipe::Client,
    session: Arc<PollSession>,
}

fn start_of(start: Option<&Bound<'_, PyAny>>) -> PyResult<StartAt> {
    let Some(s) = start.filter(|s| !s.is_none()) else {
        return Ok(StartAt::Committed);
    };
    if let Some(t) = str_of(s) {
        return kpipe::options::parse("start", t).py_err();
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

impl Consumer {
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        py: Python<'_>,
        client: &kpipe::Client,
        group: &str,
        topics: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        commit: Option<&str>,
        ack: Option<&str>,
        properties: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let ack: AckMode =
            ack.map(|a| kpipe::options::parse("ack", a)).transpose().py_err()?.unwrap_or_default();
        let topics: Vec<String> = match str_of(topics) {
            Some(t) => vec![t.to_string()],
            None => topics.extract()?,
        };
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let mut opts = ConsumerOptions::new(group, &names);
        opts.start = start_of(start)?;
        opts.commit = commit.map(|m| kpipe::options::parse("commit", m)).transpose().py_err()?;
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
            session: Arc::new(PollSession::new(Arc::new(inner), ack)),
        })
    }

    fn consumer(&self) -> &Arc<kpipe::Consumer> {
        self.session.consumer()
    }

    fn hand_out(&self, m: Arc<kpipe::Message>) -> Message {
        Message::new(m, self.consumer().clone())
    }

    /// The next record within `timeout` seconds (None: forever), GIL released while waiting;
    /// the previous one is acknowledged (implicit mode) by the session.
    fn next_record(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Arc<kpipe::Message>>> {
        if let Some(m) = self.session.try_next().py_err()? {
            return Ok(Some(m));
        }
        let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
        loop {
            let slice = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(SIGNAL_CHECK),
                None => SIGNAL_CHECK,
            };
            let session = self.session.clone();
            let got = py
                .detach(move || kpipe::runtime::block_on(async move { session.next(slice).await }))
                .and_then(|r| r)
                .py_err()?;
            if got.is_some() {
                return Ok(got);
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
    /// until one does). With ack="implicit" (the default) the previous record is acknowledged.
    ///
    /// >>> msg = consumer.poll(1.0)
    #[pyo3(signature = (timeout=None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Message>> {
        Ok(self.next_record(py, timeout)?.map(|m| self.hand_out(m)))
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Message>> {
        // a closed consumer raises ClosedError, as every call on it does
        self.consumer().cluster().py_err()?;
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

    /// Marks `msg` handled (default: with ack="implicit" the last record handed out) and
    /// commits every handled offset now, waiting for the broker.
    #[pyo3(signature = (msg=None))]
    fn commit(&self, py: Python<'_>, msg: Option<&Bound<'_, Message>>) -> PyResult<()> {
        let record = msg.map(|m| {
            let m = &m.get().msg;
            (m.topic.clone(), m.partition, m.offset)
        });
        let session = self.session.clone();
        py.detach(move || {
            guarded(|| session.commit(record.as_ref().map(|(t, p, o)| (&**t, *p, *o))))
        })
        .py_err()
    }

    /// Marks `msg` handled without committing now (after-handle commits it soon).
    fn ack(&self, msg: &Bound<'_, Message>) -> PyResult<()> {
        self.consumer().ack(&msg.get().msg).py_err()
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
        self.consumer().cluster().py_err()?;
        let inner = self.consumer().clone();
        let session = self.session.clone();
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
                            let name =
                                v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
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
                let mut fut = pin!(session.run_with(kpipe::avro::Skip, cb));
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
        self.consumer().stop();
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
        let (session, client) = (self.session.clone(), self.client.clone());
        wait(py, async move { session.seek_to_time(&client, ms).await })?.py_err()
    }

    /// Moves one assigned partition to `offset`.
    fn seek(&self, py: Python<'_>, topic: &str, partition: i32, offset: i64) -> PyResult<()> {
        let session = self.session.clone();
        let t = topic.to_string();
        py.detach(move || guarded(|| session.seek(&t, partition, offset, Duration::from_secs(10))))
            .py_err()
    }

    /// Assigned (topic, partition) pairs.
    fn assignment(&self) -> PyResult<Vec<(String, i32)>> {
        self.consumer().assignment().py_err()
    }

    /// Next offset to read per assigned partition: [(topic, partition, offset)] (-1: unknown).
    fn position(&self) -> PyResult<Vec<(String, i32, i64)>> {
        self.consumer().position().py_err()
    }

    /// Commits what was handled (with ack="implicit" the last record handed out counts as
    /// handled) and leaves the group. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let session = self.session.clone();
        py.detach(move || guarded(|| session.close())).py_err()
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
            self.session.forget_last();
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
        consumer.consumer().cluster().py_err()?;
        if let Some(m) = consumer.session.try_next().py_err()? {
            fut.call_method1("set_result", (consumer.hand_out(m),))?;
            return Ok(fut);
        }
        let session = consumer.session.clone();
        let (lp, f, owner) =
            (event_loop.unbind(), fut.clone().unbind(), self.consumer.clone_ref(py));
        let handle = kpipe::runtime::handle().py_err()?;
        handle.spawn(async move {
            let got: kpipe::Result<Option<Arc<kpipe::Message>>> = loop {
                match session.next(SIGNAL_CHECK).await {
                    Ok(Some(m)) => break Ok(Some(m)),
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
                    Err(e) => break Err(e),
                }
            };
            Python::attach(|py| {
                let deliver = match py.import("kpipe._kpipe").and_then(|m| m.getattr("_deliver")) {
                    Ok(d) => d,
                    Err(_) => return,
                };
                let (ok, value): (bool, Py<PyAny>) = match got {
                    Ok(Some(m)) => match Py::new(py, PendingMessage { msg: Mutex::new(Some(m)) }) {
                        Ok(p) => (true, p.into_any()),
                        Err(e) => (false, e.into_value(py).into_any()),
                    },
                    Ok(None) => {
                        (false, PyStopAsyncIteration::new_err(()).into_value(py).into_any())
                    }
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
    msg: Mutex<Option<Arc<kpipe::Message>>>,
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
        let pending =
            value.cast::<PendingMessage>().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let Some(m) = lock(&pending.get().msg).take() else {
            return Ok(());
        };
        if done {
            c.session.unread(m);
        } else {
            fut.call_method1("set_result", (c.hand_out(m),))?;
        }
    } else if !done {
        fut.call_method1("set_exception", (value,))?;
    }
    Ok(())
}
