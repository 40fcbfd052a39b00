#!/usr/bin/env python3
"""Demo consumer: reads Order records (Avro through the registry) from a topic routed by
kpipe.yaml and prints them decoded; with --run-id only that run's records (header
`kpipe.demo.run`), stopping after --count of them.

    set -a; eval "$(dev/stack env)"; set +a
    .venv/bin/python examples/python/consumer.py kpipe.yaml --topic orders.demo.py --run-id r1 --count 5

Output: `read run=r1 seq=0 order_id=... amount=... <- online/orders.demo.py p0@12`, then
`done run=r1 read=5`. Exits 1 when fewer than --count arrive within --timeout seconds.
"""
import argparse
import os
import sys
import time
import uuid

import kpipe

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "order.avsc")


def main() -> int:
    ap = argparse.ArgumentParser(description="Read Order records with kpipe (Python).")
    ap.add_argument("config", nargs="?", default="kpipe.yaml")
    ap.add_argument("--topic", default="orders.demo.py")
    ap.add_argument("--run-id", default=None, help="only records of this run (header kpipe.demo.run)")
    ap.add_argument("--count", type=int, default=None, help="stop after this many records")
    ap.add_argument("--group", default=None, help="consumer group (default: a fresh one)")
    ap.add_argument("--start", default="earliest", help="committed | earliest | latest (default earliest)")
    ap.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    args = ap.parse_args()

    client = kpipe.Client.from_file(args.config)
    with open(SCHEMA) as f:
        client.set_serializer(args.topic, key="string", value="avro", schema=f.read())
    group = args.group or f"kpipe-demo-py-{uuid.uuid4().hex[:8]}"
    read = 0
    deadline = time.monotonic() + args.timeout
    try:
        with client.consumer(group=group, topics=[args.topic], start=args.start) as consumer:
            while time.monotonic() < deadline and (args.count is None or read < args.count):
                msg = consumer.poll(1.0)
                if msg is None:
                    continue
                run = (msg.header("kpipe.demo.run") or b"").decode()
                if args.run_id is not None and run != args.run_id:
                    continue
                v = msg.value
                seq = (msg.header("kpipe.demo.seq") or b"?").decode()
                print(f"read run={run} seq={seq} order_id={v['order_id']} amount={v['amount']} status={v['status']} "
                      f"city={v['city']} <- {client.cluster_for(msg.topic)}/{msg.topic} p{msg.partition}@{msg.offset}",
                      flush=True)
                read += 1
    except kpipe.KpipeError as e:
        print(f"error [{e.code}] {e.message}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"done run={args.run_id} read={read}", flush=True)
    return 0 if args.count is None or read >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
