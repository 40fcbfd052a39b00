//! Producer: values are serialized with the GIL held (the core's `serialize_for`, exactly what
//! `send` does), then sent as bytes with the GIL released.

use std::collections::HashSet;
use std::sync::Mutex;

use kpipe::{Data, Delivery, Serde, TopicSerde};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList};

use crate::convert::{str_of, types, PyValue};
use crate::error::{self, IntoPy};
use crate::runtime::{now, resolve, wait};

/// Records serialized per hand-over to the runtime in `send_many`.
const SLICE: usize = 1024;

/// Where a record was written.
#[pyclass(module = "kpipe._kpipe", frozen, get_all)]
pub struct RecordMetadata {
    /// The cluster the topic routes to.
    pub cluster: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch as stored by the broker (None when unknown).
    pub timestamp: Option<i64>,
}

impl From<Delivery> for RecordMetadata {
    fn from(d: Delivery) -> Self {
        RecordMetadata {
            cluster: d.cluster.to_string(),
            topic: d.topic.to_string(),
            partition: d.partition,
            offset: d.offset,
            timestamp: d.timestamp_ms,
        }
    }
}

#[pymethods]
impl RecordMetadata {
    fn __repr__(&self) -> String {
        format!(
            "RecordMetadata(cluster={:?}, topic={:?}, partition={}, offset={}, timestamp={})",
            self.cluster,
            self.topic,
            self.partition,
            self.offset,
            self.timestamp.map(|t| t.to_string()).unwrap_or_else(|| "None".into())
        )
    }
}

/// Sends records to the cluster each topic routes to, with the topic's serializers.
///
/// >>> with client.producer() as producer:
/// ...     meta = producer.send("orders.eu", order, key=order["order_id"])
/// ...     print(meta.partition, meta.offset)
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct Producer {
    client: kpipe::Client,
    /// Topics whose writer schemas were resolved (registry I/O done with the GIL released).
    warmed: Mutex<HashSet<String>>,
}

impl Producer {
    pub fn new(client: kpipe::Client) -> Self {
        Producer { client, warmed: Mutex::default() }
    }

    /// Resolves the topic's writer schemas once, GIL released.
    fn warm(&self, py: Python<'_>, topic: &str, serde: &TopicSerde) -> PyResult<()> {
        if self.warmed.lock().unwrap_or_else(|p| p.into_inner()).contains(topic) {
            return Ok(());
        }
        let (c, t, s) = (self.client.clone(), topic.to_string(), serde.clone());
        wait(py, async move { c.warm_writers(&t, &s).await })?.py_err()?;
        self.warmed.lock().unwrap_or_else(|p| p.into_inner()).insert(topic.to_string());
        Ok(())
    }
}

/// Serializes one key or value into `out` (false: None, nothing to send). When the writer
/// schema is not cached, fetches it with the GIL released (bounded by the registry deadline)
/// and tries again.
pub(crate) fn serialize(
    client: &kpipe::Client,
    topic: &str,
    is_key: bool,
    serde: &TopicSerde,
    obj: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
) -> kpipe::Result<bool> {
    for _ in 0..2 {
        if let Some(done) = serialize_once(client, topic, is_key, serde, obj, out)? {
            return Ok(done);
        }
        let (c, t, s) = (client.clone(), topic.to_string(), serde.clone());
        obj.py()
            .detach(|| kpipe::runtime::block_on(async move { c.warm_writers(&t, &s).await }))??;
    }
    Err(kpipe::Error::writer_not_cached())
}

/// [`serialize`] for a blocking call: the registry wait also answers Ctrl-C.
pub(crate) fn serialize_py(
    client: &kpipe::Client,
    topic: &str,
    is_key: bool,
    serde: &TopicSerde,
    obj: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
) -> PyResult<bool> {
    for _ in 0..2 {
        if let Some(done) = serialize_once(client, topic, is_key, serde, obj, out).py_err()? {
            return Ok(done);
        }
        let (c, t, s) = (client.clone(), topic.to_string(), serde.clone());
        wait(obj.py(), async move { c.warm_writers(&t, &s).await })?.py_err()?;
    }
    Err(kpipe::Error::writer_not_cached()).py_err()
}

/// One attempt with the GIL held; None when it would wait for the registry.
fn serialize_once(
    client: &kpipe::Client,
    topic: &str,
    is_key: bool,
    serde: &TopicSerde,
    obj: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
) -> kpipe::Result<Option<bool>> {
    if obj.is_none() {
        return Ok(Some(false));
    }
    let s = if is_key { &serde.key } else { &serde.value };
    if !matches!(s, Serde::Avro { .. }) {
        // text and bytes as themselves for the bytes/string/json serializers
        if let Some(text) = str_of(obj) {
            let d: Data<'_, PyValue<'_>> = Data::Str(text);
            return now(client.serialize_for(topic, is_key, serde, &d, out))?.transpose();
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            let d: Data<'_, PyValue<'_>> = Data::Bytes(b.as_bytes());
            return now(client.serialize_for(topic, is_key, serde, &d, out))?.transpose();
        }
    }
    let d = Data::Value(PyValue::new(obj.clone()));
    now(client.serialize_for(topic, is_key, serde, &d, out))?.transpose()
}

/// Headers from a dict or a list of (name, value) pairs; values bytes, str or None (a null
/// header value, distinct from b"").
pub(crate) fn headers_of(h: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, Option<Vec<u8>>)>> {
    let Some(h) = h.filter(|h| !h.is_none()) else {
        return Ok(Vec::new());
    };
    let value = |v: &Bound<'_, PyAny>| -> PyResult<Option<Vec<u8>>> {
        if v.is_none() {
            Ok(None)
        } else if let Some(s) = str_of(v) {
            Ok(Some(s.as_bytes().to_vec()))
        } else if let Ok(b) = v.cast::<PyBytes>() {
            Ok(Some(b.as_bytes().to_vec()))
        } else {
            Err(PyTypeError::new_err("header values must be bytes, str or None"))
        }
    };
    let mut out = Vec::new();
    if let Ok(d) = h.cast::<PyDict>() {
        for (k, v) in d.iter() {
            out.push((k.extract::<String>()?, value(&v)?));
        }
    } else {
        for item in h.try_iter()? {
            let (k, v): (String, Bound<'_, PyAny>) = item?.extract()?;
            out.push((k, value(&v)?));
        }
    }
    Ok(out)
}

/// Milliseconds since the epoch from an int (ms) or a datetime (naive = local time).
pub(crate) fn millis_of(t: &Bound<'_, PyAny>) -> PyResult<i64> {
    if t.is_instance_of::<PyInt>() {
        return t.extract();
    }
    let py = t.py();
    if t.is_instance(types(py)?.datetime.bind(py))? {
        let secs: f64 = t.call_method0("timestamp")?.extract()?;
        return Ok((secs * 1000.0).round() as i64);
    }
    if t.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err(
            "timestamps are int milliseconds since the epoch or datetime objects",
        ));
    }
    Err(PyTypeError::new_err(format!(
        "expected int milliseconds or datetime, got {}",
        t.get_type().name()?
    )))
}

fn hdr_refs(h: &[(String, Option<Vec<u8>>)]) -> Vec<kpipe::Header<'_>> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect()
}

#[pymethods]
impl Producer {
    /// Sends one record and blocks (GIL released) until the broker acknowledges it.
    /// `value`/`key`: any value the topic's serializer takes (dict for Avro records, str,
    /// bytes, None for a tombstone / no key). `headers`: dict or list of (str, bytes|str|None; None: a null value).
    /// `timestamp`: int ms or datetime. Raises a KpipeError subclass on failure.
    ///
    /// >>> meta = producer.send("orders.eu", {"order_id": "...", "amount": Decimal("12.30")}, key="o-1")
    /// >>> meta.partition, meta.offset
    #[pyo3(signature = (topic, value, key=None, headers=None, timestamp=None))]
    fn send(
        &self,
        py: Python<'_>,
        topic: &str,
        value: &Bound<'_, PyAny>,
        key: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<RecordMetadata> {
        let accepted = self.client.begin_send().py_err()?;
        let serde = self.client.topic_serde(topic);
        self.warm(py, topic, &serde)?;
        let (mut kb, mut vb) = (Vec::new(), Vec::new());
        let has_k = match key {
            Some(k) => serialize_py(&self.client, topic, true, &serde, k, &mut kb)?,
            None => false,
        };
        let has_v = serialize_py(&self.client, topic, false, &serde, value, &mut vb)?;
        let hdrs = headers_of(headers)?;
        let ts = timestamp.filter(|t| !t.is_none()).map(millis_of).transpose()?;
        let (c, t) = (self.client.clone(), topic.to_string());
        let d = wait(py, async move {
            let _accepted = accepted;
            let hv = hdr_refs(&hdrs);
            c.send_raw(&t, has_k.then_some(&kb[..]), has_v.then_some(&vb[..]), &hv, ts).await
        })?
        .py_err()?;
        Ok(d.into())
    }

    /// Sends many records to `topic` at once (queued back to back, one wait for all) and
    /// returns one result per value, in order: a RecordMetadata, or the KpipeError instance
    /// for a record that failed (the others are still sent). `keys`: None or a list as long
    /// as `values`; `headers` apply to every record.
    ///
    /// >>> results = producer.send_many("orders.eu", orders, keys=[o["order_id"] for o in orders])
    /// >>> failed = [r for r in results if isinstance(r, kpipe.KpipeError)]
    #[pyo3(signature = (topic, values, keys=None, headers=None))]
    fn send_many<'py>(
        &self,
        py: Python<'py>,
        topic: &str,
        values: &Bound<'py, PyAny>,
        keys: Option<&Bound<'py, PyAny>>,
        headers: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let accepted = self.client.begin_send().py_err()?;
        let serde = self.client.topic_serde(topic);
        self.warm(py, topic, &serde)?;
        let values: Vec<Bound<'py, PyAny>> = values.try_iter()?.collect::<PyResult<_>>()?;
        let keys: Option<Vec<Bound<'py, PyAny>>> = keys
            .filter(|k| !k.is_none())
            .map(|k| k.try_iter()?.collect::<PyResult<_>>())
            .transpose()?;
        if let Some(k) = &keys {
            if k.len() != values.len() {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "keys has {} items but values has {}",
                    k.len(),
                    values.len()
                )));
            }
        }
        // Serialized in slices (GIL held); one driver task on the core runtime queues each
        // slice as soon as it is ready (in order, so per-partition order holds) while the next
        // is serialized; then one wait (GIL released) for every acknowledgement.
        type Span = Option<(usize, usize)>;
        type Slice = (Vec<u8>, Vec<(Span, Span)>);
        let hdrs = headers_of(headers)?;
        let handle = kpipe::runtime::handle().py_err()?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Slice>();
        let (c, t) = (self.client.clone(), topic.to_string());
        let driver = handle.spawn(async move {
            let _accepted = accepted;
            let hv = hdr_refs(&hdrs);
            let mut waits = Vec::new();
            while let Some((arena, spans)) = rx.recv().await {
                let at = |s: Span| s.map(|(a, b)| &arena[a..b]);
                let recs: Vec<kpipe::binding::Serialized<'_>> =
                    spans.iter().map(|(k, v)| (at(*k), at(*v))).collect();
                // librdkafka copies the payloads, so the slice's buffer can go once queued
                let pending = c.enqueue_serialized(&t, &recs, &hv, None).await;
                waits.push(tokio::spawn(pending.wait()));
            }
            waits
        });
        let mut prepared: Vec<kpipe::Result<()>> = Vec::with_capacity(values.len());
        let mut scratch = Vec::with_capacity(256);
        for (slice_no, chunk) in values.chunks(SLICE).enumerate() {
            let mut arena: Vec<u8> = Vec::with_capacity(chunk.len() * 200);
            let mut spans: Vec<(Span, Span)> = Vec::with_capacity(chunk.len());
            for (j, v) in chunk.iter().enumerate() {
                let i = slice_no * SLICE + j;
                let mut one = |is_key: bool, obj: &Bound<'py, PyAny>| -> kpipe::Result<Span> {
                    if !serialize(&self.client, topic, is_key, &serde, obj, &mut scratch)? {
                        return Ok(None);
                    }
                    let start = arena.len();
                    arena.extend_from_slice(&scratch);
                    Ok(Some((start, arena.len())))
                };
                let r = (|| {
                    let k = match &keys {
                        Some(ks) => one(true, &ks[i])?,
                        None => None,
                    };
                    Ok((k, one(false, v)?))
                })();
                prepared.push(r.map(|kv| spans.push(kv)));
            }
            let _ = tx.send((arena, spans));
        }
        drop(tx);
        let sent: kpipe::Result<Vec<kpipe::Result<Delivery>>> =
            wait(py, async move {
                let waits = driver
                    .await
                    .map_err(|e| kpipe::Error::Internal { reason: format!("send task: {e}") })?;
                let mut all = Vec::new();
                for w in waits {
                    all.extend(w.await.map_err(|e| kpipe::Error::Internal {
                        reason: format!("send task: {e}"),
                    })?);
                }
                Ok(all)
            })?;
        let sent = sent.py_err()?;
        let mut sent = sent.into_iter();
        let out = PyList::empty(py);
        for p in prepared {
            let r = match p {
                Ok(_) => sent.next().unwrap_or_else(|| {
                    Err(kpipe::Error::Internal { reason: "missing delivery".into() })
                }),
                Err(e) => Err(e),
            };
            match r {
                Ok(d) => out.append(Py::new(py, RecordMetadata::from(d))?)?,
                Err(e) => out.append(error::exception(py, &e)?)?,
            }
        }
        Ok(out)
    }

    /// `send` for asyncio: returns an awaitable resolving to RecordMetadata. Never blocks the
    /// event loop: serialization and the wait run on kpipe's runtime threads.
    ///
    /// >>> meta = await producer.send_async("orders.eu", order, key="o-1")
    #[pyo3(signature = (topic, value, key=None, headers=None, timestamp=None))]
    fn send_async<'py>(
        &self,
        py: Python<'py>,
        topic: &str,
        value: &Bound<'py, PyAny>,
        key: Option<&Bound<'py, PyAny>>,
        headers: Option<&Bound<'py, PyAny>>,
        timestamp: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
        // accepted now: close() and the exit hook wait for it, awaited or not
        let accepted = self.client.begin_send().py_err()?;
        let fut = event_loop.call_method0("create_future")?;
        let hdrs = headers_of(headers)?;
        let ts = timestamp.filter(|t| !t.is_none()).map(millis_of).transpose()?;
        let serde = self.client.topic_serde(topic);
        let (c, t) = (self.client.clone(), topic.to_string());
        let value = value.clone().unbind();
        let key = key.map(|k| k.clone().unbind());
        let (lp, f) = (event_loop.clone().unbind(), fut.clone().unbind());
        let handle = kpipe::runtime::handle().py_err()?;
        handle.spawn(async move {
            let _accepted = accepted;
            let r: kpipe::Result<Delivery> = async {
                c.warm_writers(&t, &serde).await?;
                let (mut kb, mut vb) = (Vec::new(), Vec::new());
                let (has_k, has_v) = Python::attach(|py| -> kpipe::Result<(bool, bool)> {
                    let k = match &key {
                        Some(k) => serialize(&c, &t, true, &serde, k.bind(py), &mut kb)?,
                        None => false,
                    };
                    Ok((k, serialize(&c, &t, false, &serde, value.bind(py), &mut vb)?))
                })?;
                let hv = hdr_refs(&hdrs);
                c.send_raw(&t, has_k.then_some(&kb[..]), has_v.then_some(&vb[..]), &hv, ts).await
            }
            .await;
            Python::attach(|py| {
                let res = match r {
                    Ok(d) => Py::new(py, RecordMetadata::from(d)).map(|m| m.into_any()),
                    Err(e) => Err(error::to_py(e)),
                };
                resolve(py, &lp, &f, res);
            });
        });
        Ok(fut)
    }

    /// Waits until everything sent so far is delivered (`timeout` in seconds).
    #[pyo3(signature = (timeout=30.0))]
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let c = self.client.clone();
        py.detach(|| {
            crate::runtime::guarded(|| {
                c.flush(std::time::Duration::from_secs_f64(timeout.max(0.0)))
            })
        })
        .py_err()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Leaving the block flushes (the client stays open: producers share it).
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.flush(py, 30.0)?;
        Ok(false)
    }
}
