"""GIL and signals: blocked calls release the GIL and Ctrl-C interrupts them; objects are
shared between threads."""
import _thread
import threading
import time

import pytest

import kpipe
from conftest import consume, unique


def test_ctrl_c_interrupts_a_blocked_poll(client, topic):
    with client.consumer(group=unique("py.sig"), topics=[topic], start="latest") as c:
        timer = threading.Timer(0.5, _thread.interrupt_main)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            c.poll()  # no timeout: only the signal ends it
        assert time.monotonic() - t0 < 5


def test_ctrl_c_interrupts_run(client, topic):
    with client.consumer(group=unique("py.sig.run"), topics=[topic], start="latest") as c:
        threading.Timer(0.5, _thread.interrupt_main).start()
        with pytest.raises(KeyboardInterrupt):
            c.run(lambda m: None)


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
