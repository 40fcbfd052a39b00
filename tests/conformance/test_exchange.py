"""Produce in one language, consume in every other (exchange/README.md): the Rust, Python, Go,
Node and PHP agents each write the same orders, a tombstone and a bad record to a topic of
their own, and so do three clients no one here wrote (confluent-kafka for Python, Go and
JavaScript with their registry Avro serdes, exchange/foreign/); each kpipe agent then reads
every topic, and each foreign agent reads the five kpipe topics. Every producer x consumer cell
checks byte-identical Avro bodies, identical decoded values, keys, headers (empty and null kept
apart), timestamps and the tombstone; the bad record gives the same error in every binding. The
matrix is printed at the end of the run (conftest.py). Needs the local stack (dev/stack env),
every binding built (make build python go-lib node php) and the foreign clients installed
(make interop-deps)."""
import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
XCHG = os.path.join(HERE, "exchange")
FOREIGN_DIR = os.path.join(XCHG, "foreign")
SCHEMA = os.path.join(HERE, "schemas", "order.avsc")
ORDERS = os.path.join(HERE, "orders.jsonl")
LANGS = ["rust", "python", "go", "node", "php"]
# clients no one here wrote (exchange/foreign/): they produce for every kpipe consumer and
# consume what every kpipe producer wrote
FOREIGN = ["confluent-python", "confluent-go", "confluent-js"]
PRODUCERS = LANGS + FOREIGN
# foreign writers whose Avro bodies differ from kpipe's while meaning the same (their cells
# compare decoded values): hamba/avro (confluent-go's avrov2) writes every array and map block
# as a negative count plus the block's byte size, and Go maps in random order; both are valid
# Avro, and avrov2 exposes no option to change them
OTHER_BODIES = {"confluent-go"}
# foreign readers that cannot tell a header with no value from an empty one: kafka-javascript
# hands both out as an empty Buffer (it writes one right only by an undocumented detail,
# exchange/foreign/js/agent.mjs)
NULL_HEADER_READ_AS_EMPTY = {"confluent-js"}
AGENT_TIMEOUT_S = 240
# the module's fixture (two Go builds, 8 producers, then 8 consumers) runs inside the first test
pytestmark = pytest.mark.timeout(2 * AGENT_TIMEOUT_S + 300)
# cell -> "pass" / "FAIL": conftest.py prints the matrix
MATRIX = {}


def agent_commands(tmp):
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    go_bin = str(tmp / "exchange-go")
    # the library's checksum in -ldflags: Go's build cache must not link an older library
    with open(os.path.join(ROOT, "bindings-go", "lib", "libkpipe_capi.a"), "rb") as f:
        lib_sum = hashlib.sha256(f.read()).hexdigest()[:16]
    subprocess.run(["go", "build", "-ldflags", f"-X main.kpipeLib={lib_sum}", "-o", go_bin, "."],
                   cwd=os.path.join(XCHG, "go"), check=True, timeout=600)
    confluent_go = str(tmp / "exchange-confluent-go")
    subprocess.run(["go", "build", "-o", confluent_go, "."], cwd=os.path.join(FOREIGN_DIR, "go"),
                   check=True, timeout=600)
    js = os.path.join(FOREIGN_DIR, "js")
    assert os.path.isdir(os.path.join(js, "node_modules", "@confluentinc", "kafka-javascript")), \
        "the confluent-js agent's packages are not installed: make interop-deps"
    return {
        "rust": [os.path.join(target, "debug", "kpipe-exchange")],
        "python": [sys.executable, os.path.join(XCHG, "agent.py")],
        "go": [go_bin],
        "node": ["node", os.path.join(XCHG, "agent.js")],
        "php": ["php", "-d", "extension=" + os.path.join(ROOT, "bindings-php", "modules", "kpipe.so"),
                os.path.join(XCHG, "agent.php")],
        "confluent-python": [sys.executable, os.path.join(FOREIGN_DIR, "confluent_python.py")],
        "confluent-go": [confluent_go],
        "confluent-js": ["node", os.path.join(js, "agent.mjs")],
    }


def run_all(cmds):
    """Runs the agents' commands at once; {lang: (exit status, stdout, stderr)}."""
    procs = {lang: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for lang, cmd in cmds.items()}
    out = {}
    for lang, p in procs.items():
        try:
            o, e = p.communicate(timeout=AGENT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            o, e = p.communicate()
            e += f"\n(killed after {AGENT_TIMEOUT_S} s)"
        out[lang] = (p.returncode, o, e)
    return out


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    for var in ("KPIPE_BUSINESS_BOOTSTRAP", "KPIPE_REGISTRY_URL"):
        assert os.environ.get(var), f"{var} is not set: run with the local stack's env (dev/stack env)"
    tmp = tmp_path_factory.mktemp("exchange")
    run = uuid.uuid4().hex[:10]
    config = tmp / "kpipe.yaml"
    config.write_text(json.dumps({  # JSON is YAML
        "clusters": {"business": {"bootstrap": os.environ["KPIPE_BUSINESS_BOOTSTRAP"]}},
        "registry": {"url": os.environ["KPIPE_REGISTRY_URL"]},
        "routes": [{"topic": "*", "cluster": "business"}],
        "serializers": [{"topic": f"xchg.{run}.*", "key": "string", "value": "avro", "schema": SCHEMA}],
    }))
    # Avro maps are written in the order the native map iterates (a Go map sorted by key, the
    # others in insertion order): the orders give their `attributes` sorted, so all agree.
    with open(ORDERS) as f:
        orders = [json.loads(line) for line in f if line.strip()]
    for o in orders:
        o["attributes"] = dict(sorted(o["attributes"].items()))
    orders_file = tmp / "orders.jsonl"
    orders_file.write_text("".join(json.dumps(o) + "\n" for o in orders))

    agents = agent_commands(tmp)
    topics = {lang: f"xchg.{run}.{lang}" for lang in PRODUCERS}
    produced = run_all({lang: agents[lang] + ["produce", str(config), topics[lang], str(orders_file), lang]
                        for lang in PRODUCERS})
    count = len(orders) + 1  # and the tombstone
    every_topic = ",".join(topics.values())
    kpipe_topics = ",".join(topics[lang] for lang in LANGS)
    consumed = run_all({lang: agents[lang] + ["consume", str(config), kpipe_topics if lang in FOREIGN else every_topic,
                                              str(count), f"xchg-{run}-{lang}"]
                        for lang in PRODUCERS})
    return orders, topics, produced, consumed


def lines(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("lang", LANGS)
def test_producer_sends_everything_and_refuses_the_bad_record(exchange, lang):
    _, _, produced, _ = exchange
    rc, out, err = produced[lang]
    assert rc == 0, f"the {lang} producer failed:\n{err}"
    (result,) = lines(out)
    e = result["error"]
    assert e is not None, f"{lang} sent an order whose mileage_km is a string"
    assert e["code"] == "serde.encode"
    assert e["message"].startswith("Order.mileage_km: "), e["message"]


def test_the_bad_record_fails_with_the_same_code_and_message_everywhere(exchange):
    _, _, produced, _ = exchange
    errors = {lang: lines(produced[lang][1])[-1]["error"] for lang in LANGS if produced[lang][0] == 0}
    assert len(errors) == len(LANGS), "a producer failed (see its own test)"
    assert len({json.dumps(e, sort_keys=True) for e in errors.values()}) == 1, errors


def hexs(text):
    return text.encode().hex()


@pytest.mark.parametrize("client", FOREIGN)
def test_foreign_producer_sends_everything_and_refuses_the_bad_record(exchange, client):
    _, _, produced, _ = exchange
    rc, out, err = produced[client]
    assert rc == 0, f"the {client} producer failed:\n{err}"
    (result,) = lines(out)
    assert result["error"] is not None, f"{client} sent an order whose mileage_km is a string"


# every kpipe consumer reads every producer; every foreign consumer reads the kpipe producers
CELLS = [(p, c) for p in PRODUCERS for c in LANGS] + [(p, c) for p in LANGS for c in FOREIGN]


@pytest.mark.parametrize("producer,consumer", CELLS)
def test_cell(exchange, producer, consumer):
    cell = (producer, consumer)
    MATRIX[cell] = "FAIL"
    orders, topics, produced, consumed = exchange
    assert produced[producer][0] == 0, f"the {producer} producer failed:\n{produced[producer][2]}"
    rc, out, err = consumed[consumer]
    assert rc == 0, f"the {consumer} consumer failed:\n{err}"
    records = lines(out)
    seen = [r for r in records if r["topic"] == topics[producer]]
    reference = [r for r in records if r["topic"] == topics["rust"]]
    assert len(seen) == len(orders) + 1
    ids = set()
    for seq, (order, rec, ref) in enumerate(zip(orders, seen, reference)):
        where = f"{producer} -> {consumer}, order {seq}"
        assert rec["key"] == order["order_id"], where
        none = "" if consumer in NULL_HEADER_READ_AS_EMPTY else None
        assert rec["headers"] == [["src", hexs(producer)], ["seq", hexs(str(seq))], ["empty", ""], ["none", none]], where
        assert rec["timestamp"] == order["created_at"], where
        raw = bytes.fromhex(rec["raw"])
        assert raw[0] == 0 and len(raw) > 5, where
        ids.add(raw[1:5])
        # the same Avro body as the Rust producer's (schema ids may differ between subjects)
        if producer not in OTHER_BODIES:
            assert raw[5:] == bytes.fromhex(ref["raw"])[5:], f"{where}: {raw[5:].hex()} != {ref['raw'][10:]}"
        assert rec["value"] == order, where
    assert len(ids) == 1, f"{producer}: one topic, one schema id; saw {ids}"
    tomb = seen[-1]
    assert tomb["key"] == f"tombstone-{producer}"
    assert tomb["raw"] is None and tomb["value"] is None
    assert tomb["headers"] == [["src", hexs(producer)], ["seq", hexs("tombstone")]]
    MATRIX[cell] = "pass"
