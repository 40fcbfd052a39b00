#!/usr/bin/env python3
"""Demo producer (Python side of the cross-language demo): sends N Order records
(examples/order.avsc) as registry-aware Avro to a topic routed by kpipe.yaml, one line per
record. Each record carries the run id in the header `kpipe.demo.run` and in
`attributes["run_id"]`, so a consumer in any language can select exactly this run's records.

    set -a; eval "$(dev/stack env)"; set +a
    .venv/bin/python examples/python/producer.py kpipe.yaml --topic orders.demo.py --count 5 --run-id r1

Output: `sent run=r1 seq=0 order_id=... amount=... -> online/orders.demo.py p0@12`, then
`done run=r1 sent=5 topic=orders.demo.py cluster=online`.
"""
import argparse
import datetime as dt
import decimal
import os
import random
import sys
import uuid

import kpipe

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "order.avsc")
CITIES = ["Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Chengdu", "Hangzhou", "Wuhan", "Xi'an"]
STATUSES = ["CREATED", "PAID", "SHIPPED", "CANCELLED"]


def order(rng: random.Random, run_id: str, seq: int) -> dict:
    """One Order as native Python values (UUID, Decimal, aware datetime)."""
    return {
        "order_id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "customer_id": rng.randrange(1, 10**9),
        "created_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
        "status": rng.choice(STATUSES),
        "amount": (decimal.Decimal(rng.randrange(100, 10**9)) / 100).quantize(decimal.Decimal("0.01")),
        "currency": "CNY",
        "city": rng.choice(CITIES),
        "vehicle_vin": None if rng.random() < 0.3 else "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(17)),
        "mileage_km": rng.randrange(0, 300_000),
        "price_score": rng.random(),
        "items": [{"sku": f"SKU-{rng.randrange(10**6):06d}", "qty": rng.randrange(1, 5), "unit_price": round(rng.uniform(5, 5000), 2)}
                  for _ in range(rng.randrange(1, 4))],
        "attributes": {"channel": rng.choice(["app", "web", "store"]), "run_id": run_id, "seq": str(seq)},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description="Send Order records with kpipe (Python).")
    ap.add_argument("config", nargs="?", default="kpipe.yaml", help="kpipe.yaml (default: ./kpipe.yaml)")
    ap.add_argument("--topic", default="orders.demo.py", help="topic (routed by kpipe.yaml; default orders.demo.py)")
    ap.add_argument("--count", type=int, default=5, help="records to send (default 5)")
    ap.add_argument("--run-id", default=uuid.uuid4().hex[:8], help="marks this run's records (default: random)")
    ap.add_argument("--seed", type=int, default=None, help="random seed for the orders")
    ap.add_argument("--schema", default=SCHEMA, help="writer schema (default: examples/order.avsc)")
    ap.add_argument("--coupon", default=None, help="set the `coupon` field (a schema that has one)")
    args = ap.parse_args()

    client = kpipe.Client.from_file(args.config)
    with open(args.schema) as f:
        client.set_serializer(args.topic, key="string", value="avro", schema=f.read())
    rng = random.Random(args.seed)
    cluster = client.cluster_for(args.topic)
    try:
        with client.producer() as producer:
            for seq in range(args.count):
                o = order(rng, args.run_id, seq)
                if args.coupon is not None:
                    o["coupon"] = args.coupon
                meta = producer.send(args.topic, o, key=str(o["order_id"]),
                                     headers={"kpipe.demo.run": args.run_id, "kpipe.demo.seq": str(seq)})
                print(f"sent run={args.run_id} seq={seq} order_id={o['order_id']} amount={o['amount']} "
                      f"status={o['status']} -> {meta.cluster}/{meta.topic} p{meta.partition}@{meta.offset}", flush=True)
    except kpipe.KpipeError as e:
        print(f"error [{e.code}] {e.message}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"done run={args.run_id} sent={args.count} topic={args.topic} cluster={cluster}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
