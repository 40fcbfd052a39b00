"""GIL and signals: blocked calls release the GIL and Ctrl-C interrupts them; objects are
shared between threads."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import kpipe
from conftest import base_config, consume, send_sigint_after, unique

# A blocked call that misses its signal returns after this bound, which fails the test instead
# of hanging the run.
BOUND_S = 30


def test_ctrl_c_interrupts_a_blocked_poll(client, topic, sigint_handler):
    with client.consumer(group=unique("py.sig"), topics=[topic], start="latest") as c:
        send_sigint_after(0.5)
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            c.poll(BOUND_S)  # nothing arrives: only the signal ends it early
        assert time.monotonic() - t0 < 5


def test_ctrl_c_interrupts_run(client, topic, sigint_handler):
    with client.consumer(group=unique("py.sig.run"), topics=[topic], start="latest") as c:
        send_sigint_after(0.5)
        t0 = time.monotonic()
        # run() has no bound of its own: a missed signal is caught by the suite's per-test
        # limit (pytest-timeout), and test_sigint_from_outside_ends_a_blocked_process kills
        # its child at BOUND_S
        with pytest.raises(KeyboardInterrupt):
            c.run(lambda m: None)
        assert time.monotonic() - t0 < 5


# A service as it runs: its own process, Ctrl-C from outside while it is blocked.
CHILD = textwrap.dedent("""
    import json, signal, sys
    import kpipe
    signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever the parent ignored
    client = kpipe.Client.from_dict(json.loads(sys.argv[1]))
    with client.consumer(group=sys.argv[2], topics=[sys.argv[3]], start="latest") as c:
        print("ready", flush=True)
        try:
            if sys.argv[4] == "poll":
                c.poll()  # no timeout at all
            else:
                c.run(lambda m: None)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    print("returned without a signal", flush=True)
""")


@pytest.mark.parametrize("call", ["poll", "run"])
def test_sigint_from_outside_ends_a_blocked_process(topic, call):
    import json
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(base_config()),
                             unique("py.sig.ext"), topic, call],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # inside the blocking call by now
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the child did not answer SIGINT within {BOUND_S}s; stderr: {err[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out.strip()) == (130, "interrupted"), err[-2000:]
    assert time.monotonic() - t0 < 5


def test_poll_releases_the_gil(client, topic):
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    with client.consumer(group=unique("py.gil"), topics=[topic], start="latest") as c:
        assert c.poll(1.0) is None
    stop.set()
    t.join()
    assert len(ticks) > 100  # the other thread ran while poll waited


def test_one_producer_many_threads(client, topic):
    p = client.producer()
    errors = []

    def work(n):
        try:
            for i in range(25):
                p.send(topic, f"{n}-{i}".encode(), key=str(n))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = consume(client, topic, 100)
    assert sorted(m.value for m in got) == sorted(f"{n}-{i}".encode() for n in range(4) for i in range(25))


def test_consumer_commit_and_resume(client, topic):
    p = client.producer()
    p.send_many(topic, [b"a", b"b", b"c"])
    group = unique("py.resume")
    with client.consumer(group=group, topics=[topic], start="earliest", commit="manual") as c:
        m = c.poll(20)
        assert m.value == b"a"
        m2 = c.poll(20)
        assert m2.value == b"b"
        c.commit(m2)
    with client.consumer(group=group, topics=[topic]) as c:
        m = c.poll(20)
        assert m is not None and m.value == b"c"
