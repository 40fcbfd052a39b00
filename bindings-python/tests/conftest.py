"""Shared fixtures for the kpipe Python tests. They run against the live local stack
(dev/stack): the addresses come from KPIPE_BUSINESS_BOOTSTRAP / KPIPE_ONLINE_BOOTSTRAP /
KPIPE_OFFLINE_BOOTSTRAP / KPIPE_REGISTRY_URL (`set -a; eval "$(dev/stack env)"; set +a`).
Missing variables stop the run with an error; nothing is skipped. Every test uses its own
topic and group names (a uuid suffix), since other people test against the same brokers."""
import json
import os
import signal
import threading
import socket
import uuid

import pytest

import kpipe

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
ENV = ("KPIPE_BUSINESS_BOOTSTRAP", "KPIPE_ONLINE_BOOTSTRAP", "KPIPE_OFFLINE_BOOTSTRAP", "KPIPE_REGISTRY_URL")
ORDER_AVSC = os.path.join(ROOT, "examples", "order.avsc")


def pytest_configure(config):
    missing = [v for v in ENV if not os.environ.get(v)]
    if missing:
        raise pytest.UsageError(
            f"kpipe Python tests need the local stack's addresses; missing {', '.join(missing)}. "
            'Run: set -a; eval "$(dev/stack env)"; set +a')


def base_config(**overrides):
    cfg = {
        "clusters": {
            "business": {"bootstrap": os.environ["KPIPE_BUSINESS_BOOTSTRAP"]},
            "online": {"bootstrap": os.environ["KPIPE_ONLINE_BOOTSTRAP"]},
            "offline": {"bootstrap": os.environ["KPIPE_OFFLINE_BOOTSTRAP"]},
        },
        "registry": {"url": os.environ["KPIPE_REGISTRY_URL"]},
        "routes": [
            {"topic": "orders.*", "cluster": "online"},
            {"topic": "lake.*", "cluster": "offline"},
            {"topic": "*", "cluster": "business"},
        ],
        "consumer": {"commit": "after-handle", "max_attempts": 3, "backoff_ms": 50, "dlq": "{topic}.dlq"},
    }
    cfg.update(overrides)
    return cfg


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def config():
    return base_config()


@pytest.fixture
def client(config):
    c = kpipe.Client.from_dict(config)
    yield c
    c.close()


@pytest.fixture
def topic():
    return unique("py.test")


@pytest.fixture(scope="session")
def order_schema():
    with open(ORDER_AVSC) as f:
        return f.read()


@pytest.fixture(scope="session")
def orders():
    """The two demo orders of examples/orders.jsonl as native Python values."""
    import datetime as dt
    import decimal
    out = []
    with open(os.path.join(ROOT, "examples", "orders.jsonl")) as f:
        for line in f:
            o = json.loads(line)
            o["order_id"] = uuid.UUID(o["order_id"])
            o["amount"] = decimal.Decimal(o["amount"])
            ca = o["created_at"]
            o["created_at"] = (dt.datetime.fromisoformat(ca.replace("Z", "+00:00")) if isinstance(ca, str)
                               else dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ca))
            out.append(o)
    return out


def consume(client, topic, n, timeout=30.0, group=None, start="earliest"):
    """Reads n records of `topic` with a fresh group; fails when they do not come."""
    got = []
    with client.consumer(group=group or unique("py.group"), topics=[topic], start=start) as c:
        import time
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is not None:
                m.key, m.value  # decode while the consumer is open (cached on the message)
                got.append(m)
    assert len(got) == n, f"read {len(got)} of {n} records of {topic}"
    return got


@pytest.fixture
def sigint_handler():
    """Python's own Ctrl-C handler, whatever the process started with: a background job of a
    non-interactive shell starts with SIGINT ignored, and Python then installs no handler, so a
    signal would be dropped and the test would wait for nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def send_sigint_after(delay):
    """A real SIGINT to this process, as Ctrl-C or `kill -INT` delivers it."""
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer
