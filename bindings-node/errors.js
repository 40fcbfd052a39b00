'use strict';
// kpipe errors: one class per code family, as in every kpipe binding. `message` is the core's
// text (identical in Python, Go and PHP); `code` is the stable string of docs/errors.md; the
// other fields are the core's details record, as Python's attributes (schema_id: schemaId).

class KpipeError extends Error {
  /**
   * `details`: the core's details record (docs/errors.md, "Details"): code, retriable, fatal
   * and, when the error has them, field, cluster, topic, partition, offset, subject, schemaId
   * (null otherwise).
   */
  constructor(message, details = {}) {
    super(message);
    this.name = new.target.name;
    this.code = details.code ?? 'internal';
    this.message = message;
    this.retriable = !!details.retriable;
    this.fatal = !!details.fatal;
    for (const k of DETAIL_FIELDS) this[k] = details[k] ?? null;
  }
}
const DETAIL_FIELDS = ['field', 'cluster', 'topic', 'partition', 'offset', 'subject', 'schemaId'];
class ConfigError extends KpipeError {}
class RegistryError extends KpipeError {}
class SchemaError extends KpipeError {}
class SerdeError extends KpipeError {}
class KafkaError extends KpipeError {}
class OffsetsError extends KpipeError {}
class InputError extends KpipeError {}
class ClosedError extends KpipeError {}
class HandlerError extends KpipeError {}
class ForkError extends KpipeError {}
class InternalError extends KpipeError {}

const FAMILIES = {
  config: ConfigError, route: ConfigError, registry: RegistryError, schema: SchemaError,
  serde: SerdeError, kafka: KafkaError, topic: KafkaError, offsets: OffsetsError,
  input: InputError, closed: ClosedError, handler: HandlerError, process: ForkError,
  internal: InternalError,
};

function classOf(code) {
  return FAMILIES[String(code).split('.')[0]] || KpipeError;
}

/** The error of a details record (called by the native addon). */
function makeError(details) {
  const Cls = classOf(details.code);
  return new Cls(details.message, details);
}

module.exports = {
  KpipeError, ConfigError, RegistryError, SchemaError, SerdeError, KafkaError, OffsetsError,
  InputError, ClosedError, HandlerError, ForkError, InternalError, classOf, makeError,
};
