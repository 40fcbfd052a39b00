// kpipe (Node) vs KafkaJS + @kafkajs/confluent-schema-registry, per ../shared/BENCH-PROTOCOL.md:
// per repetition, alternating, a fresh 6-partition topic on the business cluster (RF 1); produce
// N Order records (gen_order.py N 42, converted to each client's native values before timing)
// with a string key, acks=all, idempotence on; then a fresh group consumes and decodes all N.
// Prints records/s, client CPU s per 1M records, peak RSS, the median (min-max) of per-rep
// ratios, and `JSON {...}` lines. A wrong run (count, unique partition/offset, checksum) exits 1.
//
//   set -a; eval "$(dev/stack env)"; set +a
//   node bench/node/bench.mjs -n 200000 -r 3 [--linger 5]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client } from '@kpipe-dev/kpipe';
import kafkajs from 'kafkajs';
import csr from '@kafkajs/confluent-schema-registry';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
const { SchemaRegistry, SchemaType } = csr;

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', short: 'n', default: '1000000' },
    reps: { type: 'string', short: 'r', default: '5' },
    linger: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '50000' },
  },
});
const N = Number(opt.n), REPS = Number(opt.reps), LINGER = Number(opt.linger), WARMUP = Number(opt.warmup);
const ROOT = new URL('../../', import.meta.url).pathname;
const SCHEMA = readFileSync(`${ROOT}../shared/bench/order.avsc`, 'utf8');
const BOOT = process.env.KPIPE_BUSINESS_BOOTSTRAP, REG = process.env.KPIPE_REGISTRY_URL;
if (!BOOT || !REG) throw new Error('run with the stack env: set -a; eval "$(dev/stack env)"; set +a');

const lines = (n) => execFileSync('python3', [`${ROOT}../shared/bench/gen_order.py`, String(n), '42'], { maxBuffer: 1 << 30, encoding: 'utf8' }).trim().split('\n');

function decimalBytes(text) {
  let v = BigInt(text.replace('.', ''));
  const out = [];
  for (;;) {
    out.unshift(Number(v & 0xffn));
    const next = v >> 8n;
    if ((next === 0n && (out[0] & 0x80) === 0) || (next === -1n && (out[0] & 0x80) !== 0)) break;
    v = next;
  }
  return Buffer.from(out);
}

// natives per client: kpipe takes Date/bigint/decimal text; avsc (no logical-type hooks) takes
// numbers and the decimal's two's-complement bytes
const toKpipe = (o) => ({ ...o, customer_id: BigInt(o.customer_id), created_at: new Date(o.created_at) });
const toAvsc = (o) => ({ ...o, amount: decimalBytes(o.amount) });

const kafka = new Kafka({ clientId: 'kpipe-bench', brokers: BOOT.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
async function freshTopic() {
  const topic = `bench.node.${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
  return topic;
}

function stats(t0, c0) {
  const wall = (Date.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

function gate(name, seen, sum, n, want) {
  if (seen.size !== n || sum !== want) {
    console.error(`correctness gate failed for ${name}: ${seen.size} unique of ${n}, checksum ${sum} != ${want}`);
    process.exit(1);
  }
}

const kpipeClient = Client.fromObject({
  clusters: { business: { bootstrap: BOOT } },
  registry: { url: REG },
  routes: [{ topic: '*', cluster: 'business' }],
  producer: { acks: 'all', idempotence: true, linger_ms: LINGER },
});

async function runKpipe(records, want) {
  const topic = await freshTopic();
  kpipeClient.setSerializer(topic, { key: 'string', value: 'avro', schema: SCHEMA });
  const p = kpipeClient.producer();
  let t0 = Date.now(), c0 = process.cpuUsage();
  const CH = 10000;
  const waits = [];
  for (let i = 0; i < records.length; i += CH) {
    waits.push(p.sendMany(records.slice(i, i + CH).map((r) => ({ topic, key: r.order_id, value: r }))));
  }
  for (const w of await Promise.all(waits)) for (const r of w) if (r instanceof Error) throw r;
  const prod = stats(t0, c0);
  const c = kpipeClient.consumer({ group: `bench-${randomUUID()}`, topics: topic, start: 'earliest', longs: 'number' });
  t0 = Date.now(); c0 = process.cpuUsage();
  const seen = new Set();
  let sum = 0;
  for await (const m of c) {
    seen.add(m.partition * 1e12 + m.offset);
    sum += m.value.mileage_km;
    if (seen.size === records.length) break;
  }
  const cons = stats(t0, c0);
  await c.close();
  gate('kpipe', seen, sum, records.length, want);
  await admin.deleteTopics({ topics: [topic] });
  return { prod, cons };
}

const registry = new SchemaRegistry({ host: REG });
async function runKafkajs(records, want) {
  const topic = await freshTopic();
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: SCHEMA }, { subject: `${topic}-value` });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let t0 = Date.now(), c0 = process.cpuUsage();
  const CH = 1000;
  for (let i = 0; i < records.length; i += CH) {
    const messages = await Promise.all(records.slice(i, i + CH).map(async (r) => ({ key: r.order_id, value: await registry.encode(id, r) })));
    await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
  }
  const prod = stats(t0, c0);
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  t0 = Date.now(); c0 = process.cpuUsage();
  const seen = new Set();
  let sum = 0;
  await new Promise((resolve, reject) => {
    consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const v = await registry.decode(m.value);
          seen.add(batch.partition * 1e12 + Number(m.offset));
          sum += v.mileage_km;
        }
        if (seen.size >= records.length) resolve();
      },
    }).catch(reject);
  });
  const cons = stats(t0, c0);
  await consumer.disconnect();
  gate('kafkajs', seen, sum, records.length, want);
  await admin.deleteTopics({ topics: [topic] });
  return { prod, cons };
}

const raw = lines(N).map((l) => JSON.parse(l));
const want = raw.reduce((s, o) => s + o.mileage_km, 0);
const kp = raw.map(toKpipe), kj = raw.map(toAvsc);
const warm = Math.min(WARMUP, N);
const wantWarm = raw.slice(0, warm).reduce((s, o) => s + o.mileage_km, 0);
await runKpipe(kp.slice(0, warm), wantWarm);
await runKafkajs(kj.slice(0, warm), wantWarm);

console.log(`node ${process.version}, N=${N}, reps=${REPS}, linger.ms=${LINGER}, kafkajs 2.2.4 + @kafkajs/confluent-schema-registry 3.3.0`);
const ratios = { produce: [], consume: [] };
for (let r = 0; r < REPS; r++) {
  const a = await runKpipe(kp, want);
  const b = await runKafkajs(kj, want);
  for (const [name, x] of [['kpipe', a], ['kafkajs', b]]) {
    const line = { client: name, rep: r, n: N, linger_ms: LINGER,
      produce_rps: Math.round(N / x.prod.wall), consume_rps: Math.round(N / x.cons.wall),
      produce_cpu_s_per_1m: +(x.prod.cpu * 1e6 / N).toFixed(2), consume_cpu_s_per_1m: +(x.cons.cpu * 1e6 / N).toFixed(2),
      max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
    console.log(`JSON ${JSON.stringify(line)}`);
  }
  ratios.produce.push(b.prod.wall / a.prod.wall);
  ratios.consume.push(b.cons.wall / a.cons.wall);
}
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const k of ['produce', 'consume']) {
  const xs = ratios[k];
  console.log(`${k}: kpipe / kafkajs = ${med(xs).toFixed(2)}x (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`);
}
await admin.disconnect();
await kpipeClient.close();
