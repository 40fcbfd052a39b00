'use strict';
// Shared setup for the kpipe Node tests. They run against the live local stack (dev/stack):
// addresses come from KPIPE_BUSINESS_BOOTSTRAP / KPIPE_ONLINE_BOOTSTRAP /
// KPIPE_OFFLINE_BOOTSTRAP / KPIPE_REGISTRY_URL (`set -a; eval "$(dev/stack env)"; set +a`).
// Every test uses its own topic and group names, since others test against the same brokers.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const kpipe = require('..');

const ROOT = path.resolve(__dirname, '..', '..');
const ENV = ['KPIPE_BUSINESS_BOOTSTRAP', 'KPIPE_ONLINE_BOOTSTRAP', 'KPIPE_OFFLINE_BOOTSTRAP', 'KPIPE_REGISTRY_URL'];

function needStack() {
  const missing = ENV.filter((v) => !process.env[v]);
  if (missing.length) {
    throw new Error(`kpipe Node tests need the local stack's addresses; missing ${missing.join(', ')}. Run: set -a; eval "$(dev/stack env)"; set +a`);
  }
}

function baseConfig(overrides = {}) {
  needStack();
  return {
    clusters: {
      business: { bootstrap: process.env.KPIPE_BUSINESS_BOOTSTRAP },
      online: { bootstrap: process.env.KPIPE_ONLINE_BOOTSTRAP },
      offline: { bootstrap: process.env.KPIPE_OFFLINE_BOOTSTRAP },
    },
    registry: { url: process.env.KPIPE_REGISTRY_URL },
    routes: [
      { topic: 'orders.*', cluster: 'online' },
      { topic: 'lake.*', cluster: 'offline' },
      { topic: '*', cluster: 'business' },
    ],
    consumer: { commit: 'after-handle', max_attempts: 3, backoff_ms: 50, dlq: '{topic}.dlq' },
    ...overrides,
  };
}

const unique = (prefix) => `${prefix}-${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;

const ORDER_AVSC = fs.readFileSync(path.join(ROOT, 'examples', 'order.avsc'), 'utf8');

/** The demo orders of examples/orders.jsonl as native JS values (Date, bigint). */
function orders() {
  return fs.readFileSync(path.join(ROOT, 'examples', 'orders.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => {
    const o = JSON.parse(l);
    o.customer_id = BigInt(o.customer_id);
    o.created_at = new Date(o.created_at);
    return o;
  });
}

/** Reads n records of `topic` with a fresh group; fails when they do not come. */
async function consume(client, topic, n, { timeoutMs = 30000, group, start = 'earliest', longs } = {}) {
  const c = client.consumer({ group: group || unique('node.group'), topics: [topic], start, longs });
  const got = [];
  const deadline = Date.now() + timeoutMs;
  try {
    while (got.length < n && Date.now() < deadline) {
      const m = await c.next({ timeoutMs: 1000 });
      if (m) { m.key; m.value; got.push(m); }
    }
  } finally {
    await c.close();
  }
  if (got.length !== n) throw new Error(`read ${got.length} of ${n} records of ${topic}`);
  return got;
}

module.exports = { kpipe, ROOT, baseConfig, unique, ORDER_AVSC, orders, consume };
