'use strict';
// Exchange with the Python binding (built with `make python` into the repository's .venv):
// records produced from Node are read by Python with the same values and bytes, and the reverse.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { kpipe, ROOT, baseConfig, unique, ORDER_AVSC, orders, consume } = require('./helpers');

const PY = path.join(ROOT, '.venv', 'bin', 'python');
const T = { timeout: 120000 };

function python(script, args) {
  assert.ok(fs.existsSync(PY), `the Python binding is needed in .venv (make python): ${PY}`);
  const r = spawnSync(PY, ['-c', script, ...args], { encoding: 'utf8', timeout: 90000 });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  return r.stdout;
}

const PY_READ = `
import json, sys, kpipe
cfg, topic, n = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
client = kpipe.Client.from_dict(cfg)
client.set_serializer(topic, key="string", value="avro", schema=open(sys.argv[4]).read())
out = []
with client.consumer(group=sys.argv[5], topics=[topic], start="earliest") as c:
    while len(out) < n:
        m = c.poll(30.0)
        if m is None: break
        v = m.value
        out.append({"key": m.key, "raw": m.raw_value.hex(), "order_id": str(v["order_id"]), "amount": str(v["amount"]),
                    "customer_id": v["customer_id"], "created_ms": int(v["created_at"].timestamp() * 1000), "items": len(v["items"])})
client.close()
print(json.dumps(out))
`;

const PY_WRITE = `
import json, sys, kpipe, uuid, decimal, datetime
cfg, topic, src = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
client = kpipe.Client.from_dict(cfg)
client.set_serializer(topic, key="string", value="avro", schema=open(sys.argv[4]).read())
p = client.producer()
for line in open(src):
    o = json.loads(line)
    o["order_id"] = uuid.UUID(o["order_id"]); o["amount"] = decimal.Decimal(o["amount"])
    o["created_at"] = datetime.datetime.fromtimestamp(o["created_at"] / 1000, datetime.timezone.utc)
    p.send(topic, o, key="py-" + str(o["order_id"]))
client.close()
`;

test('Node-produced records read by Python', T, async () => {
  const topic = unique('orders.node2py');
  const client = kpipe.Client.fromObject(baseConfig());
  client.setSerializer(topic, { key: 'string', value: 'avro', schema: ORDER_AVSC });
  const sent = orders();
  try {
    await client.producer().sendMany(sent.map((o) => ({ topic, key: `node-${o.order_id}`, value: o })));
    const [mine] = await consume(client, topic, sent.length).then((ms) => [ms.map((m) => m.rawValue.toString('hex'))]);
    const got = JSON.parse(python(PY_READ, [JSON.stringify(baseConfig()), topic, String(sent.length), path.join(ROOT, 'examples', 'order.avsc'), unique('py.g')]));
    assert.equal(got.length, sent.length);
    got.forEach((g, i) => {
      assert.equal(g.key, `node-${sent[i].order_id}`);
      assert.equal(g.order_id, sent[i].order_id);
      assert.equal(g.amount, sent[i].amount);
      assert.equal(BigInt(g.customer_id), sent[i].customer_id);
      assert.equal(g.created_ms, sent[i].created_at.getTime());
      assert.equal(g.items, sent[i].items.length);
      assert.equal(g.raw, mine[i], 'the same bytes on both sides');
    });
  } finally {
    await client.close();
  }
});

test('Python-produced records read by Node', T, async () => {
  const topic = unique('orders.py2node');
  python(PY_WRITE, [JSON.stringify(baseConfig()), topic, path.join(ROOT, 'examples', 'orders.jsonl'), path.join(ROOT, 'examples', 'order.avsc')]);
  const client = kpipe.Client.fromObject(baseConfig());
  client.setSerializer(topic, { key: 'string', value: 'avro', schema: ORDER_AVSC });
  try {
    const want = orders();
    const got = await consume(client, topic, want.length);
    got.forEach((m, i) => {
      assert.equal(m.key, `py-${want[i].order_id}`);
      assert.deepEqual(m.value, want[i]);
    });
  } finally {
    await client.close();
  }
});
