//! kpipe::Error -> Python exceptions: `KpipeError` and one subclass per code family, carrying
//! the core's details record as attributes: `.code`, `.message` (the core's `Display` text),
//! `.retriable`, `.fatal` (both decided by the core), and `.field`, `.cluster`, `.topic`,
//! `.partition`, `.offset`, `.subject`, `.schema_id` (None where unknown).

use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(
    _kpipe,
    KpipeError,
    PyException,
    "Base class of every kpipe error: `.code` (stable string, docs/errors.md), `.message`."
);
pyo3::create_exception!(
    _kpipe,
    ConfigError,
    KpipeError,
    "config.*, route.*: a bad config key or no route for a topic."
);
pyo3::create_exception!(
    _kpipe,
    RegistryError,
    KpipeError,
    "registry.*: the schema registry is down, refused, or has no such subject/id."
);
pyo3::create_exception!(
    _kpipe,
    SchemaError,
    KpipeError,
    "schema.*: invalid schema, incompatible, or violates the house policy."
);
pyo3::create_exception!(
    _kpipe,
    SerializationError,
    KpipeError,
    "serde.*: a value does not fit its schema, or a payload cannot be decoded."
);
pyo3::create_exception!(
    _kpipe,
    KafkaError,
    KpipeError,
    "kafka.*, topic.not_found: a broker error (timeout, retriable, fatal, auth)."
);
pyo3::create_exception!(
    _kpipe,
    OffsetsError,
    KpipeError,
    "offsets.*: group active, out of range, partition mismatch, no checkpoint."
);
pyo3::create_exception!(
    _kpipe,
    InputError,
    KpipeError,
    "input.invalid: malformed input to a tool (a datetime, an offset spec, a file)."
);
pyo3::create_exception!(
    _kpipe,
    ClosedError,
    KpipeError,
    "closed: the client/producer/consumer was used after close()."
);
pyo3::create_exception!(
    _kpipe,
    HandlerError,
    KpipeError,
    "handler.failed: a consumer handler failed for a record."
);
pyo3::create_exception!(_kpipe, ForkError, KpipeError, "process.forked: a client was used in a child process after fork(); create clients in the child.");
pyo3::create_exception!(
    _kpipe,
    InternalError,
    KpipeError,
    "internal: a bug in kpipe (including a caught panic)."
);

/// The exception class of a code: its family's (`kpipe::Code::family`, the same grouping in
/// every binding).
fn class_of<'py>(py: Python<'py>, code: &str) -> Bound<'py, pyo3::types::PyType> {
    match kpipe::Code::parse(code).map(kpipe::Code::family) {
        Some("Config") => py.get_type::<ConfigError>(),
        Some("Registry") => py.get_type::<RegistryError>(),
        Some("Schema") => py.get_type::<SchemaError>(),
        Some("Serde") => py.get_type::<SerializationError>(),
        Some("Kafka") => py.get_type::<KafkaError>(),
        Some("Offsets") => py.get_type::<OffsetsError>(),
        Some("Input") => py.get_type::<InputError>(),
        Some("Closed") => py.get_type::<ClosedError>(),
        Some("Handler") => py.get_type::<HandlerError>(),
        Some("Fork") => py.get_type::<ForkError>(),
        Some("Internal") => py.get_type::<InternalError>(),
        _ => py.get_type::<KpipeError>(),
    }
}

/// Builds the exception object for a core error (also used for per-record results).
pub fn exception(py: Python<'_>, e: &kpipe::Error) -> PyResult<Py<PyAny>> {
    from_details(py, e.details())
}

/// Builds the exception object for a details record.
pub fn from_details(py: Python<'_>, d: kpipe::Details) -> PyResult<Py<PyAny>> {
    let cls = class_of(py, d.code);
    let exc = cls.call1((d.message.clone(),))?;
    exc.setattr("code", d.code)?;
    exc.setattr("message", d.message)?;
    exc.setattr("retriable", d.retriable)?;
    exc.setattr("fatal", d.fatal)?;
    exc.setattr("field", d.field)?;
    exc.setattr("cluster", d.cluster)?;
    exc.setattr("topic", d.topic)?;
    exc.setattr("partition", d.partition)?;
    exc.setattr("offset", d.offset)?;
    exc.setattr("subject", d.subject)?;
    exc.setattr("schema_id", d.schema_id)?;
    Ok(exc.unbind())
}

/// A core error as a `PyErr`.
pub fn to_py(e: kpipe::Error) -> PyErr {
    details_to_py(e.details())
}

/// A details record as a `PyErr`.
pub fn details_to_py(d: kpipe::Details) -> PyErr {
    Python::attach(|py| match from_details(py, d) {
        Ok(exc) => PyErr::from_value(exc.into_bound(py)),
        Err(err) => err,
    })
}

pub trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for kpipe::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// Every core code with its Python class name (the table docs/python.md documents; a test
/// checks it covers `kpipe.ERROR_CODES`).
pub fn register(py: Python<'_>, m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("KpipeError", py.get_type::<KpipeError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("RegistryError", py.get_type::<RegistryError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    m.add("SerializationError", py.get_type::<SerializationError>())?;
    m.add("KafkaError", py.get_type::<KafkaError>())?;
    m.add("OffsetsError", py.get_type::<OffsetsError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("HandlerError", py.get_type::<HandlerError>())?;
    m.add("ForkError", py.get_type::<ForkError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    let codes: Vec<(&str, String)> = kpipe::Error::CODES
        .iter()
        .map(|c| (*c, class_of(py, c).name().map(|n| n.to_string()).unwrap_or_default()))
        .collect();
    m.add("ERROR_CODES", codes)?;
    Ok(())
}
