// ESM entry: the same objects as the CommonJS entry (one native instance per process).
import { createRequire } from 'node:module';
const kpipe = createRequire(import.meta.url)('./index.js');
export const {
  Client, Producer, Consumer, Message, Admin, MigrationPlan, Schema, ERROR_CODES, version,
  KpipeError, ConfigError, RegistryError, SchemaError, SerdeError, KafkaError, OffsetsError,
  InputError, ClosedError, HandlerError, ForkError, InternalError,
} = kpipe;
export default kpipe;
