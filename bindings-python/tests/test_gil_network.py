"""Every wait on the network releases the GIL (and answers Ctrl-C): with the registry
unreachable, other threads keep running while `send` or a lazy `msg.value` waits, and the call
ends with a RegistryError within the registry deadline."""
import threading
import time

import pytest

import kpipe
from conftest import base_config, closed_port, send_sigint_after, unique

SCHEMA = {"type": "record", "name": "G", "fields": [{"name": "n", "type": "long"}]}


def unreachable_registry():
    return {"url": f"http://127.0.0.1:{closed_port()}/apis/ccompat/v7", "timeout_ms": 500,
            "retry": {"deadline_ms": 3000}}


class Ticker:
    """Counts how often another Python thread got to run."""

    def __init__(self):
        self.ticks = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._spin, daemon=True)

    def _spin(self):
        while not self._stop.is_set():
            self.ticks += 1
            time.sleep(0.001)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join(5)


def test_send_with_the_registry_down_releases_the_gil(topic):
    with kpipe.Client.from_dict(base_config(registry=unreachable_registry())) as c:
        c.set_serializer(topic, value="avro", schema=SCHEMA)
        p = c.producer()
        with Ticker() as t:
            t0 = time.monotonic()
            with pytest.raises(kpipe.RegistryError) as e:
                p.send(topic, {"n": 1})
            took = time.monotonic() - t0
        assert e.value.code == "registry.unavailable"
        assert took < 15, took
        assert t.ticks > 200, f"another thread ran only {t.ticks} times in {took:.1f} s"


def test_lazy_value_decoding_with_the_registry_down_releases_the_gil(config, topic):
    with kpipe.Client.from_dict(config) as good:
        good.set_serializer(topic, value="avro", schema=SCHEMA)
        good.producer().send(topic, {"n": 7})
    with kpipe.Client.from_dict(base_config(registry=unreachable_registry())) as c:
        c.set_serializer(topic, value="avro")  # the writer schema comes by id from the registry
        msg = None
        with c.consumer(group=unique("py.gil.value"), topics=[topic], start="earliest") as con:
            deadline = time.monotonic() + 30
            while msg is None and time.monotonic() < deadline:
                msg = con.poll(1.0)
            assert msg is not None
            with Ticker() as t:
                t0 = time.monotonic()
                with pytest.raises(kpipe.RegistryError):
                    msg.value
                took = time.monotonic() - t0
            assert took < 15, took
            assert t.ticks > 200, f"another thread ran only {t.ticks} times in {took:.1f} s"


def test_ctrl_c_interrupts_a_send_waiting_for_the_registry(topic, sigint_handler):
    with kpipe.Client.from_dict(base_config(registry=unreachable_registry())) as c:
        c.set_serializer(topic, value="avro", schema=SCHEMA)
        send_sigint_after(0.5)
        t0 = time.monotonic()
        # bounded: without the signal the call ends with RegistryError at the 3 s deadline
        with pytest.raises(KeyboardInterrupt):
            c.producer().send(topic, {"n": 1})
        assert time.monotonic() - t0 < 2.5
