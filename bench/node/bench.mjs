// kpipe (Node) vs KafkaJS + @kafkajs/confluent-schema-registry and vs
// @confluentinc/kafka-javascript + @confluentinc/schemaregistry, per ../shared/BENCH-PROTOCOL.md:
// per repetition, alternating (kpipe, kafkajs, confluent), a fresh 6-partition topic on the
// business cluster (RF 1); produce N Order records (gen_order.py N 42, converted to each client's
// native values before timing) with a string key, acks=all, idempotence on; then a fresh group
// consumes and decodes all N. Prints records/s, client CPU s per 1M records, peak RSS, the
// median (min-max) of per-rep ratios per pair, and `JSON {...}` lines. A wrong run (count,
// unique partition/offset, checksum) exits 1.
//
//   set -a; eval "$(dev/stack env)"; set +a
//   node bench/node/bench.mjs -n 200000 -r 3 [--linger 5] [--pair kafkajs|confluent|both]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client } from '@kpipe-dev/kpipe';
import kafkajs from 'kafkajs';
import csr from '@kafkajs/confluent-schema-registry';
import ckjs from '@confluentinc/kafka-javascript';
import { SchemaRegistryClient, SerdeType, AvroSerializer, AvroDeserializer } from '@confluentinc/schemaregistry';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
const { SchemaRegistry, SchemaType } = csr;
const CK = ckjs.KafkaJS;

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', short: 'n', default: '1000000' },
    reps: { type: 'string', short: 'r', default: '5' },
    linger: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '50000' },
    pair: { type: 'string', default: 'both' },
  },
});
const N = Number(opt.n), REPS = Number(opt.reps), LINGER = Number(opt.linger), WARMUP = Number(opt.warmup);
if (!['kafkajs', 'confluent', 'both'].includes(opt.pair)) throw new Error('--pair is kafkajs, confluent or both');
const PAIRS = opt.pair === 'both' ? ['kafkajs', 'confluent'] : [opt.pair];
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

// natives per client: kpipe takes Date/bigint/decimal text; avsc (no logical-type hooks; both
// @kafkajs/confluent-schema-registry and @confluentinc/schemaregistry's AvroSerializer use it)
// takes numbers (long, timestamp-millis: a Date is rejected, a bigint too), the uuid as a string
// and the decimal's two's-complement bytes as a Buffer; both deserializers give those back
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

// KafkaJS and kafka-javascript share KafkaJS's consumer API: subscribe, then (clock running)
// decode every record of each batch until n are seen; the figures are taken before disconnect.
async function consumeAll(consumer, subscription, n, decode) {
  await consumer.connect();
  await consumer.subscribe(subscription);
  const t0 = Date.now(), c0 = process.cpuUsage();
  const seen = new Set();
  let sum = 0;
  await new Promise((resolve, reject) => {
    consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const v = await decode(m.value);
          seen.add(batch.partition * 1e12 + Number(m.offset));
          sum += v.mileage_km;
        }
        if (seen.size >= n) resolve();
      },
    }).catch(reject);
  });
  const cons = stats(t0, c0);
  await consumer.disconnect();
  return { cons, seen, sum };
}

const registry = new SchemaRegistry({ host: REG });
async function runKafkajs(records, want) {
  const topic = await freshTopic();
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: SCHEMA }, { subject: `${topic}-value` });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const t0 = Date.now(), c0 = process.cpuUsage();
  const CH = 1000;
  for (let i = 0; i < records.length; i += CH) {
    const messages = await Promise.all(records.slice(i, i + CH).map(async (r) => ({ key: r.order_id, value: await registry.encode(id, r) })));
    await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
  }
  const prod = stats(t0, c0);
  await producer.disconnect();
  const { cons, seen, sum } = await consumeAll(kafka.consumer({ groupId: `bench-${randomUUID()}` }),
    { topic, fromBeginning: true }, records.length, (value) => registry.decode(value));
  gate('kafkajs', seen, sum, records.length, want);
  await admin.deleteTopics({ topics: [topic] });
  return { prod, cons };
}

// @confluentinc/kafka-javascript's KafkaJS-compatible API (librdkafka underneath): acks, idempotence
// and compression go in the producer's kafkaJS block, librdkafka properties beside it
const ck = new CK.Kafka({ kafkaJS: { clientId: 'kpipe-bench', brokers: BOOT.split(','), logLevel: CK.logLevel.NOTHING } });
const srClient = new SchemaRegistryClient({ baseURLs: [REG] });
async function runConfluent(records, want) {
  const topic = await freshTopic();
  // registered first; the serializer then looks the latest version up once (cached) and the
  // deserializer the writer's id once (cached), before the clock starts
  await srClient.register(`${topic}-value`, { schemaType: 'AVRO', schema: SCHEMA });
  const ser = new AvroSerializer(srClient, SerdeType.VALUE, { useLatestVersion: true });
  const de = new AvroDeserializer(srClient, SerdeType.VALUE, {});
  if (records.length) await de.deserialize(topic, await ser.serialize(topic, records[0]));
  const producer = ck.producer({
    kafkaJS: { acks: -1, idempotent: true, compression: CK.CompressionTypes.None },
    'linger.ms': LINGER,
  });
  await producer.connect();
  const t0 = Date.now(), c0 = process.cpuUsage();
  // the client's docs' faster pattern: sends not awaited one by one (only the messages of one
  // send can share a batch when each is awaited), at most WINDOW chunks in flight so librdkafka's
  // queue (queue.buffering.max.messages, 100k) never fills
  const CH = 1000, WINDOW = 32;
  const inflight = [];
  for (let i = 0; i < records.length; i += CH) {
    const messages = await Promise.all(records.slice(i, i + CH).map(async (r) => ({ key: r.order_id, value: await ser.serialize(topic, r) })));
    inflight.push(producer.send({ topic, messages }));
    if (inflight.length >= WINDOW) await inflight.shift();
  }
  await Promise.all(inflight);
  const prod = stats(t0, c0);
  await producer.disconnect();
  const { cons, seen, sum } = await consumeAll(ck.consumer({ kafkaJS: { groupId: `bench-${randomUUID()}`, fromBeginning: true } }),
    { topic }, records.length, (value) => de.deserialize(topic, value));
  gate('confluent', seen, sum, records.length, want);
  await admin.deleteTopics({ topics: [topic] });
  return { prod, cons };
}

const pkgVersion = (name) => {
  try { return JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), 'utf8')).version; } catch { return '?'; }
};
const kpipeRdkafka = (() => {
  try { return readFileSync(`${ROOT}Cargo.lock`, 'utf8').match(/name = "rdkafka-sys"\nversion = "[^+"]*\+([^"]+)"/)[1]; } catch { return '?'; }
})();

const raw = lines(N).map((l) => JSON.parse(l));
const want = raw.reduce((s, o) => s + o.mileage_km, 0);
// both other clients' serdes are avsc with the same natives: one converted copy serves both
const kp = raw.map(toKpipe), kj = raw.map(toAvsc);
const CASES = { kafkajs: runKafkajs, confluent: runConfluent };
const warm = Math.min(WARMUP, N);
const wantWarm = raw.slice(0, warm).reduce((s, o) => s + o.mileage_km, 0);
await runKpipe(kp.slice(0, warm), wantWarm);
for (const p of PAIRS) await CASES[p](kj.slice(0, warm), wantWarm);

const names = {
  kafkajs: `kafkajs ${pkgVersion('kafkajs')} + @kafkajs/confluent-schema-registry ${pkgVersion('@kafkajs/confluent-schema-registry')}`,
  confluent: `@confluentinc/kafka-javascript ${pkgVersion('@confluentinc/kafka-javascript')} (librdkafka ${ckjs.librdkafkaVersion}) + @confluentinc/schemaregistry ${pkgVersion('@confluentinc/schemaregistry')} (avsc ${pkgVersion('avsc')})`,
};
console.log(`node ${process.version}, N=${N}, reps=${REPS}, linger.ms=${LINGER}, pinned: ${process.env.KPIPE_BENCH_PINNED ?? 'no'}; ` +
  `kpipe ${pkgVersion('@kpipe-dev/kpipe')} (librdkafka ${kpipeRdkafka}) vs ${PAIRS.map((p) => names[p]).join(' and vs ')}`);
const ratios = Object.fromEntries(PAIRS.map((p) => [p, { produce: [], consume: [] }]));
for (let r = 0; r < REPS; r++) {
  const res = [['kpipe', await runKpipe(kp, want)]];
  for (const p of PAIRS) res.push([p, await CASES[p](kj, want)]);
  for (const [name, x] of res) {
    const line = { client: name, rep: r, n: N, linger_ms: LINGER,
      produce_rps: Math.round(N / x.prod.wall), consume_rps: Math.round(N / x.cons.wall),
      produce_cpu_s_per_1m: +(x.prod.cpu * 1e6 / N).toFixed(2), consume_cpu_s_per_1m: +(x.cons.cpu * 1e6 / N).toFixed(2),
      max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
    console.log(`JSON ${JSON.stringify(line)}`);
  }
  const a = res[0][1];
  for (const [name, b] of res.slice(1)) {
    ratios[name].produce.push(b.prod.wall / a.prod.wall);
    ratios[name].consume.push(b.cons.wall / a.cons.wall);
  }
}
// a ratio is the other client's wall time over kpipe's: above 1, kpipe is faster
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const p of PAIRS) {
  for (const k of ['produce', 'consume']) {
    const xs = ratios[p][k];
    console.log(`${k}: kpipe / ${p} = ${med(xs).toFixed(2)}x (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`);
  }
}
await admin.disconnect();
await kpipeClient.close();
