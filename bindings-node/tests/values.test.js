'use strict';
// Values without a broker: every Avro type from and back to JS natives, and the golden vectors
// of tests/conformance byte for byte (tests/conformance/README.md).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { kpipe, ROOT } = require('./helpers');

const T = { timeout: 10000 };
const CONF = path.join(ROOT, 'tests', 'conformance');

test('every type round-trips through JS natives', T, () => {
  const s = new kpipe.Schema({
    type: 'record', name: 'All', namespace: 'n', fields: [
      { name: 'n', type: 'null' }, { name: 'b', type: 'boolean' }, { name: 'i', type: 'int' },
      { name: 'l', type: 'long' }, { name: 'f', type: 'float' }, { name: 'd', type: 'double' },
      { name: 'by', type: 'bytes' }, { name: 's', type: 'string' },
      { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
      { name: 'fx', type: { type: 'fixed', name: 'F', size: 2 } },
      { name: 'a', type: { type: 'array', items: 'int' } }, { name: 'm', type: { type: 'map', values: 'long' } },
      { name: 'u', type: ['null', 'string'] },
      { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
      { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
      { name: 'day', type: { type: 'int', logicalType: 'date' } },
      { name: 'tm', type: { type: 'int', logicalType: 'time-millis' } },
      { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'tsu', type: { type: 'long', logicalType: 'timestamp-micros' } },
      { name: 'lts', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    ],
  });
  const v = {
    n: null, b: true, i: -7, l: 9007199254740993n, f: 1.5, d: -0.25, by: Buffer.from([0, 255]), s: 'héllo',
    e: 'B', fx: Buffer.from([1, 2]), a: [1, 2, 3], m: { x: 1n }, u: 'yes', dec: '12.30',
    id: '78e51061-7311-48a3-82ce-6f447ed4d57b', day: '2026-11-24', tm: '10:00:00.123',
    ts: new Date('2026-11-24T10:00:00.123Z'), tsu: '2026-11-24T10:00:00.123456Z', lts: '2026-11-24T10:00:00.123',
  };
  const body = s.encode(v);
  const back = s.decode(body);
  assert.deepEqual(back, v);
  assert.deepEqual(s.encode(back), body);
  const asNumbers = s.decode(body, { longs: 'number' });
  assert.equal(asNumbers.m.x, 1);
  assert.equal(typeof asNumbers.l, 'bigint', 'unsafe longs stay bigint');
});

test('a value that does not fit names the field path', T, () => {
  const s = new kpipe.Schema(fs.readFileSync(path.join(ROOT, 'examples', 'order.avsc'), 'utf8'));
  assert.throws(() => s.encode({ order_id: 'x' }), (e) => {
    assert.ok(e instanceof kpipe.SerdeError && e instanceof kpipe.KpipeError && e instanceof Error);
    assert.equal(e.code, 'serde.encode');
    assert.equal(e.retriable, false);
    assert.equal(e.fatal, false);
    assert.match(e.message, /^Order\.order_id: expected uuid/);
    return true;
  });
});

test('a Map or Set is refused, not sent as an empty map', T, () => {
  const s = new kpipe.Schema('{"type":"map","values":"string"}');
  for (const [bad, name] of [[new Map([['k', 'v']]), 'Map'], [new Set(['k']), 'Set']]) {
    assert.throws(() => s.encode(bad), (e) => {
      assert.ok(e instanceof kpipe.SerdeError);
      assert.match(e.message, new RegExp(`expected map<string>, got ${name} \\(use a plain object\\)$`));
      return true;
    });
  }
  assert.equal(s.encode({}).toString('hex'), '00', 'an empty plain object is still the empty map');
  assert.equal(s.encode({ k: 'v' }).toString('hex'), '02026b027600');
});

// ---- golden vectors ----

function parseLine(line) {
  // longs beyond 2^53 would lose digits in JSON.parse: keep them as bigint
  return JSON.parse(line.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1{"$big":"$2"}'), (k, v) =>
    (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && '$big' in v) ? BigInt(v.$big) : v);
}

function vectors() {
  return fs.readFileSync(path.join(CONF, 'avro', 'vectors.jsonl'), 'utf8').split('\n')
    .filter((l) => l.trim() && !l.startsWith('//')).map(parseLine);
}

function schemaOf(v) {
  return v.schema_file ? JSON.parse(fs.readFileSync(path.join(CONF, v.schema_file), 'utf8')) : v.schema;
}

/** Natural JSON -> JS natives: only bytes and fixed differ (base64 text -> Buffer). */
function toNative(schema, value, names = new Map(), ns = '') {
  const full = (n, space) => (n.includes('.') || !space ? n : `${space}.${n}`);
  const register = (s, space) => {
    if (typeof s !== 'object' || s === null) return;
    if (Array.isArray(s)) return s.forEach((x) => register(x, space));
    const sp = s.namespace ?? space;
    if (s.name && ['record', 'enum', 'fixed', 'error'].includes(s.type)) {
      names.set(full(s.name, s.namespace ?? space), s);
      names.set(s.name.split('.').pop(), s);
    }
    if (s.fields) s.fields.forEach((f) => register(f.type, s.name && s.name.includes('.') ? s.name.split('.').slice(0, -1).join('.') : sp));
    if (s.items) register(s.items, sp);
    if (s.values) register(s.values, sp);
  };
  register(schema, ns);
  const lookup = (n) => names.get(n) || names.get(n.split('.').pop());
  // strict base64 (padded or not); anything else has no native form and stays text
  const b64 = (v) => (typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.replace(/=+$/, '').length % 4 !== 1 ? Buffer.from(v, 'base64') : v);
  const walk = (s, v) => {
    if (typeof s === 'string') {
      if (s === 'bytes') return b64(v);
      if (lookup(s)) return walk(lookup(s), v);
      return v;
    }
    if (Array.isArray(s)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && Object.keys(v).length === 1) {
        const [bn] = Object.keys(v);
        const branch = s.find((b) => (typeof b === 'string' ? b === bn || (names.get(b) && names.get(b).name === bn) : (b.name === bn || b.type === bn || (b.name && bn.split('.').pop() === b.name))));
        if (branch !== undefined) return { [bn]: walk(branch, v[bn]) };
      }
      if (typeof v === 'string') {
        // natural JSON: the first branch that takes text wins; bytes/fixed take it as base64
        const kindOf = (b) => {
          const t = typeof b === 'string' ? (lookup(b) ? lookup(b).type : b) : (b.logicalType ? 'logical' : b.type);
          return t;
        };
        const first = s.map(kindOf).find((t) => ['bytes', 'fixed', 'string', 'enum', 'logical'].includes(t));
        if (first === 'bytes' || first === 'fixed') return b64(v);
      }
      return v;
    }
    if (s.logicalType) return v;
    switch (s.type) {
      case 'bytes': case 'fixed': return b64(v);
      case 'record': case 'error': {
        if (!v || typeof v !== 'object') return v;
        const out = { ...v };
        for (const f of s.fields) if (f.name in out) out[f.name] = walk(f.type, out[f.name]);
        return out;
      }
      case 'array': return Array.isArray(v) ? v.map((x) => walk(s.items, x)) : v;
      case 'map': return v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(s.values, x)])) : v;
      default: return typeof s.type === 'string' || typeof s.type === 'object' ? walk(s.type, v) : v;
    }
  };
  return walk(schema, value);
}

const VECTORS = vectors();

test('there are vectors', T, () => assert.ok(VECTORS.length >= 100));

for (const v of VECTORS.filter((x) => !x.error)) {
  test(`vector: ${v.name}`, T, () => {
    const s = new kpipe.Schema(JSON.stringify(schemaOf(v)));
    const expected = Buffer.from(v.body_hex, 'hex');
    assert.equal(s.encode(toNative(schemaOf(v), v.input)).toString('hex'), v.body_hex);
    const decoded = s.decode(expected);
    assert.equal(s.encode(decoded).toString('hex'), v.body_hex, 'decoded value re-encodes to the same bytes');
  });
}

for (const v of VECTORS.filter((x) => x.error)) {
  test(`error vector: ${v.name}`, T, () => {
    const s = new kpipe.Schema(JSON.stringify(schemaOf(v)));
    assert.throws(() => s.encode(toNative(schemaOf(v), v.input)), (e) => {
      assert.ok(e instanceof kpipe.SerdeError, `${e}`);
      assert.equal(e.code, v.error.code);
      assert.ok(e.message.startsWith(`${v.error.path}: `), e.message);
      return true;
    });
  });
}
