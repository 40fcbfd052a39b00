"""The Python agent of the exchange test (README.md here): produce and consume with the kpipe
Python binding, values as a Python user writes them (uuid.UUID, Decimal, aware datetime)."""
import json
import sys

import kpipe
from natural import native, natural  # beside this file


def produce(config, topic, orders_path, lang):
    client = kpipe.Client.from_file(config)
    p = client.producer()
    with open(orders_path) as f:
        orders = [json.loads(line) for line in f if line.strip()]
    for seq, order in enumerate(orders):
        headers = [("src", lang.encode()), ("seq", str(seq).encode()), ("empty", b""), ("none", None)]
        p.send(topic, native(order), key=order["order_id"], headers=headers, timestamp=order["created_at"])
    p.send(topic, None, key=f"tombstone-{lang}", headers=[("src", lang.encode()), ("seq", b"tombstone")])
    bad = native(orders[0])
    bad["mileage_km"] = "many"
    try:
        p.send(topic, bad, key=orders[0]["order_id"])
        print(json.dumps({"error": None}))
    except kpipe.KpipeError as e:
        print(json.dumps({"error": {"code": e.code, "message": str(e)}}))
    client.close()


def consume(config, topics, count, group):
    client = kpipe.Client.from_file(config)
    topics = topics.split(",")
    want = count * len(topics)
    with client.consumer(group=group, topics=topics, start="earliest", ack="explicit") as c:
        for n in range(want):
            m = c.poll(30.0)
            if m is None:
                sys.exit(f"python agent: nothing for 30 s after {n} of {want} records")
            raw = m.raw_value
            print(json.dumps({
                "topic": m.topic, "partition": m.partition, "offset": m.offset, "timestamp": m.timestamp,
                "key": m.key, "raw": None if raw is None else raw.hex(),
                "headers": [[k, None if v is None else v.hex()] for k, v in m.headers],
                "value": natural(m.value),
            }))
            c.ack(m)
    client.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "produce":
        produce(*args)
    elif mode == "consume":
        consume(args[0], args[1], int(args[2]), args[3])
    else:
        sys.exit(f"python agent: unknown mode {mode!r}")
