'use strict';
// Producer and consumer against the local stack: round trip, async iteration, sendMany,
// 10k concurrent sends, AbortSignal, errors, run() with retries and the DLQ.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kpipe, baseConfig, unique, ORDER_AVSC, orders, consume } = require('./helpers');

const T = { timeout: 90000 };

function avroClient(topic, overrides) {
  const client = kpipe.Client.fromObject(baseConfig(overrides));
  client.setSerializer(topic, { key: 'string', value: 'avro', schema: ORDER_AVSC });
  return client;
}

test('send returns where the record went; the consumer reads the same values back', T, async () => {
  const topic = unique('orders.node');
  const client = avroClient(topic);
  try {
    const [o] = orders();
    const d = await client.producer().send({ topic, key: 'k-1', value: o, headers: { trace: 't-1' }, timestamp: new Date(1780000000000) });
    assert.equal(d.cluster, 'online');
    assert.equal(d.topic, topic);
    assert.equal(typeof d.partition, 'number');
    assert.equal(typeof d.offset, 'number');
    assert.ok(d.timestamp instanceof Date);
    const [m] = await consume(client, topic, 1);
    assert.equal(m.key, 'k-1');
    assert.deepEqual(m.value, o);
    assert.equal(m.header('trace').toString(), 't-1');
    assert.deepEqual(m.timestamp, new Date(1780000000000));
    assert.equal(m.rawValue[0], 0, 'Confluent framing');
  } finally {
    await client.close();
  }
});

test('for await reads records in order and stops at break', T, async () => {
  const topic = unique('node.iter');
  const client = avroClient(topic);
  try {
    const all = Array.from({ length: 5 }, () => orders()[0]);
    const res = await client.producer().sendMany(all.map((value, i) => ({ topic, key: 'same', value: { ...value, mileage_km: i } })));
    assert.equal(res.length, 5);
    res.forEach((r) => assert.ok(!(r instanceof Error), String(r)));
    const c = client.consumer({ group: unique('node.g'), topics: topic, start: 'earliest', longs: 'number' });
    const seen = [];
    for await (const msg of c) {
      seen.push(msg.value.mileage_km);
      assert.equal(typeof msg.value.customer_id, 'number');
      if (seen.length === 5) break;
    }
    await c.close();
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.equal(await c.next(), null, 'a closed consumer yields nothing');
  } finally {
    await client.close();
  }
});

test('10k concurrent sends all resolve, with distinct offsets', T, async () => {
  const topic = unique('node.many');
  const client = avroClient(topic);
  try {
    const [o] = orders();
    const p = client.producer();
    const ds = await Promise.all(Array.from({ length: 10000 }, (_, i) => p.send({ topic, key: `k${i % 7}`, value: o })));
    assert.equal(ds.length, 10000);
    assert.equal(new Set(ds.map((d) => `${d.partition}/${d.offset}`)).size, 10000);
    const batch = await p.sendMany(Array.from({ length: 2000 }, () => ({ topic, value: o })));
    assert.equal(batch.filter((r) => r instanceof kpipe.KpipeError).length, 0);
  } finally {
    await client.close();
  }
});

test('sendMany reports a bad record in place and sends the others', T, async () => {
  const topic = unique('node.partial');
  const client = avroClient(topic);
  try {
    const [o] = orders();
    const r = await client.producer().sendMany([{ topic, value: o }, { topic, value: { ...o, amount: 'x' } }, { topic, value: o }]);
    assert.ok(!(r[0] instanceof Error));
    assert.ok(r[1] instanceof kpipe.SerdeError);
    assert.equal(r[1].code, 'serde.encode');
    assert.match(r[1].message, /^Order\.amount: /);
    assert.ok(!(r[2] instanceof Error));
  } finally {
    await client.close();
  }
});

test('errors: typed classes with the core codes', T, async () => {
  assert.throws(() => kpipe.Client.fromObject({ clusters: {}, nope: 1 }), (e) => e instanceof kpipe.ConfigError && e.code === 'config.invalid' && e.message.startsWith('nope: '));
  const client = kpipe.Client.fromObject(baseConfig({ routes: [{ topic: 'only.*', cluster: 'business' }] }));
  await assert.rejects(client.producer().send({ topic: 'elsewhere', value: 'x' }), (e) => e instanceof kpipe.ConfigError && e.code === 'route.no_cluster' && e.message === 'no route matches topic "elsewhere"');
  assert.throws(() => client.consumer({ group: 'g', topics: 'only.a', start: 'sometime' }), (e) => e.code === 'config.invalid');
  assert.throws(() => client.setSerializer('t', { value: 'xml' }), (e) => e.code === 'config.invalid' && /unknown serializer "xml"/.test(e.message));
  await client.close();
  await assert.rejects(client.producer().send({ topic: 'only.a', value: 'x' }), (e) => e instanceof kpipe.ClosedError && e.code === 'closed' && e.fatal === true);
  assert.ok(kpipe.ERROR_CODES.includes('serde.unknown_schema_id'));
  for (const code of kpipe.ERROR_CODES) assert.notEqual(kpipe.classOf(code), kpipe.KpipeError, `${code} has a family class`);
});

test('AbortSignal ends a waiting next() at once; the record it would have got is kept', T, async () => {
  const topic = unique('node.abort');
  const client = kpipe.Client.fromObject(baseConfig());
  client.setSerializer(topic, { key: 'string', value: 'string' });
  const c = client.consumer({ group: unique('node.g'), topics: topic, start: 'earliest' });
  try {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(c.next({ signal: ac.signal }), (e) => e.name === 'AbortError');
    assert.ok(Date.now() - t0 < 2000, 'aborted promptly');
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(client.producer().send({ topic, value: 'v' }, { signal: pre.signal }), (e) => e.name === 'AbortError');
    await client.producer().send({ topic, value: 'after' });
    const vals = [];
    for (let i = 0; i < 30 && vals.length < 2; i++) {
      const m = await c.next({ timeoutMs: 1000 });
      if (m) vals.push(m.value);
    }
    assert.ok(vals.includes('after'));
  } finally {
    await c.close();
    await client.close();
  }
});

test('run: retries a failing handler, dead-letters the poison record with kpipe.* headers', T, async () => {
  const topic = unique('node.run');
  const client = avroClient(topic, { consumer: { commit: 'after-handle', max_attempts: 3, backoff_ms: 20, dlq: '{topic}.dlq' } });
  client.setSerializer(`${topic}.dlq`, { key: 'string', value: 'avro', schema: ORDER_AVSC });
  try {
    const [o] = orders();
    const p = client.producer();
    for (const key of ['ok', 'flaky', 'poison', 'last']) await p.send({ topic, key, value: o, headers: [['trace', `t-${key}`]] });
    const attempts = {};
    const seen = [];
    const c = client.consumer({ group: unique('node.run.g'), topics: topic, start: 'earliest' });
    const guard = setTimeout(() => c.stop(), 60000); // the assertions below report a stall
    await c.run(async (msg) => {
      attempts[msg.key] = (attempts[msg.key] || 0) + 1;
      await new Promise((r) => setTimeout(r, 1));
      if (msg.key === 'flaky' && attempts.flaky < 2) throw new Error('temporary');
      if (msg.key === 'poison') throw new TypeError('cannot handle this one');
      seen.push(msg.key);
      if (msg.key === 'last') c.stop();
    });
    clearTimeout(guard);
    await c.close();
    assert.deepEqual(seen, ['ok', 'flaky', 'last']);
    assert.equal(attempts.poison, 3);
    const [dead] = await consume(client, `${topic}.dlq`, 1);
    assert.equal(dead.key, 'poison');
    assert.deepEqual(dead.value, o);
    assert.equal(dead.header('kpipe.error.code').toString(), 'handler.failed');
    assert.match(dead.header('kpipe.error.message').toString(), /TypeError: cannot handle this one/);
    assert.equal(dead.header('kpipe.source.topic').toString(), topic);
    assert.equal(dead.header('kpipe.attempts').toString(), '3');
    assert.equal(dead.header('trace').toString(), 't-poison');
  } finally {
    await client.close();
  }
});

test('seekToTime and offsetsForTime find the first record at or after a time', T, async () => {
  const topic = unique('node.time');
  const client = kpipe.Client.fromObject(baseConfig());
  client.setSerializer(topic, { value: 'string' });
  try {
    const p = client.producer();
    await p.send({ topic, key: 'a', value: 'old', timestamp: 1000 });
    await p.send({ topic, key: 'a', value: 'new', timestamp: 5000 });
    const found = await client.admin.offsetsForTime(topic, new Date(3000));
    assert.ok(Object.values(found).includes(1));
    const c = client.consumer({ group: unique('node.g'), topics: topic, start: new Date(3000) });
    const m = await c.next({ timeoutMs: 20000 });
    assert.equal(m && m.value, 'new');
    await c.commit();
    await c.close();
  } finally {
    await client.close();
  }
});
