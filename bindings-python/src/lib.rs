//! `kpipe._kpipe`: the Python binding of kpipe. It converts values (convert.rs) and errors
//! (error.rs) and owns nothing else: routing, serializers, the registry, retries, the DLQ,
//! commits and offsets are the core's. Every blocking call releases the GIL and wakes every
//! 200 ms to run signal handlers, so Ctrl-C interrupts it. All classes are thread-safe.

mod admin;
mod consumer;
mod convert;
mod error;
mod producer;
mod runtime;

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{py_to_json, str_of, PyBuilder, PyValue};
use crate::error::IntoPy;

/// A kpipe client for one kpipe.yaml: routes every topic to its cluster, shares one producer
/// per cluster, holds the registry caches.
///
/// >>> client = kpipe.Client.from_file("kpipe.yaml")
/// >>> client.set_serializer("orders.eu", key="string", value="avro", schema=open("order.avsc").read())
/// >>> with client.producer() as p:
/// ...     meta = p.send("orders.eu", {"order_id": "..."}, key="o-1")
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct Client {
    pub(crate) inner: kpipe::Client,
}

fn serde_of(
    kind: &str,
    schema: Option<&Bound<'_, PyAny>>,
    what: &str,
    reader: Option<&str>,
    reader_field: &str,
) -> PyResult<kpipe::Serde> {
    let text = match schema {
        None => None,
        Some(s) if s.is_none() => None,
        Some(s) => Some(match str_of(s) {
            Some(t) => t.to_string(),
            None => serde_json::to_string(&py_to_json(s)?)
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        }),
    };
    kpipe::options::serde(what, kind, text.map(Arc::from), reader_field, reader).py_err()
}

#[pymethods]
impl Client {
    /// Reads kpipe.yaml (with `KPIPE_...` env overrides). Nothing connects yet.
    ///
    /// >>> client = kpipe.Client.from_file("kpipe.yaml")
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| kpipe::Client::from_file(path)).py_err()?;
        Ok(Client { inner })
    }

    /// Builds a client from a dict shaped like kpipe.yaml (env overrides apply too).
    ///
    /// >>> client = kpipe.Client.from_dict({"clusters": {"business": {"bootstrap": "127.0.0.1:19092"}},
    /// ...                                  "routes": [{"topic": "*", "cluster": "business"}]})
    #[staticmethod]
    fn from_dict(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let json = py_to_json(config.as_any())?;
        let text = json.to_string();
        let inner = py
            .detach(|| kpipe::config::Config::from_yaml(&text).and_then(kpipe::Client::from_config))
            .py_err()?;
        Ok(Client { inner })
    }

    /// Builds a client from YAML text.
    #[staticmethod]
    fn from_yaml(py: Python<'_>, text: &str) -> PyResult<Self> {
        let text = text.to_string();
        let inner = py
            .detach(|| kpipe::config::Config::from_yaml(&text).and_then(kpipe::Client::from_config))
            .py_err()?;
        Ok(Client { inner })
    }

    /// Sets the serializers of `topic` (exact name); beats kpipe.yaml's `serializers:`.
    /// `key`/`value`: "bytes", "string", "json" or "avro"; `schema`/`key_schema`: the Avro
    /// schema (text or dict; None with avro means the subject's latest schema), also the
    /// schema consumers read records as; `reader`/`key_reader`: "schema" (that, the default),
    /// "writer" (each record as written) or "latest" (the subject's latest version).
    ///
    /// >>> client.set_serializer("orders.eu", key="string", value="avro", schema=ORDER_AVSC)
    #[pyo3(signature = (topic, *, key="bytes", value="bytes", schema=None, key_schema=None, reader=None, key_reader=None))]
    #[allow(clippy::too_many_arguments)] // keyword-only arguments, as Python users pass them
    fn set_serializer(
        &self,
        topic: &str,
        key: &str,
        value: &str,
        schema: Option<&Bound<'_, PyAny>>,
        key_schema: Option<&Bound<'_, PyAny>>,
        reader: Option<&str>,
        key_reader: Option<&str>,
    ) -> PyResult<()> {
        self.inner.ensure_open().py_err()?;
        let serde = kpipe::TopicSerde {
            key: serde_of(key, key_schema, "key", key_reader, "key_reader")?,
            value: serde_of(value, schema, "value", reader, "reader")?,
        };
        self.inner.set_topic_serde(topic, serde);
        Ok(())
    }

    /// The cluster `topic` routes to (ConfigError `route.no_cluster` when none).
    fn cluster_for(&self, topic: &str) -> PyResult<String> {
        self.inner.ensure_open().py_err()?;
        self.inner.cluster_for(topic).map(str::to_string).py_err()
    }

    /// A producer sharing this client's connections and caches (ClosedError once closed).
    fn producer(&self) -> PyResult<producer::Producer> {
        self.inner.ensure_open().py_err()?;
        Ok(producer::Producer::new(self.inner.clone()))
    }

    /// A group consumer. `topics`: a name or a list (all routed to one cluster). `start`:
    /// "committed" (default; earliest when the group has none), "earliest", "latest", an int
    /// offset, or a datetime (first record at or after it). `commit`: "after-handle"
    /// (default from kpipe.yaml), "manual" or "auto". `ack`: "implicit" (default: a record is
    /// acknowledged when the next is asked for, or on close) or "explicit" (only `ack(msg)` /
    /// `commit(msg)` acknowledge; for handing records to other threads). docs/client.md.
    ///
    /// >>> with client.consumer(group="billing", topics=["orders.eu"], start="earliest") as c:
    /// ...     for msg in c:
    /// ...         print(msg.value)
    #[pyo3(signature = (group, topics, start=None, *, commit=None, ack=None, properties=None))]
    #[allow(clippy::too_many_arguments)]
    fn consumer(
        &self,
        py: Python<'_>,
        group: &str,
        topics: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        commit: Option<&str>,
        ack: Option<&str>,
        properties: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<consumer::Consumer> {
        consumer::Consumer::open(py, &self.inner, group, topics, start, commit, ack, properties)
    }

    /// Offsets tools (time lookups, export/import, reset, migration) as the core offers them.
    #[getter]
    fn admin(&self) -> PyResult<admin::Admin> {
        self.inner.ensure_open().py_err()?;
        Ok(admin::Admin { client: self.inner.clone() })
    }

    /// Waits until every record queued so far is delivered (KafkaError kafka.timeout after
    /// `timeout` seconds).
    #[pyo3(signature = (timeout=30.0))]
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let c = self.inner.clone();
        py.detach(|| {
            runtime::guarded(|| c.flush(std::time::Duration::from_secs_f64(timeout.max(0.0))))
        })
        .py_err()
    }

    /// Closes everything the client created: its consumers commit and leave (a thread
    /// blocked in their poll/run returns), sends already accepted (also un-awaited
    /// send_async) are delivered, producers flush. Idempotent. Later calls raise ClosedError.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.inner.clone();
        py.detach(|| runtime::guarded(|| c.close())).py_err()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "<kpipe.Client clusters={:?}>",
            self.inner.config().clusters.keys().collect::<Vec<_>>()
        )
    }
}

/// An Avro schema compiled once: encode Python values to an Avro body (no registry header)
/// and decode them back. For checks and tools; producers and consumers do this themselves.
///
/// >>> s = kpipe.Schema('{"type":"record","name":"T","fields":[{"name":"a","type":"long"}]}')
/// >>> s.encode({"a": 3})
/// b'\x06'
/// >>> s.decode(b'\x06')
/// {'a': 3}
#[pyclass(module = "kpipe._kpipe", frozen)]
pub struct Schema {
    inner: Arc<kpipe::avro::CompiledSchema>,
}

#[pymethods]
impl Schema {
    #[new]
    fn new(schema: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = match str_of(schema) {
            Some(t) => t.to_string(),
            None => py_to_json(schema)?.to_string(),
        };
        let inner = kpipe::avro::CompiledSchema::parse(&text).py_err()?;
        Ok(Schema { inner: Arc::new(inner) })
    }

    /// The full name of a named root type (None otherwise).
    #[getter]
    fn name(&self) -> Option<String> {
        self.inner.name().map(str::to_string)
    }

    /// The Avro body of `value` (SerializationError `serde.encode` naming the field path).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        value: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = Vec::with_capacity(64);
        kpipe::avro::encode(&self.inner, &PyValue::new(value), &mut out).py_err()?;
        Ok(PyBytes::new(py, &out))
    }

    /// Python values from an Avro body written with this schema.
    fn decode<'py>(&self, py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let mut b = PyBuilder::new(py)?;
        kpipe::avro::decode(&self.inner, None, body, &mut b).py_err()
    }

    /// Natural JSON text of an Avro body (the CLI's and other languages' text form).
    fn to_json(&self, body: &[u8]) -> PyResult<String> {
        kpipe::avro::avro_to_json(&self.inner, body).map(|v| v.to_string()).py_err()
    }
}

#[pymodule]
fn _kpipe(py: Python<'_>, m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()?;
    m.add_class::<Schema>()?;
    m.add_class::<producer::Producer>()?;
    m.add_class::<producer::RecordMetadata>()?;
    m.add_class::<consumer::Consumer>()?;
    m.add_class::<consumer::Message>()?;
    m.add_class::<consumer::MessageStream>()?;
    m.add_class::<admin::Admin>()?;
    m.add_class::<admin::MigrationPlan>()?;
    m.add_function(wrap_pyfunction!(runtime::_resolve, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_flush_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(consumer::_deliver, m)?)?;
    error::register(py, m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
