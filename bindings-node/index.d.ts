// Types of @kpipe-dev/kpipe (the JS API of index.js / index.mjs). Checked with
// `tsc --noEmit --strict` over examples/node and tests/typed.test.ts.

/// <reference types="node" />

/** Values kpipe encodes: objects (records, maps), arrays, strings, numbers, bigints,
 * booleans, null/undefined, Buffer/Uint8Array (bytes, fixed), Date (timestamps). Decimals,
 * uuids, dates and times are strings ("12.30", "2026-11-24"). */
export type AvroValue =
  | null | undefined | boolean | number | bigint | string | Buffer | Uint8Array | Date
  | AvroValue[] | { [field: string]: AvroValue };

/** Values kpipe decodes to: longs are bigint (or number with `longs: "number"` where
 * safe), timestamp-millis a Date, finer timestamps a Date when exact else RFC 3339 text. */
export type DecodedValue =
  | null | boolean | number | bigint | string | Buffer | Date
  | DecodedValue[] | { [field: string]: DecodedValue };

export type Longs = 'bigint' | 'number';
export type SerializerKind = 'bytes' | 'string' | 'json' | 'avro';
/** The schema consumers read Avro records as (setSerializer's reader / keyReader). */
export type ReaderKind = 'schema' | 'writer' | 'latest';
export type StartPosition = 'committed' | 'earliest' | 'latest' | number | bigint | Date;
export type CommitMode = 'after-handle' | 'manual' | 'auto';
/** How records handed out by `next()` / iteration are acknowledged (docs/client.md). */
export type AckMode = 'implicit' | 'explicit';
export type Headers =
  | Record<string, string | Buffer | Uint8Array | null | undefined>
  | Array<[string, string | Buffer | Uint8Array | null | undefined]>
  | Map<string, string | Buffer | Uint8Array | null | undefined>;

export interface WaitOptions {
  /** Aborts the wait (the promise rejects with the signal's reason / an AbortError). */
  signal?: AbortSignal;
}

export interface OutgoingRecord {
  topic: string;
  key?: AvroValue;
  value: AvroValue;
  headers?: Headers;
  /** Date or milliseconds since the epoch. */
  timestamp?: Date | number;
}

export interface Delivery {
  cluster: string;
  topic: string;
  partition: number;
  offset: number;
  timestamp: Date | null;
}

/** The kpipe.yaml shape (see docs/config.md); unknown keys are a ConfigError. */
export interface Config {
  clusters: Record<string, { bootstrap: string; properties?: Record<string, string | number | boolean> }>;
  registry?: { url: string; [key: string]: unknown };
  routes?: Array<{ topic: string; cluster: string }>;
  [section: string]: unknown;
}

/** The core's details record of an error (docs/errors.md, "Details"). */
export interface ErrorDetails {
  code?: string;
  retriable?: boolean;
  fatal?: boolean;
  field?: string | null;
  cluster?: string | null;
  topic?: string | null;
  partition?: number | null;
  offset?: number | null;
  subject?: string | null;
  schemaId?: number | null;
}

export class KpipeError extends Error {
  constructor(message: string, details?: ErrorDetails);
  /** The stable code (docs/errors.md), e.g. "serde.encode". */
  readonly code: string;
  /** The core's message, the same in every language. */
  readonly message: string;
  /** The same call may succeed later without any change by the caller (decided by the core). */
  readonly retriable: boolean;
  /** The handle that failed cannot be used any more (decided by the core). */
  readonly fatal: boolean;
  /** The config key or value field path (`consumer.commit`, `order.items[3].price`), or null. */
  readonly field: string | null;
  readonly cluster: string | null;
  /** Where the record was (a decode error of a consumed record), or null. */
  readonly topic: string | null;
  readonly partition: number | null;
  readonly offset: number | null;
  /** The registry subject and schema id involved, or null. */
  readonly subject: string | null;
  readonly schemaId: number | null;
}
export class ConfigError extends KpipeError {}
export class RegistryError extends KpipeError {}
export class SchemaError extends KpipeError {}
export class SerdeError extends KpipeError {}
export class KafkaError extends KpipeError {}
export class OffsetsError extends KpipeError {}
export class InputError extends KpipeError {}
export class ClosedError extends KpipeError {}
export class HandlerError extends KpipeError {}
export class ForkError extends KpipeError {}
export class InternalError extends KpipeError {}

export class Message {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: Date | null;
  /** Decoded on first access with the topic's deserializer (throws SerdeError). */
  readonly key: DecodedValue;
  readonly value: DecodedValue;
  readonly rawKey: Buffer | null;
  readonly rawValue: Buffer | null;
  /** In order; a null value is a header sent with a null value (distinct from an empty Buffer). */
  readonly headers: Array<[string, Buffer | null]>;
  /** A Buffer, null for a null value, undefined when there is no such header. */
  header(name: string): Buffer | null | undefined;
  toJSON(): object;
}

export class Producer {
  send(record: OutgoingRecord, options?: WaitOptions): Promise<Delivery>;
  /** One entry per record, in order: its Delivery or its KpipeError. */
  sendMany(records: OutgoingRecord[], options?: WaitOptions): Promise<Array<Delivery | KpipeError>>;
  flush(options?: WaitOptions & { timeoutMs?: number }): Promise<void>;
  close(options?: WaitOptions & { timeoutMs?: number }): Promise<void>;
}

export interface ConsumerOptions {
  group: string;
  topics: string | string[];
  start?: StartPosition;
  commit?: CommitMode;
  /** "implicit" (default): the previous record is acknowledged when the next is asked for,
   * and the last one on close; "explicit": only `ack(msg)` / `commit(msg)` acknowledge.
   * `run` acknowledges each record after its handler, in both modes. */
  ack?: AckMode;
  /** librdkafka properties for this consumer. */
  properties?: Record<string, string>;
  longs?: Longs;
}

export class Consumer implements AsyncIterable<Message> {
  /** The next record (with ack "implicit" the previous one counts as handled); null once
   * closed or after `timeoutMs` without a record. */
  next(options?: WaitOptions & { timeoutMs?: number }): Promise<Message | null>;
  [Symbol.asyncIterator](): AsyncIterator<Message>;
  ack(msg: Message): void;
  commit(msg?: Message, options?: WaitOptions): Promise<void>;
  /** Retries a throwing handler, then dead-letters the record (the core's rules). */
  run(handler: (msg: Message) => unknown | Promise<unknown>, options?: WaitOptions): Promise<void>;
  stop(): void;
  seek(topic: string, partition: number, offset: number | bigint, options?: WaitOptions): Promise<void>;
  seekToTime(when: Date | number, options?: WaitOptions): Promise<Array<{ topic: string; partition: number; offset: number }>>;
  assignment(): Array<{ topic: string; partition: number }>;
  close(): Promise<void>;
}

export interface OffsetsExport {
  cluster: string;
  group: string;
  exported_at: string;
  offsets: Array<{ topic: string; partition: number; offset: number | null }>;
  [key: string]: unknown;
}

export class Admin {
  offsetsForTime(topic: string, when: Date | number, options?: WaitOptions & { cluster?: string }): Promise<Record<number, number>>;
  exportOffsets(group: string, options?: WaitOptions & { topics?: string | string[]; cluster?: string }): Promise<OffsetsExport>;
  importOffsets(doc: OffsetsExport | string, options?: WaitOptions & { group?: string; force?: boolean; cluster?: string }): Promise<OffsetChange[]>;
  resetOffsets(group: string, topics: string | string[], to: 'earliest' | 'latest' | Date | number | Record<number, number | bigint>, options?: WaitOptions & { force?: boolean; dryRun?: boolean; cluster?: string }): Promise<OffsetChange[]>;
  migratePlan(group: string, source: string, target: string, options?: WaitOptions & { topics?: string | string[]; strategy?: 'timestamp' | 'checkpoint'; sourceAlias?: string }): Promise<MigrationPlan>;
  migrateApply(plan: MigrationPlan, options?: WaitOptions & { force?: boolean }): Promise<{ rollback: OffsetsExport; changes: OffsetChange[] }>;
}

export interface OffsetChange {
  topic: string;
  partition: number;
  before: number | null;
  after: number | null;
  [key: string]: unknown;
}

export class MigrationPlan {
  readonly group: string;
  readonly source: string;
  readonly target: string;
  readonly strategy: string;
  readonly problems: string[];
  readonly partitions: Array<{ topic: string; partition: number; source_offset: number | null; timestamp: number | null; target_offset: number | null; status: string; [key: string]: unknown }>;
  toJSON(): object;
}

export class Client {
  static fromFile(path: string): Client;
  static fromObject(config: Config): Client;
  static fromYaml(text: string): Client;
  readonly admin: Admin;
  setSerializer(topic: string, options?: { key?: SerializerKind; value?: SerializerKind; schema?: string | object; keySchema?: string | object; reader?: ReaderKind; keyReader?: ReaderKind }): void;
  clusterFor(topic: string): string;
  producer(): Producer;
  consumer(options: ConsumerOptions): Consumer;
  flush(options?: WaitOptions & { timeoutMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export class Schema {
  constructor(schema: string | object);
  readonly name: string | null;
  encode(value: AvroValue): Buffer;
  decode(body: Buffer | Uint8Array, options?: { longs?: Longs }): DecodedValue;
  toJson(body: Buffer | Uint8Array): string;
}

export const ERROR_CODES: string[];
export const version: string;
