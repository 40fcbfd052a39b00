'use strict';
// Offsets tools: export/import, reset (dry run and applied), migration plan and apply between
// two clusters with the same topic.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kpipe, baseConfig, unique } = require('./helpers');

const T = { timeout: 120000 };

async function fill(client, topic, n, t0) {
  client.setSerializer(topic, { value: 'string' });
  const p = client.producer();
  for (let i = 0; i < n; i++) await p.send({ topic, key: 'k', value: `v${i}`, timestamp: t0 + i * 1000 });
}

async function read(client, topic, group, n) {
  const c = client.consumer({ group, topics: topic, start: 'earliest' });
  for (let i = 0; i < n;) if (await c.next({ timeoutMs: 1000 })) i++;
  await c.commit();
  await c.close();
}

test('export, reset and import a group\'s offsets', T, async () => {
  const client = kpipe.Client.fromObject(baseConfig());
  const topic = unique('node.adm');
  const group = unique('node.adm.g');
  try {
    await fill(client, topic, 5, 1_000_000);
    await read(client, topic, group, 3);
    const doc = await client.admin.exportOffsets(group, { topics: topic });
    assert.equal(doc.group, group);
    assert.deepEqual(doc.offsets.map((o) => [o.topic, o.partition, o.offset]), [[topic, 0, 3]]);
    const dry = await client.admin.resetOffsets(group, topic, 'earliest', { dryRun: true });
    assert.equal(dry[0].after, 0);
    assert.equal((await client.admin.exportOffsets(group, { topics: topic })).offsets[0].offset, 3, 'dry run changes nothing');
    await client.admin.resetOffsets(group, topic, new Date(1_000_000 + 4000));
    assert.equal((await client.admin.exportOffsets(group, { topics: topic })).offsets[0].offset, 4);
    await client.admin.importOffsets(doc);
    assert.equal((await client.admin.exportOffsets(group, { topics: topic })).offsets[0].offset, 3);
    await assert.rejects(client.admin.resetOffsets(group, topic, 'sometime'), (e) => e instanceof kpipe.InputError && e.code === 'input.invalid');
  } finally {
    await client.close();
  }
});

test('migrate a group from business to offline by timestamps', T, async () => {
  // one topic name on both clusters: route it explicitly per client
  const topic = unique('node.mig');
  const group = unique('node.mig.g');
  const src = kpipe.Client.fromObject(baseConfig({ routes: [{ topic: '*', cluster: 'business' }] }));
  const dst = kpipe.Client.fromObject(baseConfig({ routes: [{ topic: '*', cluster: 'offline' }] }));
  try {
    await fill(src, topic, 6, 2_000_000);
    await fill(dst, topic, 6, 2_000_000);
    await read(src, topic, group, 4);
    // a commit on the target first: a fresh cluster creates its offsets topic on first use
    await read(dst, topic, unique('node.mig.warm'), 1);
    const plan = await src.admin.migratePlan(group, 'business', 'offline', { topics: topic });
    assert.equal(plan.group, group);
    const entry = plan.partitions.find((p) => p.topic === topic && p.partition === 0);
    assert.equal(entry.source_offset, 4);
    assert.equal(entry.target_offset, 4);
    const { rollback, changes } = await src.admin.migrateApply(plan);
    assert.equal(rollback.group, group);
    assert.equal(changes[0].after, 4);
    assert.equal((await dst.admin.exportOffsets(group, { topics: topic })).offsets[0].offset, 4);
  } finally {
    await src.close();
    await dst.close();
  }
});
