'use strict';
// The cross-language cases (tests/conformance/): bad options give the core's code and message
// word for word (options.json), and the one acknowledgement semantics, scenario by scenario
// (ack.json), as bindings-python/tests/test_options.py and test_ack.py run them.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { kpipe, ROOT, baseConfig, unique } = require('./helpers');

const T = { timeout: 120000 };
const read = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'conformance', name), 'utf8'));
const CASES = read('options.json').cases.filter((c) => c.surfaces.includes('node'));
const SCENARIOS = read('ack.json').scenarios;

/** Passes `value` as the option, the way a user of the Node binding would. */
async function give(client, option, value) {
  switch (option) {
    case 'strategy': return client.admin.migratePlan(unique('g'), 'business', 'online', { strategy: value });
    case 'serializer': return client.setSerializer(unique('t'), { value });
    case 'start': return client.consumer({ group: unique('g'), topics: unique('t'), start: value });
    case 'commit': return client.consumer({ group: unique('g'), topics: unique('t'), commit: value });
    case 'ack': return client.consumer({ group: unique('g'), topics: unique('t'), ack: value });
    case 'reader': return client.setSerializer(unique('t'), { value: 'avro', reader: value });
    case 'reset': return client.admin.resetOffsets(unique('g'), [unique('t')], value, { cluster: 'business' });
    default: throw new Error(`no Node surface for ${option}`);
  }
}

test('every option with a Node surface is covered', () => {
  assert.deepEqual(new Set(CASES.map((c) => c.option)), new Set(['strategy', 'serializer', 'start', 'commit', 'ack', 'reset', 'reader']));
});

for (const c of CASES) {
  test(`bad option ${c.option}: the core's code and message`, T, async () => {
    const client = kpipe.Client.fromObject(baseConfig());
    try {
      await assert.rejects(async () => give(client, c.option, c.value), (e) => {
        assert.ok(e instanceof kpipe.ConfigError, `${e}`);
        assert.equal(e.code, c.code);
        assert.equal(e.message, c.message);
        assert.equal(e.field, c.field);
        assert.deepEqual([e.retriable, e.fatal], [false, false]);
        return true;
      });
    } finally {
      await client.close();
    }
  });
}

test('a start of another type is a TypeError, not a kpipe error', T, () => {
  const client = kpipe.Client.fromObject(baseConfig());
  assert.throws(() => client.consumer({ group: unique('g'), topics: unique('t'), start: true }), TypeError);
  return client.close();
});

for (const sc of SCENARIOS) {
  test(`ack: ${sc.name}`, T, async () => {
    const topic = unique('node.ack');
    const client = kpipe.Client.fromObject(baseConfig());
    try {
      const n = sc.records;
      await client.producer().sendMany(Array.from({ length: n }, (_, i) => ({ topic, key: 'one-partition', value: String(i) })));
      const group = unique('node.ack');
      const c = client.consumer({ group, topics: [topic], start: 'earliest', commit: 'manual', ack: sc.ack });
      const polled = [];
      try {
        for (const step of sc.steps) {
          if (step === 'poll') {
            const m = await c.next({ timeoutMs: 30000 });
            assert.ok(m, 'no record');
            if (polled.length) assert.equal(m.offset, polled[polled.length - 1].offset + 1);
            polled.push(m);
          } else if (step.startsWith('ack:')) {
            c.ack(polled[Number(step.slice(4))]);
          } else if (step === 'commit') {
            await c.commit();
          } else if (step.startsWith('run:')) {
            let left = Number(step.slice(4));
            await c.run(() => { left -= 1; if (left === 0) c.stop(); });
          } else if (step === 'close') {
            await c.close();
          } else {
            throw new Error(`unknown step ${step}`);
          }
        }
      } finally {
        await c.close();
      }
      const again = client.consumer({ group, topics: [topic] });
      try {
        const m = await again.next({ timeoutMs: 30000 });
        assert.ok(m, 'no record after resuming');
        assert.equal(m.offset, sc.resume_at);
      } finally {
        await again.close();
      }
    } finally {
      await client.close();
    }
  });
}
