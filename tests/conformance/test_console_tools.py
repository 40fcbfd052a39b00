"""kpipe against Kafka's own command-line tools (the stack's Kafka distribution, run by
`dev/stack kafka TOOL`): records written by the console producer read the same in kpipe (the
Python binding and the `kpipe` CLI) and the reverse through the console consumer; consumer
group offsets committed or reset by either side read the same in the other
(`kafka-consumer-groups --describe / --reset-offsets --to-datetime` against `kpipe groups
describe` and `kpipe offsets reset`). The console tools speak bytes and text, not the
registry's Avro, so these records are strings; Avro interop with other clients is the
exchange matrix (test_exchange.py). Needs the local stack (dev/stack env) and `make build`."""
import datetime as dt
import json
import os
import subprocess
import sys
import uuid

import pytest

import kpipe

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TOOL_TIMEOUT_S = 120
UTC = dt.timezone.utc
T0 = 1_780_000_000_000  # record timestamps of the group tests: fixed, far from "now"
NULL = "<null>"  # the console tools' marker for a null key, value or header value


def bootstrap():
    return os.environ["KPIPE_BUSINESS_BOOTSTRAP"]


def kafka_tool(tool, *args, stdin=None):
    """Runs one of Kafka's tools; its stdout. A failure shows the tool's stderr."""
    out = subprocess.run([os.path.join(ROOT, "dev", "stack"), "kafka", tool, *args], input=stdin,
                         capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    assert out.returncode == 0, f"kafka {tool} {' '.join(args)} failed ({out.returncode}):\n{out.stderr}"
    return out.stdout


@pytest.fixture
def config(tmp_path):
    cfg = {
        "clusters": {"business": {"bootstrap": bootstrap()}},
        "registry": {"url": os.environ["KPIPE_REGISTRY_URL"]},
        "routes": [{"topic": "*", "cluster": "business"}],
        "serializers": [{"topic": "console.*", "key": "string", "value": "string"}],
    }
    path = tmp_path / "kpipe.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def kpipe_cli(config, *args):
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    out = subprocess.run([os.path.join(target, "debug", "kpipe"), "--config", str(config), "--json", *args],
                         capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    assert out.returncode == 0, f"kpipe {' '.join(args)} failed ({out.returncode}):\n{out.stderr}"
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def new_topic(partitions=1):
    topic = f"console.{uuid.uuid4().hex[:12]}"
    kafka_tool("topics", "--bootstrap-server", bootstrap(), "--create", "--topic", topic,
               "--partitions", str(partitions), "--replication-factor", "1")
    return topic


def read_with_kpipe(config, topic, count, group=None, start="earliest"):
    """`count` records of `topic` through the Python binding, acknowledged and committed, from
    `start` ("earliest", or "committed": the group's offset): [(offset, key, value, headers)]."""
    client = kpipe.Client.from_file(str(config))
    got = []
    try:
        with client.consumer(group=group or f"console-read-{uuid.uuid4().hex[:8]}", topics=[topic],
                             start=start, ack="explicit") as c:
            for _ in range(count):
                m = c.poll(30.0)
                assert m is not None, f"kpipe read {len(got)} of {count} records of {topic}"
                got.append((m.offset, m.key, m.value, [tuple(h) for h in m.headers]))
                c.ack(m)
    finally:
        client.close()
    return got


RECORDS = [  # (key, value, headers): what both directions write
    (f"k-{i}", f"value {i}: Grüße, {'x' * i}", [("src", b"console"), ("seq", str(i).encode()), ("empty", b""), ("none", None)])
    for i in range(5)
] + [("tombstone", None, [("src", b"console"), ("seq", b"tombstone")])]


def console_line(key, value, headers):
    hs = ",".join(f"{k}:{NULL if v is None else v.decode()}" for k, v in headers)
    return f"{hs}\t{key}\t{NULL if value is None else value}"


def test_console_producer_records_read_the_same_in_kpipe(config):
    topic = new_topic()
    kafka_tool("console-producer", "--bootstrap-server", bootstrap(), "--topic", topic,
               "--reader-property", "parse.key=true", "--reader-property", "parse.headers=true",
               "--reader-property", f"null.marker={NULL}",
               stdin="".join(console_line(*r) + "\n" for r in RECORDS))
    got = read_with_kpipe(config, topic, len(RECORDS))
    assert [(k, v, h) for _, k, v, h in got] == RECORDS
    # the CLI (no group) prints the same, header values as text and null
    cli = kpipe_cli(config, "consume", topic, "--earliest", "--max", str(len(RECORDS)), "--decode", "string")
    assert [(r["key"], r["value"], r["headers"]) for r in cli] == [
        (k, v, {hk: None if hv is None else hv.decode() for hk, hv in h}) for k, v, h in RECORDS]


def parse_console_consumer(out):
    """DefaultMessageFormatter's lines with print.timestamp/partition/offset/headers/key:
    CreateTime:T <tab> Partition:P <tab> Offset:O <tab> h:v,h:v <tab> key <tab> value."""
    rows = []
    for line in out.splitlines():
        ts, part, off, headers, key, value = line.split("\t")
        hs = [] if headers == "NO_HEADERS" else [tuple(h.split(":", 1)) for h in headers.split(",")]
        rows.append({
            "timestamp": int(ts.removeprefix("CreateTime:")), "partition": int(part.removeprefix("Partition:")),
            "offset": int(off.removeprefix("Offset:")),
            "headers": [(k, None if v == NULL else v.encode()) for k, v in hs],
            "key": None if key == NULL else key, "value": None if value == NULL else value,
        })
    return rows


def test_kpipe_records_read_the_same_in_the_console_consumer(config):
    topic = new_topic()
    client = kpipe.Client.from_file(str(config))
    try:
        p = client.producer()
        for i, (key, value, headers) in enumerate(RECORDS):
            p.send(topic, value, key=key, headers=headers, timestamp=T0 + i)
    finally:
        client.close()
    out = kafka_tool("console-consumer", "--bootstrap-server", bootstrap(), "--topic", topic,
                     "--from-beginning", "--max-messages", str(len(RECORDS)), "--timeout-ms", "30000",
                     *[a for prop in ("print.timestamp=true", "print.partition=true", "print.offset=true",
                                      "print.headers=true", "print.key=true", f"null.literal={NULL}")
                       for a in ("--formatter-property", prop)])
    rows = parse_console_consumer(out)
    assert [(r["key"], r["value"], r["headers"]) for r in rows] == RECORDS
    assert [(r["timestamp"], r["partition"], r["offset"]) for r in rows] == [(T0 + i, 0, i) for i in range(len(RECORDS))]


def describe_with_kafka(group):
    """kafka-consumer-groups --describe: {(topic, partition): (current, log end, lag)}."""
    out = kafka_tool("consumer-groups", "--bootstrap-server", bootstrap(), "--describe", "--group", group)
    rows = {}
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[0] == group:
            current = None if cols[3] == "-" else int(cols[3])
            lag = None if cols[5] == "-" else int(cols[5])
            rows[(cols[1], int(cols[2]))] = (current, int(cols[4]), lag)
    return rows


def describe_with_kpipe(config, group):
    (d,) = kpipe_cli(config, "groups", "describe", group)
    return {(p["topic"], p["partition"]): (p["committed"], p["latest"], p["lag"]) for p in d["partitions"]}


def produce_timed(config, topic, n):
    client = kpipe.Client.from_file(str(config))
    try:
        p = client.producer()
        for i in range(n):
            p.send(topic, f"v{i}", key=f"k{i}", timestamp=T0 + i * 1000)
    finally:
        client.close()


def kafka_datetime(ms):
    """kafka-consumer-groups' --to-datetime form (YYYY-MM-DDTHH:mm:SS.sss, with the zone)."""
    return dt.datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def rfc3339(ms):
    return dt.datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def test_groups_describe_and_reset_agree_between_kafka_tools_and_kpipe(config):
    topic = new_topic()
    produce_timed(config, topic, 10)
    group = f"console-group-{uuid.uuid4().hex[:8]}"

    # kpipe commits after 6 handled records: both tools see 6 of 10, lag 4
    read = read_with_kpipe(config, topic, 6, group=group)
    assert [o for o, *_ in read] == list(range(6))
    assert describe_with_kafka(group) == {(topic, 0): (6, 10, 4)}
    assert describe_with_kpipe(config, group) == {(topic, 0): (6, 10, 4)}

    # Kafka's tool resets the group to a time; kpipe sees the same offset and resumes there
    out = kafka_tool("consumer-groups", "--bootstrap-server", bootstrap(), "--reset-offsets", "--group", group,
                     "--topic", topic, "--to-datetime", kafka_datetime(T0 + 2500), "--execute")
    assert [line.split()[1:4] for line in out.splitlines() if line.startswith(group)] == [[topic, "0", "3"]], out
    (plan,) = kpipe_cli(config, "offsets", "reset", "--group", group, "--topics", topic,
                        "--to-datetime", rfc3339(T0 + 2500), "--dry-run")
    assert plan["changes"] == [{"topic": topic, "partition": 0, "before": 3, "after": 3}]
    assert describe_with_kpipe(config, group) == {(topic, 0): (3, 10, 7)}
    assert [o for o, *_ in read_with_kpipe(config, topic, 2, group=group, start="committed")] == [3, 4]

    # kpipe resets it; Kafka's tools see it, and the console consumer resumes there
    kpipe_cli(config, "offsets", "reset", "--group", group, "--topics", topic, "--to-datetime", rfc3339(T0 + 7000))
    assert describe_with_kafka(group) == {(topic, 0): (7, 10, 3)}
    out = kafka_tool("console-consumer", "--bootstrap-server", bootstrap(), "--topic", topic, "--group", group,
                     "--max-messages", "3", "--timeout-ms", "30000",
                     "--formatter-property", "print.offset=true", "--formatter-property", "print.key=true")
    assert [line.split("\t") for line in out.splitlines()] == [[f"Offset:{i}", f"k{i}", f"v{i}"] for i in (7, 8, 9)]
    assert describe_with_kpipe(config, group) == {(topic, 0): (10, 10, 0)}
