#!/usr/bin/env python3
"""kpipe (Python) vs confluent-kafka + AvroSerializer/AvroDeserializer, per BENCH-PROTOCOL.md.

    set -a; eval "$(dev/stack env)"; set +a
    .venv/bin/python bench/python/bench.py                  # N=1M, 5 repetitions
    .venv/bin/python bench/python/bench.py -n 200000 -r 3   # smaller, on a shared machine

In one run, on the business cluster, alternating kpipe and confluent-kafka (K C K C ...): each
case gets a fresh 6-partition topic (RF 1, acks=all, idempotence, no compression), produces N
Order records (../shared/bench/gen_order.py, converted to native Python values — UUID,
Decimal, aware datetime — before the clock starts) with a string key, then a fresh group
consumes and decodes all N. Prints records/s, client CPU seconds per 1M records (getrusage of
this process: librdkafka's threads included), peak RSS, the per-repetition ratios (median, min,
max), and a no-broker serde reference (kpipe.Schema vs fastavro). A correctness gate (count,
unique (partition, offset), checksum of decoded fields) voids a fast but wrong run: the script
then exits 1. JSON lines of every measurement go to stdout with the prefix `JSON `.
"""
import argparse
import datetime as dt
import decimal
import gc
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "bench"))
SCHEMA_PATH = os.path.join(SHARED, "order.avsc")
if not os.path.exists(SCHEMA_PATH):  # the copy in the repository
    SCHEMA_PATH = os.path.join(ROOT, "examples", "order.avsc")
GEN = os.path.join(SHARED, "gen_order.py")
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def env(name):
    v = os.environ.get(name)
    if not v:
        sys.exit(f"{name} is not set: run `set -a; eval \"$(dev/stack env)\"; set +a` first")
    return v


def native(o):
    """Natural JSON Order -> the Python values an application holds."""
    o = dict(o)
    o["order_id"] = uuid.UUID(o["order_id"])
    o["amount"] = decimal.Decimal(o["amount"])
    o["created_at"] = EPOCH + dt.timedelta(milliseconds=o["created_at"])
    return o


def load(n):
    if os.path.exists(GEN):
        out = subprocess.run([sys.executable, GEN, str(n), "42"], check=True, capture_output=True, text=True).stdout
        rows = [json.loads(line) for line in out.splitlines()]
    else:
        sys.exit(f"{GEN} not found (the shared bench folder)")
    return [native(r) for r in rows]


def fold(acc, v):
    """Adds one decoded Order to the running checksum: every logical type (uuid, decimal,
    timestamp) and the nested array count, cheap enough not to dominate the timed loop."""
    acc[0] += v["customer_id"] + v["mileage_km"] + len(v["items"])
    acc[1] += v["amount"]
    acc[2] ^= v["order_id"].int
    acc[3] = max(acc[3], v["created_at"])


def checksum(records):
    acc = [0, decimal.Decimal(0), 0, EPOCH]
    for r in records:
        fold(acc, r)
    return acc


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Gate:
    def __init__(self, n, expected):
        self.n, self.expected = n, expected
        self.seen = set()
        self.acc = [0, decimal.Decimal(0), 0, EPOCH]

    def add(self, partition, offset, value):
        self.seen.add((partition, offset))
        fold(self.acc, value)

    def check(self, name):
        problems = []
        if len(self.seen) != self.n:
            problems.append(f"{len(self.seen)} unique (partition, offset), expected {self.n}")
        if self.acc != self.expected:
            problems.append(f"checksum {self.acc} != {self.expected}")
        if problems:
            print(f"GATE FAILED {name}: " + "; ".join(problems), flush=True)
            return False
        return True


# ---- topics -----------------------------------------------------------------------------------

def admin():
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": env("KPIPE_BUSINESS_BOOTSTRAP")})


def fresh_topic(adm, name):
    from confluent_kafka.admin import NewTopic
    fs = adm.create_topics([NewTopic(name, num_partitions=6, replication_factor=1)])
    for f in fs.values():
        f.result(30)
    # wait until the metadata shows all partitions
    for _ in range(100):
        md = adm.list_topics(name, timeout=5)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == 6:
            return
        time.sleep(0.1)


def drop_topic(adm, name):
    try:
        for f in adm.delete_topics([name]).values():
            f.result(30)
    except Exception:  # noqa: BLE001 - best effort cleanup
        pass


# ---- kpipe ------------------------------------------------------------------------------------

def kpipe_client(schema_text, linger):
    import kpipe
    client = kpipe.Client.from_dict({
        "clusters": {"business": {"bootstrap": env("KPIPE_BUSINESS_BOOTSTRAP")}},
        "registry": {"url": env("KPIPE_REGISTRY_URL")},
        "routes": [{"topic": "*", "cluster": "business"}],
        "producer": {"acks": "all", "idempotence": True, "linger_ms": linger},
    })
    return client


def kpipe_produce(client, topic, schema_text, records, keys, chunk=50_000):
    # Blocking send_many calls of 50k: each ends by waiting out linger.ms for its last batch
    # (visible at linger.ms 50); one call for all 1M costs more in result objects and GC.
    client.set_serializer(topic, key="string", value="avro", schema=schema_text)
    p = client.producer()
    ok = 0
    for i in range(0, len(records), chunk):
        for r in p.send_many(topic, records[i:i + chunk], keys=keys[i:i + chunk]):
            if type(r).__name__ == "RecordMetadata":
                ok += 1
            else:
                raise r
    return ok


def kpipe_consume(client, topic, schema_text, n, gate):
    client.set_serializer(topic, key="string", value="avro", schema=schema_text)
    count = 0
    with client.consumer(group=f"bench-{uuid.uuid4().hex}", topics=[topic], start="earliest") as c:
        for msg in c:
            v = msg.value
            gate.add(msg.partition, msg.offset, v)
            count += 1
            if count >= n:
                break
    return count


# ---- confluent-kafka --------------------------------------------------------------------------

def confluent_serde(schema_text):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    sr = SchemaRegistryClient({"url": env("KPIPE_REGISTRY_URL"), "timeout": 10})
    return AvroSerializer(sr, schema_text), AvroDeserializer(sr)


def confluent_produce(topic, ser, records, keys, linger):
    from confluent_kafka import Producer
    from confluent_kafka.serialization import MessageField, SerializationContext
    p = Producer({"bootstrap.servers": env("KPIPE_BUSINESS_BOOTSTRAP"), "acks": "all",
                  "enable.idempotence": True, "linger.ms": linger})
    ctx = SerializationContext(topic, MessageField.VALUE)
    done = [0, 0]

    def cb(err, _msg):
        done[1 if err else 0] += 1

    for i, r in enumerate(records):
        payload = ser(r, ctx)
        while True:
            try:
                p.produce(topic, key=keys[i].encode(), value=payload, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    p.flush(120)
    if done[1]:
        raise RuntimeError(f"confluent-kafka: {done[1]} deliveries failed")
    return done[0]


def confluent_consume(topic, de, n, gate):
    from confluent_kafka import Consumer
    from confluent_kafka.serialization import MessageField, SerializationContext
    c = Consumer({"bootstrap.servers": env("KPIPE_BUSINESS_BOOTSTRAP"), "group.id": f"bench-{uuid.uuid4().hex}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": True})
    c.subscribe([topic])
    ctx = SerializationContext(topic, MessageField.VALUE)
    count = 0
    try:
        while count < n:
            for m in c.consume(500, 1.0):
                if m.error():
                    continue
                v = de(m.value(), ctx)
                gate.add(m.partition(), m.offset(), v)
                count += 1
    finally:
        c.close()
    return count


# ---- serde reference --------------------------------------------------------------------------

def serde_reference(schema_text, records):
    import fastavro
    import kpipe
    parsed = fastavro.parse_schema(json.loads(schema_text))
    ks = kpipe.Schema(schema_text)
    out = {}
    t = time.perf_counter()
    bodies = [ks.encode(r) for r in records]
    out["kpipe_encode"] = len(records) / (time.perf_counter() - t)
    t = time.perf_counter()
    for b in bodies:
        ks.decode(b)
    out["kpipe_decode"] = len(records) / (time.perf_counter() - t)
    t = time.perf_counter()
    fb = []
    for r in records:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, r)
        fb.append(buf.getvalue())
    out["fastavro_encode"] = len(records) / (time.perf_counter() - t)
    t = time.perf_counter()
    for b in fb:
        fastavro.schemaless_reader(io.BytesIO(b), parsed)
    out["fastavro_decode"] = len(records) / (time.perf_counter() - t)
    out["same_bytes"] = sum(1 for a, b in zip(bodies, fb) if a == b) / len(records)
    return out


def measure(fn):
    c0, t0 = cpu(), time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t0, cpu() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="records per case (default 1M)")
    ap.add_argument("-r", "--reps", type=int, default=5, help="repetitions (default 5)")
    ap.add_argument("--warmup", type=int, default=50_000, help="records of the discarded warm-up")
    ap.add_argument("--linger", type=int, default=5, help="linger.ms for both producers")
    args = ap.parse_args()
    schema_text = open(SCHEMA_PATH).read()
    import confluent_kafka
    import fastavro
    import kpipe
    print(f"# kpipe {kpipe.__version__}, confluent-kafka {confluent_kafka.version()[0]} "
          f"(librdkafka {confluent_kafka.libversion()[0]}), fastavro {fastavro.__version__}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"pinning: {os.environ.get('KPIPE_BENCH_PINNED', 'none (run through bench/pin for it)')}", flush=True)
    print(f"# generating {args.n} orders ...", flush=True)
    records = load(max(args.n, args.warmup))
    keys = [str(r["order_id"]) for r in records]
    expected = checksum(records[:args.n])
    # The input records are long-lived: keep the cyclic GC from rescanning them in every full
    # collection (the same for both clients).
    gc.collect()
    gc.freeze()
    adm = admin()
    run_id = uuid.uuid4().hex[:8]
    client = kpipe_client(schema_text, args.linger)
    ser, de = confluent_serde(schema_text)

    # warm-up (discarded): registers the schema, caches ids, starts connections
    for name in ("kpipe", "confluent"):
        t = f"bench.py.{run_id}.warm.{name}"
        fresh_topic(adm, t)
        w = args.warmup
        if name == "kpipe":
            kpipe_produce(client, t, schema_text, records[:w], keys[:w])
            kpipe_consume(client, t, schema_text, w, Gate(w, None))
        else:
            confluent_produce(t, ser, records[:w], keys[:w], args.linger)
            confluent_consume(t, de, w, Gate(w, None))
        drop_topic(adm, t)

    rows = {"kpipe": [], "confluent": []}
    ok = True
    n = args.n
    for rep in range(args.reps):
        for name in ("kpipe", "confluent"):
            topic = f"bench.py.{run_id}.{rep}.{name}"
            fresh_topic(adm, topic)
            gate = Gate(n, expected)
            if name == "kpipe":
                pn, pt, pc = measure(lambda: kpipe_produce(client, topic, schema_text, records[:n], keys[:n]))
                cn, ct, cc = measure(lambda: kpipe_consume(client, topic, schema_text, n, gate))
            else:
                pn, pt, pc = measure(lambda: confluent_produce(topic, ser, records[:n], keys[:n], args.linger))
                cn, ct, cc = measure(lambda: confluent_consume(topic, de, n, gate))
            good = pn == n and cn == n and gate.check(f"{name} rep {rep}")
            ok &= good
            row = {"client": name, "rep": rep, "n": n, "linger_ms": args.linger,
                   "produce_rps": pn / pt, "consume_rps": cn / ct,
                   "produce_cpu_s_per_1m": pc * 1e6 / n, "consume_cpu_s_per_1m": cc * 1e6 / n,
                   "peak_rss_mb": peak_rss_mb(), "gate": good}
            rows[name].append(row)
            print("JSON " + json.dumps(row), flush=True)
            print(f"{name:9} rep {rep}: produce {row['produce_rps']:>9,.0f} rec/s ({row['produce_cpu_s_per_1m']:.1f} CPU-s/1M)"
                  f"  consume {row['consume_rps']:>9,.0f} rec/s ({row['consume_cpu_s_per_1m']:.1f} CPU-s/1M)"
                  f"  gate {'ok' if good else 'FAILED'}", flush=True)
            drop_topic(adm, topic)

    ref = serde_reference(schema_text, records[:min(n, 50_000)])
    print("JSON " + json.dumps({"serde_reference": ref}), flush=True)

    print(f"\n## Python: kpipe vs confluent-kafka + AvroSerializer/AvroDeserializer (N={n}, {args.reps} reps, linger.ms {args.linger})")
    print("| figure | kpipe | confluent-kafka | ratio median (min-max) | target |")
    print("|---|---|---|---|---|")
    for fig, target in (("produce_rps", 3), ("consume_rps", 5)):
        ratios = [k[fig] / c[fig] for k, c in zip(rows["kpipe"], rows["confluent"])]
        km = statistics.median(r[fig] for r in rows["kpipe"])
        cm = statistics.median(r[fig] for r in rows["confluent"])
        print(f"| {fig.replace('_rps', ' records/s')} | {km:,.0f} | {cm:,.0f} | {statistics.median(ratios):.2f}x "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | >= {target}x |")
    for fig in ("produce_cpu_s_per_1m", "consume_cpu_s_per_1m"):
        km = statistics.median(r[fig] for r in rows["kpipe"])
        cm = statistics.median(r[fig] for r in rows["confluent"])
        print(f"| {fig.replace('_cpu_s_per_1m', ' CPU-s per 1M')} | {km:.1f} | {cm:.1f} | {cm / km:.2f}x less | |")
    print(f"| serde only, encode/s | {ref['kpipe_encode']:,.0f} (kpipe.Schema) | {ref['fastavro_encode']:,.0f} (fastavro) | "
          f"{ref['kpipe_encode'] / ref['fastavro_encode']:.2f}x | |")
    print(f"| serde only, decode/s | {ref['kpipe_decode']:,.0f} (kpipe.Schema) | {ref['fastavro_decode']:,.0f} (fastavro) | "
          f"{ref['kpipe_decode'] / ref['fastavro_decode']:.2f}x | |")
    print(f"\ncorrectness gate: {'passed' if ok else 'FAILED (run void)'}")
    client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
