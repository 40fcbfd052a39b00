// @ts-check
// The demo's notifier service: consumes Order records with kpipe's run loop and "notifies"
// (prints one line) for every paid or shipped order; other orders print a `seen` line. A
// handler that throws is retried with the core's backoff, then the record goes to
// `{topic}.dlq` with kpipe.* headers, as does a record that cannot be decoded; offsets are
// committed after handling (at-least-once). Stops after --count orders (of --run-id, when
// given), after --timeout seconds, or on Ctrl-C (the AbortSignal ends the loop and the
// consumer closes).
//
//   node examples/node/notifier.mjs kpipe.yaml --topic orders.demo.node --run-id r1 --count 2
//
// Output: `notify run=r1 seq=1 order_id=... PAID 200.90 CNY <- online/orders.demo.node p0@12`
// (`seen ...` for an order that is neither), then `done run=r1 handled=2 notified=1`. Exits 1
// when fewer than --count orders arrive in time.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, KpipeError } from '@kpipe-dev/kpipe';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    topic: { type: 'string', default: 'orders.demo.node' },
    'run-id': { type: 'string' },
    count: { type: 'string' },
    group: { type: 'string' },
    timeout: { type: 'string', default: '60' },
  },
});
const config = positionals[0] ?? 'kpipe.yaml';
const schema = readFileSync(new URL('../order.avsc', import.meta.url), 'utf8');
const want = opt.count === undefined ? Infinity : Number(opt.count);

const client = Client.fromFile(config);
client.setSerializer(opt.topic, { key: 'string', value: 'avro', schema });
const consumer = client.consumer({
  group: opt.group ?? `kpipe-demo-node-${randomUUID().slice(0, 8)}`,
  topics: opt.topic,
  start: 'earliest',
  longs: 'number',
});
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
const timer = setTimeout(() => stop.abort(), Number(opt.timeout) * 1000);

let notified = 0;
let handled = 0;
try {
  await consumer.run(async (msg) => {
    const run = msg.header('kpipe.demo.run')?.toString() ?? '';
    if (opt['run-id'] !== undefined && run !== opt['run-id']) return;
    const order = /** @type {{order_id: string, status: string, amount: string, currency: string}} */ (msg.value);
    const paid = order.status === 'PAID' || order.status === 'SHIPPED';
    const seq = msg.header('kpipe.demo.seq')?.toString() ?? '?';
    console.log(`${paid ? 'notify' : 'seen'} run=${run} seq=${seq} order_id=${order.order_id} ${order.status} ${order.amount} ${order.currency} <- ${client.clusterFor(msg.topic)}/${msg.topic} p${msg.partition}@${msg.offset}`);
    if (paid) notified++;
    if (++handled >= want) consumer.stop();
  }, { signal: stop.signal });
} catch (e) {
  if (e instanceof KpipeError) {
    console.error(`error [${e.code}] ${e.message}`);
    process.exitCode = 1;
  } else throw e;
} finally {
  clearTimeout(timer);
  await consumer.close();
  await client.close();
}
console.log(`done run=${opt['run-id'] ?? '-'} handled=${handled} notified=${notified}`);
if (handled < want && want !== Infinity) process.exitCode = 1;
