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

const CLASSES = {
  Config: ConfigError, Registry: RegistryError, Schema: SchemaError, Serde: SerdeError,
  Kafka: KafkaError, Offsets: OffsetsError, Input: InputError, Closed: ClosedError,
  Handler: HandlerError, Fork: ForkError, Internal: InternalError,
};
// code -> family, the core's grouping (kpipe::Code::family), given by index.js at load
const FAMILY_OF = new Map();
function useFamilies(families) {
  for (const [code, family] of Object.entries(families)) FAMILY_OF.set(code, family);
}

function classOf(code) {
  return CLASSES[FAMILY_OF.get(String(code))] || KpipeError;
}

/** The error of a details record (called by the native addon). */
function makeError(details) {
  const Cls = classOf(details.code);
  return new Cls(details.message, details);
}

module.exports = {
  KpipeError, ConfigError, RegistryError, SchemaError, SerdeError, KafkaError, OffsetsError,
  InputError, ClosedError, HandlerError, ForkError, InternalError, classOf, makeError, useFamilies,
};
