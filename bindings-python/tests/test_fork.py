"""fork: a forked child may always exit cleanly, a parent's handle used in the child raises
ForkError (`process.forked`), and a child creates and uses its own clients. Each scenario runs
in a subprocess with a timeout, so a hang fails the test instead of stalling the suite."""
import json
import subprocess
import sys
import textwrap

import kpipe
from conftest import base_config, consume, unique

PRELUDE = """
import json, os, sys, time
import kpipe
CONFIG = json.loads(sys.argv[1])
TOPIC = sys.argv[2]

def wait_child(pid, bound=30):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return "hung"
"""


def run(body, config, topic):
    script = PRELUDE + textwrap.dedent(body)
    r = subprocess.run([sys.executable, "-c", script, json.dumps(config), topic], capture_output=True,
                       text=True, timeout=120)
    assert "PanicException" not in r.stderr and "panicked" not in r.stderr, r.stderr
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def test_a_child_exits_cleanly_whatever_the_parent_holds(config, topic):
    out = run("""
        client = kpipe.Client.from_dict(CONFIG)
        client.producer().send(TOPIC, b"before fork")
        con = client.consumer(group="py.fork." + TOPIC, topics=[TOPIC], start="earliest")
        con.poll(5.0)
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # normal interpreter exit in the child: finalizers run
        print("child", wait_child(pid))
        pid = os.fork()
        if pid == 0:
            del con, client  # dropping the parent's handles in the child
            import gc; gc.collect()
            sys.exit(0)
        print("child", wait_child(pid))
        client.producer().send(TOPIC, b"parent still works")
        con.close(); client.close()
    """, config, topic)
    assert out.split() == ["child", "0", "child", "0"], out


def test_a_parents_handle_in_the_child_raises_forked_and_new_clients_work(config, topic):
    out = run("""
        client = kpipe.Client.from_dict(CONFIG)
        p = client.producer()
        p.send(TOPIC, b"parent")
        con = client.consumer(group="py.fork2." + TOPIC, topics=[TOPIC], start="earliest")
        msg = None
        deadline = time.monotonic() + 30
        while msg is None and time.monotonic() < deadline:
            msg = con.poll(1.0)
        pid = os.fork()
        if pid == 0:
            code = 0
            for name, call in [("send", lambda: p.send(TOPIC, b"from a parent handle")),
                               ("poll", lambda: con.poll(0.1)),
                               ("value", lambda: msg.value)]:
                try:
                    call()
                    code = code or 3
                except kpipe.ForkError as e:
                    code = code or (0 if e.code == "process.forked" else 4)
            if code == 0:
                with kpipe.Client.from_dict(CONFIG) as mine:
                    mine.producer().send(TOPIC, b"child")
            sys.exit(code)
        print("child", wait_child(pid))
        p.send(TOPIC, b"parent again")
        con.close()
        client.close()
    """, config, topic)
    assert out.split() == ["child", "0"], out
    with kpipe.Client.from_dict(config) as c:
        values = sorted(m.raw_value for m in consume(c, topic, 3))
    assert values == [b"child", b"parent", b"parent again"]


def test_multiprocessing_fork_workers_create_their_own_clients(config, topic):
    out = run("""
        import multiprocessing as mp
        worker_client = None

        def init():
            global worker_client
            worker_client = kpipe.Client.from_dict(CONFIG)  # the documented pattern

        def work(i):
            worker_client.producer().send(TOPIC, b"w%d" % i)
            return i

        if __name__ == "__main__":
            parent = kpipe.Client.from_dict(CONFIG)
            parent.producer().send(TOPIC, b"parent")  # the parent has a runtime and a producer
            ctx = mp.get_context("fork")
            with ctx.Pool(2, initializer=init) as pool:
                print(sorted(pool.map(work, range(6), chunksize=1)))
            parent.close()
    """, config, topic)
    assert out.strip() == "[0, 1, 2, 3, 4, 5]", out
    with kpipe.Client.from_dict(config) as c:
        assert len(consume(c, topic, 7)) == 7
