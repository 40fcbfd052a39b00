'use strict';
// kpipe for Node: the JS idiom over the native addon (Promises, async iteration, AbortSignal,
// Date/bigint/Buffer). Behaviour lives in the Rust core; this file only adapts calls.

const path = require('node:path');
const fs = require('node:fs');
const errors = require('./errors');

function loadNative() {
  const abi = process.platform === 'linux'
    ? (process.report && process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl')
    : '';
  const name = `kpipe.${process.platform}-${process.arch}${abi ? '-' + abi : ''}.node`;
  const file = path.join(__dirname, name);
  if (!fs.existsSync(file)) {
    throw new Error(`kpipe: no native binary ${name} in ${__dirname}; reinstall with Rust available (npm rebuild) or use a package built for this platform`);
  }
  return require(file);
}

const native = loadNative();
errors.useFamilies(native.errorFamilies());
native.setErrorFactory(errors.makeError);

// How often a send asks for the topic's schemas before giving up; one fetch is the rule, more
// only when the cache was re-checked in between.
const WARM_TRIES = 5;

/** One abort reason type for every waiting call. */
function abortError(signal) {
  const reason = signal && signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/** Settles with `p`, or rejects as soon as `signal` aborts (p keeps running; onLate sees it). */
function withSignal(p, signal, onLate) {
  if (!signal) return p;
  if (signal.aborted) {
    if (onLate) p.then(onLate, () => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise((resolve, reject) => {
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      if (aborted) { if (onLate) onLate(v); } else resolve(v);
    }, (e) => {
      signal.removeEventListener('abort', onAbort);
      if (!aborted) reject(e);
    });
  });
}

function millis(t) {
  if (t === undefined || t === null) return undefined;
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'number') return t;
  if (typeof t === 'bigint') return Number(t);
  throw new TypeError('timestamp must be a Date or milliseconds since the epoch');
}

function headerPairs(h) {
  if (h === undefined || h === null) return undefined;
  const entries = Array.isArray(h) ? h : (h instanceof Map ? [...h] : Object.entries(h));
  return entries.map(([k, v]) => {
    if (v === undefined || v === null) return [String(k), null]; // a null header value
    if (typeof v === 'string') return [String(k), Buffer.from(v, 'utf8')];
    if (v instanceof Uint8Array) return [String(k), v];
    throw new TypeError('header values must be strings, Buffers or Uint8Arrays');
  });
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  if (signal && signal.aborted) return reject(abortError(signal));
  const t = setTimeout(() => { if (signal) signal.removeEventListener('abort', onAbort); resolve(); }, ms);
  const onAbort = () => { clearTimeout(t); reject(abortError(signal)); };
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
});

/** A consumed record. `key`/`value` are decoded on first access (may throw SerdeError). */
class Message {
  constructor(n, longs) {
    this._n = n;
    this._longs = longs;
    this.topic = n.topic;
    this.partition = n.partition;
    this.offset = n.offset;
    const ts = n.timestamp;
    this.timestamp = ts === null || ts === undefined ? null : new Date(ts);
  }
  get key() {
    if (!('_k' in this)) this._k = this._n.key(this._longs);
    return this._k;
  }
  get value() {
    if (!('_v' in this)) this._v = this._n.value(this._longs);
    return this._v;
  }
  get rawKey() { return this._n.rawKey ?? null; }
  get rawValue() { return this._n.rawValue ?? null; }
  get headers() {
    if (!this._h) this._h = this._n.headers();
    return this._h;
  }
  /** The first header named `name`: a Buffer, null for a null value, undefined when absent. */
  header(name) {
    const h = this.headers.find(([k]) => k === name);
    return h ? h[1] : undefined;
  }
  toJSON() {
    return { topic: this.topic, partition: this.partition, offset: this.offset, timestamp: this.timestamp, key: this.key, value: this.value };
  }
}

/** Sends records to the cluster each topic routes to, with the topic's serializers. */
class Producer {
  constructor(client) { this._c = client; }

  /** Sends one record: a Promise of {cluster, topic, partition, offset, timestamp}. */
  async send(record, options = {}) {
    const { topic, key, value, headers, timestamp } = record;
    const h = headerPairs(headers);
    const ts = millis(timestamp);
    let p = this._c._n.send(topic, key, value, h, ts);
    for (let tries = 0; p == null; tries++) {
      // the schema is not in the cache (or is being re-checked): fetch it off the JS thread
      if (tries === WARM_TRIES) throw native.writerNotCachedError();
      await withSignal(this._c._n.warm(topic), options.signal);
      p = this._c._n.send(topic, key, value, h, ts);
    }
    return withSignal(p, options.signal);
  }

  /**
   * Sends many records (queued back to back, one wait for all): a Promise of one entry per
   * record, in order: the delivery, or the KpipeError of a record that failed (the others
   * are still sent). Never rejects for a single record's failure.
   */
  async sendMany(records, options = {}) {
    const out = [];
    let i = 0;
    while (i < records.length) {
      const topic = records[i].topic;
      let j = i + 1;
      while (j < records.length && records[j].topic === topic) j++;
      const run = records.slice(i, j).map((r) => ({ key: r.key, value: r.value, headers: headerPairs(r.headers), timestamp: millis(r.timestamp) }));
      let p = this._c._n.sendMany(topic, run);
      for (let tries = 0; p == null; tries++) {
        if (tries === WARM_TRIES) throw native.writerNotCachedError();
        await withSignal(this._c._n.warm(topic), options.signal);
        p = this._c._n.sendMany(topic, run);
      }
      out.push(...await withSignal(p, options.signal));
      i = j;
    }
    return out;
  }

  /** Waits until everything sent so far is delivered. */
  flush(options = {}) {
    return withSignal(this._c._n.flush(options.timeoutMs ?? 30000), options.signal);
  }

  /** Flushes; the client stays open (producers share it). */
  close(options = {}) { return this.flush(options); }
}

/** A group consumer: `for await (const msg of consumer)`, `run(handler)`, `close()`. */
class Consumer {
  constructor(client, n, longs) {
    this._c = client;
    this._n = n;
    this._longs = longs;
    this._closed = false;
    this._inflight = null;
    this._stopped = false;
  }

  /** The next record (with ack "implicit", acks the previous one): null once the consumer is
   * closed (or, with `timeoutMs`, when none came in time). */
  async next(options = {}) {
    const { signal } = options;
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      if (this._closed) return null;
      if (signal && signal.aborted) throw abortError(signal);
      const m = this._n.take();
      if (m) return new Message(m, this._longs);
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const fetch = this._n.fetch(Math.min(left, 200));
      this._inflight = fetch.then(() => {}, () => {});
      let n;
      try {
        n = await withSignal(fetch, signal, (late) => { if (late) this._n.unread(late); });
      } catch (e) {
        if (e instanceof errors.ClosedError) return null;
        throw e;
      }
      if (n) return new Message(n, this._longs);
    }
  }

  [Symbol.asyncIterator]() {
    return {
      next: async () => {
        const m = await this.next();
        return m ? { value: m, done: false } : { value: undefined, done: true };
      },
      // `break` out of for-await: the last record counts as handled, the consumer stays open
      return: async () => ({ value: undefined, done: true }),
    };
  }

  /** Marks `msg` handled without committing now (after-handle commits it soon). */
  ack(msg) { this._n.ack(msg._n); }

  /** Acks `msg` (default, with ack "implicit": the last record handed out) and commits every
   * handled offset. */
  commit(msg, options = {}) {
    return withSignal(this._n.commit(msg ? msg._n : undefined), options.signal);
  }

  /**
   * Calls `await handler(msg)` for every record until `stop()`, `close()` or the signal
   * aborts, with the core's semantics: a throw is retried (consumer.max_attempts, backoff),
   * then the record goes to the DLQ with kpipe.* headers; undecodable records go straight
   * there; offsets are committed after handling.
   */
  async run(handler, options = {}) {
    const { signal } = options;
    this._stopped = false;
    try {
      while (!this._stopped && !this._closed && !(signal && signal.aborted)) {
        let h;
        try {
          const p = this._n.nextHandling(200);
          this._inflight = p.then(() => {}, () => {});
          h = await p;
        } catch (e) {
          if (e instanceof errors.ClosedError) return;
          throw e;
        }
        if (!h) continue;
        const msg = new Message(h.message(), this._longs);
        for (;;) {
          try {
            await handler(msg);
            this._n.complete(h);
            break;
          } catch (e) {
            const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
            const after = await this._n.fail(h, text);
            if (after < 0) break;
            await sleep(after);
          }
        }
      }
    } finally {
      if (!this._closed) await this._n.finishRun().catch((e) => { if (!(e instanceof errors.ClosedError)) throw e; });
    }
  }

  /** Asks a running `run` to return after the current record. */
  stop() { this._stopped = true; }

  /** Moves one assigned partition to `offset`. */
  seek(topic, partition, offset, options = {}) {
    return withSignal(this._n.seek(topic, partition, Number(offset)), options.signal);
  }

  /** Moves every assigned partition to the first record at or after `when` (Date or ms). */
  async seekToTime(when, options = {}) {
    const moved = await withSignal(this._n.seekToTime(millis(when)), options.signal);
    return moved.map(([topic, partition, offset]) => ({ topic, partition, offset }));
  }

  /** Assigned partitions: [{topic, partition}]. */
  assignment() {
    return this._n.assignment().map(([topic, partition]) => ({ topic, partition }));
  }

  /** Commits what was handled and leaves the group. Idempotent. */
  async close() {
    if (this._closed) return;
    this._closed = true;
    this._stopped = true;
    if (this._inflight) await this._inflight;
    await this._n.close();
  }
}

/** Offsets tools (time lookups, export/import) as the core offers them. */
class Admin {
  constructor(client) { this._c = client; }

  /** Per partition, the earliest offset whose timestamp is >= `when`: {partition: offset}. */
  async offsetsForTime(topic, when, options = {}) {
    const pairs = await withSignal(this._c._n.offsetsForTime(topic, millis(when), options.cluster), options.signal);
    return Object.fromEntries(pairs);
  }

  /** The group's committed offsets ({cluster, group, exported_at, offsets: [...]}). */
  async exportOffsets(group, options = {}) {
    const topics = typeof options.topics === 'string' ? [options.topics] : options.topics;
    return JSON.parse(await withSignal(this._c._n.exportOffsets(group, topics, options.cluster), options.signal));
  }

  /** Commits an exported document; refuses while the group has members unless `force`. */
  async importOffsets(doc, options = {}) {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
    return JSON.parse(await withSignal(this._c._n.importOffsets(text, options.group, !!options.force, options.cluster), options.signal));
  }

  /** Moves the group's offsets of `topics` to `to`: "earliest" | "latest" | a Date / ms |
   * {partition: offset}. `dryRun` only reports. Resolves to [{topic, partition, before, after}]. */
  async resetOffsets(group, topics, to, options = {}) {
    const list = typeof topics === 'string' ? [topics] : topics;
    const target = to instanceof Date ? to : (typeof to === 'bigint' ? Number(to) : to);
    if (typeof target !== 'string' && typeof target !== 'number' && (typeof target !== 'object' || target === null)) {
      throw new TypeError("to must be 'earliest', 'latest', a time, a Date, milliseconds or {partition: offset}");
    }
    return JSON.parse(await withSignal(this._c._n.resetOffsets(group, list, target, !!options.force, !!options.dryRun, options.cluster), options.signal));
  }

  /** Plans moving `group` from cluster `source` to cluster `target` (changes nothing). */
  async migratePlan(group, source, target, options = {}) {
    const topics = typeof options.topics === 'string' ? [options.topics] : options.topics;
    const n = await withSignal(this._c._n.migratePlan(group, source, target, topics, options.strategy, options.sourceAlias), options.signal);
    return new MigrationPlan(n);
  }

  /** Applies a plan: resolves to {rollback, changes} (rollback: the target's previous offsets). */
  async migrateApply(plan, options = {}) {
    return JSON.parse(await withSignal(this._c._n.migrateApply(plan._n, !!options.force), options.signal));
  }
}

/** A migration plan: `toJSON()` gives {group, source, target, strategy, problems, partitions}. */
class MigrationPlan {
  constructor(n) {
    this._n = n;
    Object.assign(this, JSON.parse(n.toJson()));
  }
  toJSON() { const { _n, ...rest } = this; return rest; }
}

function schemaText(s) {
  if (s === undefined || s === null) return undefined;
  return typeof s === 'string' ? s : JSON.stringify(s);
}

/** A kpipe client for one kpipe.yaml; shares connections and registry caches. */
class Client {
  constructor(n) {
    this._n = n;
    this.admin = new Admin(this);
  }

  /** Reads kpipe.yaml (with KPIPE_... env overrides). Nothing connects yet. */
  static fromFile(file) { return new Client(native.NativeClient.fromFile(file)); }

  /** A config object shaped like kpipe.yaml. */
  static fromObject(config) { return new Client(native.NativeClient.fromYaml(JSON.stringify(config))); }

  /** YAML text shaped like kpipe.yaml. */
  static fromYaml(text) { return new Client(native.NativeClient.fromYaml(text)); }

  /**
   * Sets the serializers of `topic`: key/value "bytes" | "string" | "json" | "avro";
   * `schema`/`keySchema` the Avro schema, also what consumers read records as; `reader` /
   * `keyReader`: "schema" (that, the default) | "writer" (as written) | "latest" (the
   * subject's latest version).
   */
  setSerializer(topic, { key = 'bytes', value = 'bytes', schema, keySchema, reader, keyReader } = {}) {
    this._n.setSerializer(topic, key, value, schemaText(schema), schemaText(keySchema), reader, keyReader);
  }

  /** The cluster `topic` routes to. */
  clusterFor(topic) { return this._n.clusterFor(topic); }

  producer() { return new Producer(this); }

  /**
   * A group consumer. `start`: "committed" (default) | "earliest" | "latest" | an offset |
   * a Date; `commit`: "after-handle" | "manual" | "auto"; `ack`: "implicit" (default: the
   * previous record is acknowledged when the next is asked for) | "explicit" (only `ack(msg)`
   * or `commit(msg)` acknowledges); `longs`: "bigint" (default) | "number".
   */
  consumer({ group, topics, start, commit, ack, properties, longs } = {}) {
    const list = typeof topics === 'string' ? [topics] : topics;
    if (start !== undefined && start !== null && typeof start !== 'string' && typeof start !== 'number'
      && typeof start !== 'bigint' && !(start instanceof Date)) {
      throw new TypeError("start must be 'committed', 'earliest', 'latest', an offset (number or bigint) or a Date");
    }
    return new Consumer(this, this._n.consumer(group, list, start, commit, ack, properties), longs);
  }

  flush(options = {}) { return withSignal(this._n.flush(options.timeoutMs ?? 30000), options.signal); }

  /** Flushes and closes; idempotent. Later calls fail with ClosedError. */
  close() { return this._n.close(); }
}

/** An Avro schema compiled once (no registry): encode to / decode from an Avro body. */
class Schema {
  constructor(schema) { this._n = new native.Schema(schemaText(schema)); }
  get name() { return this._n.name ?? null; }
  encode(value) { return this._n.encode(value); }
  decode(body, options = {}) { return this._n.decode(body, options.longs); }
  toJson(body) { return this._n.toJson(body); }
}

const ERROR_CODES = native.errorCodes();
// the error classes and classOf; makeError and useFamilies are for this file and the addon
const { makeError: _makeError, useFamilies: _useFamilies, ...errorApi } = errors;

module.exports = {
  Client, Producer, Consumer, Message, Admin, MigrationPlan, Schema, ERROR_CODES, version: native.version(),
  ...errorApi,
};
