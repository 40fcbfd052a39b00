'use strict';
// Schema references, reader schemas and null header values from Node, against the live stack.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kpipe, baseConfig, unique, consume } = require('./helpers');

const T = { timeout: 120000 };
const ADDRESS = JSON.stringify({ type: 'record', name: 'Address', namespace: 'kpipe.it', fields: [
  { name: 'street', type: 'string' }, { name: 'city', type: 'string' }] });
const ORDER = JSON.stringify({ type: 'record', name: 'Order', namespace: 'kpipe.it', fields: [
  { name: 'id', type: 'long' }, { name: 'ship_to', type: 'kpipe.it.Address' }] });
const V1 = JSON.stringify({ type: 'record', name: 'Reading', namespace: 'kpipe.it', fields: [
  { name: 'id', type: 'long' }, { name: 'old', type: 'string', default: 'x' }] });
const V2 = JSON.stringify({ type: 'record', name: 'Reading', namespace: 'kpipe.it', fields: [
  { name: 'id', type: 'long' }, { name: 'unit', type: 'string', default: 'celsius' }] });
const V_BAD = JSON.stringify({ type: 'record', name: 'Reading', namespace: 'kpipe.it', fields: [
  { name: 'id', type: 'string' }] });

/** Registers a schema (with references) in the stack's registry, as any other tool would. */
async function register(subject, schema, references = []) {
  const r = await fetch(`${process.env.KPIPE_REGISTRY_URL}/subjects/${subject}/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema, references }),
  });
  assert.equal(r.status, 200, `registering ${subject}: ${await r.text()}`);
}

test('a schema with references is written with the subject latest and read by id', T, async () => {
  const topic = unique('node.refs');
  const address = unique('node-address');
  await register(address, ADDRESS);
  await register(`${topic}-value`, ORDER, [{ name: 'kpipe.it.Address', subject: address, version: 1 }]);
  const client = kpipe.Client.fromObject(baseConfig({ schemas: { use_latest: true, auto_register: false } }));
  try {
    client.setSerializer(topic, { value: 'avro' });
    const value = { id: 1n, ship_to: { street: 'Main St 1', city: 'Oslo' } };
    await client.producer().send({ topic, value });
    const [m] = await consume(client, topic, 1);
    assert.deepEqual(m.value, value);
  } finally {
    await client.close();
  }
});

test('a v1 record read with a v2 reader gets the default; writer, latest and a bad reader', T, async () => {
  const topic = unique('node.readers');
  const writer = kpipe.Client.fromObject(baseConfig({ schemas: { policy: 'NONE' } }));
  writer.setSerializer(topic, { value: 'avro', schema: V1 });
  await writer.producer().send({ topic, value: { id: 1n, old: 'o' } });
  await writer.close();
  const read = async (opts) => {
    const c = kpipe.Client.fromObject(baseConfig());
    try {
      c.setSerializer(topic, { value: 'avro', ...opts });
      const [m] = await consume(c, topic, 1);
      return m.value;
    } finally {
      await c.close();
    }
  };
  assert.deepEqual(await read({ schema: V2 }), { id: 1n, unit: 'celsius' });
  assert.deepEqual(await read({ schema: V2, reader: 'writer' }), { id: 1n, old: 'o' });
  await register(`${topic}-value`, V2);
  assert.deepEqual(await read({ reader: 'latest' }), { id: 1n, unit: 'celsius' });
  await assert.rejects(read({ schema: V_BAD }), (e) => {
    assert.ok(e instanceof kpipe.SerdeError, String(e));
    assert.equal(e.code, 'serde.decode');
    assert.match(e.message, /long cannot be read as string/);
    assert.equal(e.topic, topic);
    return true;
  });
  const c = kpipe.Client.fromObject(baseConfig());
  try {
    assert.throws(() => c.setSerializer(topic, { value: 'json', reader: 'latest' }),
      (e) => e.code === 'config.invalid' && e.field === 'reader');
  } finally {
    await c.close();
  }
});

test('a null header value stays null, an empty one empty', T, async () => {
  const topic = unique('node.headers');
  const client = kpipe.Client.fromObject(baseConfig());
  try {
    await client.producer().send({ topic, value: Buffer.from('x'), headers: [['null', null], ['empty', Buffer.alloc(0)], ['v', 'x']] });
    const [m] = await consume(client, topic, 1);
    assert.deepEqual(m.headers, [['null', null], ['empty', Buffer.alloc(0)], ['v', Buffer.from('x')]]);
    assert.equal(m.header('null'), null);
    assert.deepEqual(m.header('empty'), Buffer.alloc(0));
    assert.equal(m.header('absent'), undefined);
  } finally {
    await client.close();
  }
});
