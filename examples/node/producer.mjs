// @ts-check
// Demo producer: sends --count Order records (Avro through the registry) to a topic routed by
// kpipe.yaml, each with the run id in the header `kpipe.demo.run`.
//
//   set -a; eval "$(dev/stack env --kpipe-yaml | sed 's/^/export /')"; set +a   # stack ports
//   node examples/node/producer.mjs kpipe.yaml --topic orders.demo.node --count 5 --run-id r1
//
// Output: `sent run=r1 seq=0 order_id=... -> online/orders.demo.node p0@12`, then `done run=r1 sent=5`.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, KpipeError } from '@kpipe-dev/kpipe';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    topic: { type: 'string', default: 'orders.demo.node' },
    count: { type: 'string', default: '5' },
    'run-id': { type: 'string', default: String(Date.now()) },
  },
});
const config = positionals[0] ?? 'kpipe.yaml';
const schema = readFileSync(new URL('../order.avsc', import.meta.url), 'utf8');
const statuses = ['CREATED', 'PAID', 'SHIPPED', 'CANCELLED'];

const client = Client.fromFile(config);
client.setSerializer(opt.topic, { key: 'string', value: 'avro', schema });
const producer = client.producer();
try {
  const n = Number(opt.count);
  for (let seq = 0; seq < n; seq++) {
    const order = {
      order_id: randomUUID(), customer_id: 1000n + BigInt(seq), created_at: new Date(),
      status: statuses[seq % statuses.length], amount: (199.9 + seq).toFixed(2), currency: 'CNY',
      city: 'Wuhan', vehicle_vin: null, mileage_km: 1200 + seq, price_score: 0.7,
      items: [{ sku: `SKU-${String(seq).padStart(6, '0')}`, qty: 1 + seq, unit_price: 99.95 }],
      attributes: { channel: 'app' },
    };
    const d = await producer.send({
      topic: opt.topic, key: order.order_id, value: order,
      headers: { 'kpipe.demo.run': opt['run-id'], 'kpipe.demo.seq': String(seq) },
    });
    console.log(`sent run=${opt['run-id']} seq=${seq} order_id=${order.order_id} -> ${d.cluster}/${d.topic} p${d.partition}@${d.offset}`);
  }
  console.log(`done run=${opt['run-id']} sent=${n}`);
} catch (e) {
  if (e instanceof KpipeError) {
    console.error(`error [${e.code}] ${e.message}`);
    process.exitCode = 1;
  } else throw e;
} finally {
  await client.close();
}
