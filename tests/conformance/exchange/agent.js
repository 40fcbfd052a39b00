'use strict';
// The Node agent of the exchange test (README.md here): produce and consume with the kpipe Node
// binding, values as a Node user writes them (Date for created_at, bigint for customer_id,
// decimal and uuid as strings).
//
//   node agent.js produce CONFIG TOPIC ORDERS LANG
//   node agent.js consume CONFIG TOPICS COUNT GROUP
const path = require('node:path');
const kpipe = require(path.join(__dirname, '..', '..', '..', 'bindings-node'));

const POLL_TIMEOUT_MS = 30000;

const { Failure, readOrders } = require('./orders.js');

/** One order of natural JSON as the values a Node user sends. */
function native(order) {
  const o = { ...order };
  if (!Number.isSafeInteger(o.customer_id)) {
    throw new Failure(`customer_id ${o.customer_id} is not an exact integer in JS (beyond 2^53)`);
  }
  if (!Number.isSafeInteger(o.created_at)) throw new Failure(`created_at ${o.created_at} is not integer milliseconds`);
  o.customer_id = BigInt(o.customer_id);
  o.created_at = new Date(o.created_at);
  return o;
}

/** The decoded native value written back as the protocol's natural JSON (bigints kept). */
function natural(value) {
  if (value === null || value === undefined) return null;
  const v = { ...value };
  if (!(v.created_at instanceof Date)) throw new Failure(`created_at came back as ${typeof v.created_at}, not a Date`);
  v.created_at = v.created_at.getTime();
  for (const f of ['order_id', 'amount']) {
    if (typeof v[f] !== 'string') throw new Failure(`${f} came back as ${typeof v[f]}, not a string`);
  }
  if (typeof v.customer_id !== 'bigint') throw new Failure(`customer_id came back as ${typeof v.customer_id}, not a bigint`);
  return v;
}

// JSON text with bigints as exact integers: a placeholder string, then the digits unquoted.
const BIG = '\u0001kpipe-bigint:';
const BIG_RE = /"\\u0001kpipe-bigint:(-?\d+)"/g;
function toJson(obj) {
  const text = JSON.stringify(obj, (k, v) => {
    if (typeof v === 'bigint') return BIG + v.toString();
    if (typeof v === 'string' && v.startsWith(BIG)) throw new Failure('a string value looks like the bigint placeholder');
    return v;
  });
  return text.replace(BIG_RE, '$1');
}

async function produce(config, topic, ordersFile, lang) {
  const orders = readOrders(ordersFile);
  const client = kpipe.Client.fromFile(config);
  try {
    const p = client.producer();
    for (const [seq, order] of orders.entries()) {
      const value = native(order);
      await p.send({
        topic,
        key: order.order_id,
        value,
        headers: [['src', lang], ['seq', String(seq)], ['empty', ''], ['none', null]],
        timestamp: value.created_at,
      });
    }
    await p.send({ topic, key: `tombstone-${lang}`, value: null, headers: [['src', lang], ['seq', 'tombstone']] });
    const bad = native(orders[0]);
    bad.mileage_km = 'many';
    let out;
    try {
      await p.send({ topic, key: orders[0].order_id, value: bad });
      out = { error: null };
    } catch (e) {
      if (!(e instanceof kpipe.KpipeError)) throw e;
      out = { error: { code: e.code, message: e.message } };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await client.close();
  }
}

async function consume(config, topicsArg, countArg, group) {
  const topics = topicsArg.split(',');
  const count = Number(countArg);
  if (!Number.isSafeInteger(count) || count < 0) throw new Failure(`COUNT must be a whole number, not ${countArg}`);
  const want = count * topics.length;
  const client = kpipe.Client.fromFile(config);
  try {
    const c = client.consumer({ group, topics, start: 'earliest', ack: 'explicit' });
    try {
      for (let n = 0; n < want; n++) {
        const m = await c.next({ timeoutMs: POLL_TIMEOUT_MS });
        if (!m) throw new Failure(`nothing for ${POLL_TIMEOUT_MS / 1000} s after ${n} of ${want} records`);
        const raw = m.rawValue;
        process.stdout.write(toJson({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          timestamp: m.timestamp === null ? null : m.timestamp.getTime(),
          key: m.key,
          raw: raw === null ? null : raw.toString('hex'),
          headers: m.headers.map(([k, v]) => [k, v === null ? null : v.toString('hex')]),
          value: natural(m.value),
        }) + '\n');
        c.ack(m);
      }
    } finally {
      await c.close();
    }
  } finally {
    await client.close();
  }
}

async function main(argv) {
  const [mode, ...args] = argv;
  if (mode === 'produce' && args.length === 4) return produce(...args);
  if (mode === 'consume' && args.length === 4) return consume(...args);
  throw new Failure('usage: node agent.js produce CONFIG TOPIC ORDERS LANG | consume CONFIG TOPICS COUNT GROUP');
}

main(process.argv.slice(2)).then(
  () => { process.exitCode = 0; },
  (e) => {
    const text = e instanceof Failure ? e.message
      : e instanceof kpipe.KpipeError ? `${e.name} ${e.code}: ${e.message}`
        : (e && e.stack) || String(e);
    process.stderr.write(`node agent: ${text}\n`);
    process.exit(1);
  },
);
