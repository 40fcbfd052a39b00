"""run(handler): the core's retry then dead-letter semantics, with kpipe.* headers."""
import threading
import time

import kpipe
from conftest import base_config, consume, unique


def test_retry_then_dlq_with_headers(order_schema, orders):
    cfg = base_config(consumer={"commit": "after-handle", "max_attempts": 3, "backoff_ms": 20, "dlq": "{topic}.dlq"})
    client = kpipe.Client.from_dict(cfg)
    topic = unique("py.run")
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)
    p = client.producer()
    for key in ("ok", "flaky", "poison", "last"):
        p.send(topic, orders[0], key=key, headers=[("trace", b"t-" + key.encode())])
    attempts = {}
    seen = []
    where = {}
    consumer = client.consumer(group=unique("py.run.g"), topics=[topic], start="earliest")

    def handler(msg):
        attempts[msg.key] = attempts.get(msg.key, 0) + 1
        where[msg.key] = (msg.partition, msg.offset)
        assert msg.value["order_id"] == orders[0]["order_id"]
        if msg.key == "flaky" and attempts["flaky"] < 2:
            raise RuntimeError("temporary")
        if msg.key == "poison":
            raise ValueError("cannot handle this one")
        seen.append(msg.key)
        if msg.key == "last":
            consumer.stop()

    t0 = time.monotonic()
    consumer.run(handler)
    consumer.close()
    assert time.monotonic() - t0 < 30
    assert seen == ["ok", "flaky", "last"]
    assert attempts == {"ok": 1, "flaky": 2, "poison": 3, "last": 1}

    client.set_serializer(topic + ".dlq", key="string", value="avro", schema=order_schema)
    (dead,) = consume(client, topic + ".dlq", 1)
    h = dict(dead.headers)
    assert h["kpipe.error.code"] == b"handler.failed"
    assert h["kpipe.error.message"] == b"handler failed: ValueError: cannot handle this one"
    assert h["kpipe.source.topic"] == topic.encode()
    assert (int(h["kpipe.source.partition"]), int(h["kpipe.source.offset"])) == where["poison"]
    assert h["kpipe.attempts"] == b"3"
    assert h["trace"] == b"t-poison"
    assert dead.key == "poison" and dead.value == orders[0]  # original bytes, same schema
    client.close()


def test_undecodable_record_goes_to_the_dlq(order_schema):
    cfg = base_config(consumer={"commit": "after-handle", "max_attempts": 2, "backoff_ms": 20, "dlq": "{topic}.dlq"})
    client = kpipe.Client.from_dict(cfg)
    topic = unique("py.run.bad")
    p = client.producer()
    p.send(topic, b"not avro at all", key=b"k")  # bytes, before the avro serializer is set
    client.set_serializer(topic, key="bytes", value="avro", schema=order_schema)
    consumer = client.consumer(group=unique("g"), topics=[topic], start="earliest")
    calls = []
    threading.Timer(3.0, consumer.stop).start()
    consumer.run(calls.append)
    consumer.close()
    assert calls == []
    client.set_serializer(topic + ".dlq", key="bytes", value="bytes")
    (dead,) = consume(client, topic + ".dlq", 1)
    h = dict(dead.headers)
    assert h["kpipe.error.code"] == b"serde.bad_magic"
    assert h["kpipe.attempts"] == b"0"
    assert dead.raw_value == b"not avro at all"
    client.close()


def test_commits_after_handling(client, topic):
    p = client.producer()
    for i in range(3):
        p.send(topic, f"v{i}".encode())
    group = unique("py.commit")
    c = client.consumer(group=group, topics=[topic], start="earliest")
    got = []

    def handler(msg):
        got.append(msg.value)
        if len(got) == 3:
            c.stop()

    c.run(handler)
    c.close()
    assert got == [b"v0", b"v1", b"v2"]
    exported = client.admin.export(group, topics=[topic])
    assert exported["offsets"] == [{"topic": topic, "partition": 0, "offset": 3}]


def test_run_after_poll_handles_the_prefetched_records(client, topic):
    client.producer().send_many(topic, [f"r{i}".encode() for i in range(5)])
    c = client.consumer(group=unique("py.mixed"), topics=[topic], start="earliest")
    first = c.poll(20)
    assert first.value == b"r0"
    got = []

    def handler(msg):
        got.append(msg.value)
        if len(got) == 4:
            c.stop()

    c.run(handler)
    c.close()
    assert got == [b"r1", b"r2", b"r3", b"r4"]
