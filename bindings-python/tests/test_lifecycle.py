"""close, exit and closed handles: client.close() closes (and wakes) everything it created,
every call on a closed handle raises ClosedError, accepted sends are delivered (by close, or
at interpreter exit), and odd values get clear errors."""
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import kpipe
from conftest import base_config, consume, unique

HERE = os.path.dirname(os.path.abspath(__file__))


def test_client_close_wakes_a_blocked_poll_and_run(config, topic):
    client = kpipe.Client.from_dict(config)
    polled = client.consumer(group=unique("py.close"), topics=[topic], start="latest")
    ran = client.consumer(group=unique("py.close"), topics=[topic], start="latest")
    out = {}

    def poll():
        try:
            out["poll"] = polled.poll()  # no timeout: only close ends it
        except kpipe.KpipeError as e:
            out["poll"] = e

    def run():
        try:
            out["run"] = ran.run(lambda m: None)
        except kpipe.KpipeError as e:
            out["run"] = e

    threads = [threading.Thread(target=poll, daemon=True), threading.Thread(target=run, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    t0 = time.monotonic()
    client.close()
    for t in threads:
        t.join(10)
        assert not t.is_alive(), "still blocked 10 s after client.close()"
    assert time.monotonic() - t0 < 10
    assert isinstance(out["poll"], kpipe.ClosedError), out
    assert out["run"] is None, out  # closed while running: run returns, like after stop()


def test_every_call_on_a_closed_client_raises_closed(config, topic):
    client = kpipe.Client.from_dict(config)
    producer = client.producer()
    consumer = client.consumer(group=unique("py.closed"), topics=[topic], start="latest")
    client.close()
    client.close()  # idempotent
    calls = {
        "producer()": lambda: client.producer(),
        "consumer()": lambda: client.consumer(group="g", topics=[topic]),
        "admin": lambda: client.admin,
        "flush": lambda: client.flush(1.0),
        "set_serializer": lambda: client.set_serializer(topic, value="string"),
        "send": lambda: producer.send(topic, b"x"),
        "send_many": lambda: producer.send_many(topic, [b"x"]),
        "consumer.poll": lambda: consumer.poll(0.1),
        "iteration": lambda: next(iter(consumer)),
        "consumer.run": lambda: consumer.run(lambda m: None),
        "consumer.commit": lambda: consumer.commit(),
    }
    for name, call in calls.items():
        with pytest.raises(kpipe.ClosedError):
            call()
            pytest.fail(f"{name} did not raise")

    async def send_async():
        return producer.send_async(topic, b"x")
    with pytest.raises(kpipe.ClosedError):
        asyncio.run(send_async())
    consumer.close()  # closing again is fine


def test_close_delivers_pending_send_async(config, topic):
    client = kpipe.Client.from_dict(config)
    p = client.producer()
    n = 500

    async def main():
        futs = [p.send_async(topic, f"r{i}".encode()) for i in range(n)]
        client.close()  # documented to flush: every accepted record is delivered
        return await asyncio.gather(*futs, return_exceptions=True)

    results = asyncio.run(main())
    failed = [r for r in results if not isinstance(r, kpipe.RecordMetadata)]
    assert not failed, f"{len(failed)} of {n} failed, e.g. {failed[0]!r}"
    with kpipe.Client.from_dict(config) as c2:
        assert len(consume(c2, topic, n)) == n


def test_un_awaited_send_async_land_at_interpreter_exit(config, topic):
    n = 5000
    script = f"""
import asyncio, json, sys
import kpipe
client = kpipe.Client.from_dict(json.loads(sys.argv[1]))
p = client.producer()
async def main():
    for i in range({n}):
        p.send_async({topic!r}, b"r%d" % i)   # never awaited
asyncio.run(main())
"""
    r = subprocess.run([sys.executable, "-c", script, json.dumps(config)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "not delivered" not in r.stderr, r.stderr
    with kpipe.Client.from_dict(config) as c:
        assert len(consume(c, topic, n, timeout=60)) == n


def test_a_lone_surrogate_names_the_field(client, topic):
    schema = {"type": "record", "name": "T", "fields": [{"name": "name", "type": "string"}]}
    client.set_serializer(topic, value="avro", schema=schema)
    with pytest.raises(kpipe.SerializationError) as e:
        client.producer().send(topic, {"name": "ab\ud800"})
    assert e.value.code == "serde.encode"
    assert e.value.message.startswith("T.name: expected string, got string that is not valid UTF-8"), e.value.message


def test_a_naive_datetime_is_taken_as_utc():
    s = kpipe.Schema({"type": "long", "logicalType": "timestamp-millis"})
    naive = dt.datetime(2026, 3, 1, 12, 30, 0, 250000)
    aware = naive.replace(tzinfo=dt.timezone.utc)
    assert s.encode(naive) == s.encode(aware)
