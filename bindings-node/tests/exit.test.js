'use strict';
// A process whose consumer is closed and idle exits by itself (nothing native keeps the event
// loop alive), and the ESM entry exposes the same API.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { baseConfig, unique } = require('./helpers');

const PKG = path.resolve(__dirname, '..');

test('a process with an idle closed consumer exits', { timeout: 60000 }, () => {
  const script = `
    const kpipe = require(${JSON.stringify(PKG)});
    (async () => {
      const client = kpipe.Client.fromObject(${JSON.stringify(baseConfig())});
      const c = client.consumer({ group: ${JSON.stringify(unique('node.exit'))}, topics: ${JSON.stringify(unique('node.exit'))}, start: 'earliest' });
      await c.next({ timeoutMs: 500 });
      await c.close();
      await client.close();
      console.log('done');
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.signal, null, `killed: the process did not exit (${r.stderr})`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /done/);
});

test('the ESM entry exports the same classes', { timeout: 20000 }, () => {
  const url = 'file://' + path.join(PKG, 'index.mjs');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import kpipe, { Client, KpipeError, Schema } from ${JSON.stringify(url)}; import { createRequire } from 'node:module';
     const cjs = createRequire(import.meta.url)(${JSON.stringify(PKG)});
     if (Client !== cjs.Client || KpipeError !== cjs.KpipeError || kpipe.Schema !== Schema) process.exit(3);
     console.log(new Schema('"long"').encode(5n).toString('hex'));`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0a');
});
