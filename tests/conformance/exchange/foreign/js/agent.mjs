// The confluent-js foreign agent of the exchange test (../../README.md): produce and consume
// with @confluentinc/kafka-javascript (its KafkaJS-compatible API) and the AvroSerializer /
// AvroDeserializer of @confluentinc/schemaregistry, as a user of those clients writes them.
//
//   node agent.mjs produce CONFIG TOPIC ORDERS LANG
//   node agent.mjs consume CONFIG TOPICS COUNT GROUP
import { readFileSync } from 'node:fs';
import exchange from '../../orders.js';
import ckjs from '@confluentinc/kafka-javascript';
import {
  SchemaRegistryClient, SerdeType, AvroSerializer, AvroDeserializer, SerializationError,
} from '@confluentinc/schemaregistry';

const { Kafka, logLevel } = ckjs.KafkaJS;
const IDLE_TIMEOUT_MS = 30000;

// the agents' shared Failure and readOrders (CommonJS, beside the kpipe agent)
const { Failure, readOrders } = exchange;

// the client's default logger prints info lines with console.info, i.e. on stdout
const stderrLogger = {
  level: logLevel.INFO,
  log(name, message, extra) {
    process.stderr.write(`confluent-js ${name}: ${message}${extra ? ' ' + JSON.stringify(extra) : ''}\n`);
  },
  info(m, e) { if (this.level >= logLevel.INFO) this.log('info', m, e); },
  warn(m, e) { if (this.level >= logLevel.WARN) this.log('warn', m, e); },
  error(m, e) { if (this.level >= logLevel.ERROR) this.log('error', m, e); },
  debug(m, e) { if (this.level >= logLevel.DEBUG) this.log('debug', m, e); },
  namespace() { return this; },
  setLogLevel(level) { this.level = level; },
};

function readConfig(file) {
  const cfg = JSON.parse(readFileSync(file, 'utf8'));
  const boot = cfg.clusters?.business?.bootstrap;
  const url = cfg.registry?.url;
  const schemaFile = cfg.serializers?.[0]?.schema;
  if (!boot || !url || !schemaFile) throw new Failure(`${file}: needs clusters.business.bootstrap, registry.url and serializers[0].schema`);
  const schema = readFileSync(schemaFile, 'utf8');
  const amount = JSON.parse(schema).fields.find((f) => f.name === 'amount');
  return {
    brokers: Array.isArray(boot) ? boot : String(boot).split(','),
    // axios waits forever by default; a bounded request fails (and is retried) instead
    registry: new SchemaRegistryClient({ baseURLs: [url], createAxiosDefaults: { timeout: 10000 } }),
    schema,
    scale: amount.type.scale,
  };
}

// avsc (the serde's Avro library) has no decimal logical type by default: `bytes` with
// logicalType decimal is the unscaled value as big-endian two's complement in a Buffer
function decimalToBytes(text, scale) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m || (m[3] ?? '').length > scale) throw new Failure(`amount ${text} is not a decimal of scale ${scale}`);
  let v = BigInt(m[1] + m[2] + (m[3] ?? '').padEnd(scale, '0'));
  const out = [];
  for (;;) {
    out.unshift(Number(v & 0xffn));
    const next = v >> 8n;
    if ((next === 0n && (out[0] & 0x80) === 0) || (next === -1n && (out[0] & 0x80) !== 0)) break;
    v = next;
  }
  return Buffer.from(out);
}

function bytesToDecimal(buf, scale) {
  if (!Buffer.isBuffer(buf)) throw new Failure(`amount came back as ${typeof buf}, not a Buffer`);
  let v = 0n;
  for (const b of buf) v = (v << 8n) | BigInt(b);
  if (buf.length && buf[0] & 0x80) v -= 1n << BigInt(8 * buf.length);
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(scale + 1, '0');
  const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return neg ? `-${text}` : text;
}

/** One order of natural JSON as the values avsc takes: numbers for longs, a Buffer decimal. */
function native(order, scale) {
  for (const f of ['customer_id', 'created_at']) {
    if (!Number.isSafeInteger(order[f])) throw new Failure(`${f} ${order[f]} is not an exact integer in JS`);
  }
  return { ...order, amount: decimalToBytes(order.amount, scale) };
}

/** The decoded record back as the protocol's natural JSON. */
function natural(value, scale) {
  if (value === null) return null;
  const v = { ...value, amount: bytesToDecimal(value.amount, scale) };
  for (const f of ['customer_id', 'created_at']) {
    if (!Number.isSafeInteger(v[f])) throw new Failure(`${f} came back as ${v[f]}, not an exact integer`);
  }
  return v;
}

async function produce(configFile, topic, ordersFile, lang) {
  const { brokers, registry, schema, scale } = readConfig(configFile);
  const orders = readOrders(ordersFile);
  // useLatestVersion with the subject registered first: autoRegisterSchemas would register the
  // schema avsc infers from the value (Record1, no logical types, no doc), not order.avsc
  await registry.register(`${topic}-value`, { schemaType: 'AVRO', schema });
  const ser = new AvroSerializer(registry, SerdeType.VALUE, { useLatestVersion: true });
  const kafka = new Kafka({ kafkaJS: { clientId: `xchg-${lang}`, brokers, logger: stderrLogger } });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const [seq, order] of orders.entries()) {
      const value = await ser.serialize(topic, native(order, scale));
      await producer.send({
        topic,
        messages: [{
          key: order.order_id,
          value,
          // a null header value throws in the addon ("Header value must be a string or
          // buffer", and the record is queued all the same, without that header); an empty
          // Buffer reaches librdkafka as a null pointer, i.e. a header with no value, while ''
          // is an empty one
          headers: { src: lang, seq: String(seq), empty: '', none: Buffer.alloc(0) },
          timestamp: String(order.created_at),
        }],
      });
    }
    await producer.send({
      topic,
      messages: [{ key: `tombstone-${lang}`, value: null, headers: { src: lang, seq: 'tombstone' } }],
    });
    let out;
    try {
      const value = await ser.serialize(topic, { ...native(orders[0], scale), mileage_km: 'many' });
      await producer.send({ topic, messages: [{ key: orders[0].order_id, value }] });
      out = { error: null };
    } catch (e) {
      if (!(e instanceof SerializationError)) throw e;
      out = { error: { code: 'foreign', message: e.message } };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await producer.disconnect();
  }
}

async function consume(configFile, topicsArg, countArg, group) {
  const { brokers, registry, scale } = readConfig(configFile);
  const topics = topicsArg.split(',');
  const count = Number(countArg);
  if (!Number.isSafeInteger(count) || count < 0) throw new Failure(`COUNT must be a whole number, not ${countArg}`);
  const left = new Map(topics.map((t) => [t, count]));
  const want = count * topics.length;
  if (want === 0) return;
  const de = new AvroDeserializer(registry, SerdeType.VALUE, {});
  const kafka = new Kafka({ kafkaJS: { clientId: `xchg-${group}`, brokers, logger: stderrLogger } });
  const consumer = kafka.consumer({ kafkaJS: { groupId: group, fromBeginning: true, autoCommit: false } });
  await consumer.connect();
  let failed = true;
  try {
    await consumer.subscribe({ topics });
    let seen = 0;
    await new Promise((resolve, reject) => {
      let timer;
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => reject(new Failure(`nothing for ${IDLE_TIMEOUT_MS / 1000} s after ${seen} of ${want} records`)), IDLE_TIMEOUT_MS);
      };
      idle();
      consumer.run({
        eachMessage: async ({ topic, partition, message: m, pause }) => {
          idle();
          if (!left.get(topic)) return;
          const value = m.value === null ? null : await de.deserialize(topic, m.value);
          process.stdout.write(JSON.stringify({
            topic,
            partition,
            offset: Number(m.offset),
            timestamp: Number(m.timestamp),
            key: m.key === null ? null : m.key.toString('utf8'),
            raw: m.value === null ? null : m.value.toString('hex'),
            // the KafkaJS API gives headers as an object (first-seen key order, repeated keys as
            // an array); a header with no value arrives as an empty Buffer, like an empty one
            headers: Object.entries(m.headers ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v])
              .map((x) => [k, x === null || x === undefined ? null : Buffer.from(x).toString('hex')])),
            value: natural(value, scale),
          }) + '\n');
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(m.offset) + 1) }]);
          left.set(topic, left.get(topic) - 1);
          if (!left.get(topic)) pause();
          if (++seen === want) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    failed = false;
  } finally {
    // disconnect() waits for a running eachMessage: after a failure, wait only so long for it
    const closed = consumer.disconnect();
    await (failed ? Promise.race([closed, new Promise((r) => setTimeout(r, 10000).unref())]) : closed);
  }
}

async function main(argv) {
  const [mode, ...args] = argv;
  if (mode === 'produce' && args.length === 4) return produce(...args);
  if (mode === 'consume' && args.length === 4) return consume(...args);
  throw new Failure('usage: node agent.mjs produce CONFIG TOPIC ORDERS LANG | consume CONFIG TOPICS COUNT GROUP');
}

main(process.argv.slice(2)).then(
  () => { process.exitCode = 0; },
  (e) => {
    process.stderr.write(`confluent-js agent: ${e instanceof Failure ? e.message : (e && e.stack) || String(e)}\n`);
    process.exit(1);
  },
);
