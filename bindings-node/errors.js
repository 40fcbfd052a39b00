'use strict';
// kpipe errors: one class per code family, as in every kpipe binding. `message` is the core's
// text (identical in Python, Go and PHP); `code` is the stable string of docs/errors.md.

class KpipeError extends Error {
  constructor(message, code = 'internal', retriable = false, fatal = false) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.retriable = retriable;
    this.fatal = fatal;
  }
}
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

function makeError(code, message, retriable, fatal) {
  const Cls = classOf(code);
  return new Cls(message, code, retriable, fatal);
}

module.exports = {
  KpipeError, ConfigError, RegistryError, SchemaError, SerdeError, KafkaError, OffsetsError,
  InputError, ClosedError, HandlerError, ForkError, InternalError, classOf, makeError,
};
