#!/usr/bin/env python3
"""`make demo`: the pipeline kpipe was built for, end to end on the local stack, each step
printed as it happens, then a verification table.

A PHP web producer and a Python order service write orders to `online`; a tool that skipped
the registry writes one poison record; the schema evolves (a field with a default is added and
registered, an incompatible change is refused); `kpipe mirror` copies the topic to `offline`
(kpipe's own mirroring: MirrorMaker 2 is not served here); a Node notifier and a Go billing
service consume with the core's run loop, the poison record going to each one's DLQ with its
headers; the billing group is moved from `online` to `offline` with `kpipe offsets migrate`
(dry-run plan, apply with a rollback file) and resumes there. The table shows produced /
consumed / DLQ / lost per service; the run fails (exit 1) if anything was lost.

Run by `make demo` (which builds every binding and starts the stack first), from the
repository root, with kpipe.yaml's addresses overridden by `dev/stack env --kpipe-yaml`.
Needs: KPIPE_BIN (the kpipe CLI), .venv with the kpipe module, bindings-go/lib, the Node
addon with examples/node installed, bindings-php/modules/kpipe.so.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(ROOT, "examples", "story")
CONFIG = os.path.join(ROOT, "kpipe.yaml")
KPIPE = os.environ.get("KPIPE_BIN", os.path.join(ROOT, "target", "debug", "kpipe"))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
PHP = ["php", "-d", "extension=" + os.path.join(ROOT, "bindings-php", "modules", "kpipe.so")]
STEP_TIMEOUT_S = 180
ORDER_ID = re.compile(r"order_id=([0-9a-f-]{36})")
# every consuming service dead-letters into a topic of its own
DLQ_TEMPLATE = "{topic}.{group}.dlq"


def step(title):
    step.n = getattr(step, "n", 0) + 1
    print(f"\n== {step.n}. {title}", flush=True)


def sh(cmd, env=None, ok=(0,), quiet=False, stdin=None):
    """Runs `cmd` (shown first), prints its output indented; its stdout."""
    shown = " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)
    print(f"$ {shown}", flush=True)
    out = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, input=stdin,
                         capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    lines = out.stdout.splitlines()
    if not quiet:
        for line in lines if len(lines) <= 12 else lines[:5] + [f"... ({len(lines) - 10} more lines)"] + lines[-5:]:
            print(f"    {line}")
    if out.returncode not in ok:
        print(out.stderr, file=sys.stderr)
        sys.exit(f"story: {shown} exited {out.returncode}")
    return out.stdout


def kpipe(*args, **kw):
    return sh([KPIPE, "--config", CONFIG, *args], **kw)


def ids(text):
    return ORDER_ID.findall(text)


def main():
    run = str(int(time.time()))
    topic = f"orders.story.{run}"  # kpipe.yaml routes orders.* to online
    tmp = tempfile.mkdtemp(prefix="kpipe-story-")
    services_env = {"KPIPE_CONSUMER__DLQ": DLQ_TEMPLATE}
    online = os.environ.get("KPIPE_CLUSTERS__ONLINE__BOOTSTRAP", "127.0.0.1:29092")
    print(f"kpipe story, run {run}: topic {topic}")

    step("The topic and its schema: orders on the online cluster, Order version 1 registered")
    sh(["dev/stack", "kafka", "topics", "--bootstrap-server", online, "--create", "--topic", topic,
        "--partitions", "3", "--replication-factor", "3"], quiet=True)
    print(f"    created {topic} on online: 3 partitions, 3 replicas")
    kpipe("schema", "register", "--subject", f"{topic}-value", "--schema", "examples/order.avsc")

    step("The PHP web producer writes 20 orders")
    produced = {"web (PHP)": ids(sh(PHP + ["examples/php/producer.php", CONFIG, topic, "20"]))}

    step("The Python order service writes 20 orders")
    produced["orders (Python)"] = ids(sh([PYTHON, "examples/python/producer.py", CONFIG, "--topic", topic,
                                          "--count", "20", "--run-id", run, "--seed", "1"]))

    step("A tool that skipped the registry writes one poison record (Kafka's console producer)")
    sh(["dev/stack", "kafka", "console-producer", "--bootstrap-server", online, "--topic", topic],
       stdin='{"order_id": "not Avro at all"}\n', quiet=True)
    print('    sent {"order_id": "not Avro at all"} as plain text')

    step("The schema evolves: version 2 adds `coupon` with a default; an incompatible version 3 is refused")
    kpipe("schema", "check", "--subject", f"{topic}-value", "--schema", "examples/story/order-v2.avsc")
    kpipe("schema", "register", "--subject", f"{topic}-value", "--schema", "examples/story/order-v2.avsc")
    kpipe("schema", "check", "--subject", f"{topic}-value", "--schema", "examples/story/order-v3-incompatible.avsc",
          ok=(1,))
    print("    (exit 1: refused, nothing registered)")
    produced["orders (Python)"] += ids(sh([PYTHON, "examples/python/producer.py", CONFIG, "--topic", topic,
                                           "--count", "10", "--run-id", run, "--seed", "2", "--schema",
                                           "examples/story/order-v2.avsc", "--coupon", "WELCOME10"]))
    all_ids = [i for v in produced.values() for i in v]
    records = len(all_ids) + 1  # and the poison record

    step("Mirror online -> offline (kpipe mirror: same partitions, keys, values, headers, timestamps)")
    mirrored = json.loads(kpipe("--json", "mirror", "--from", "online", "--to", "offline", "--topics", topic,
                                "--group", f"mirror.{run}", quiet=True))
    for p in mirrored["partitions"]:
        print(f"    {p['topic']} p{p['partition']}: {p['records']} records (offsets {p['first_offset']}..{p['last_offset']})")
    print(f"    {mirrored['records']} records mirrored to offline")

    step("The Node notifier consumes everything on online")
    notifier_group = f"notifier.{run}"
    notifier = ids(sh(["node", "examples/node/notifier.mjs", CONFIG, "--topic", topic, "--group", notifier_group,
                       "--count", str(len(all_ids)), "--timeout", "120"], env=services_env))

    step("The Go billing service bills the first 30 orders on online, then stops")
    billing_group = f"billing.{run}"
    go_bin = os.path.join(tmp, "billing")
    with open(os.path.join(ROOT, "bindings-go", "lib", "libkpipe_capi.a"), "rb") as f:
        lib_sum = hashlib.sha256(f.read()).hexdigest()[:16]
    subprocess.run(["go", "build", "-ldflags", f"-X main.kpipeLib={lib_sum}", "-o", go_bin, "./billing"],
                   cwd=os.path.join(ROOT, "examples", "go"), check=True, timeout=600)
    billing = ids(sh([go_bin, "--config", CONFIG, "--topic", topic, "--group", billing_group, "--max", "30"],
                     env=services_env))

    step("Move the billing group to offline: dry-run plan, then apply with a rollback file")
    kpipe("offsets", "migrate", "--from", "online", "--to", "offline", "--group", billing_group, "--topics", topic,
          "--dry-run")
    rollback = os.path.join(tmp, "billing-rollback.json")
    applied = json.loads(kpipe("--json", "offsets", "migrate", "--from", "online", "--to", "offline",
                               "--group", billing_group, "--topics", topic, "--rollback-file", rollback, quiet=True))
    replayed = sum(row.get("replayed") or 0 for row in applied["plan"]["partitions"])
    print(f"    committed on offline; rollback file {os.path.basename(rollback)}:")
    with open(rollback) as f:
        print("    " + f.read().strip().replace("\n", "\n    "))
    print(f"    the plan replays {replayed} record(s): ties at the boundary timestamp are read again")

    step("The billing service resumes on offline (its config now routes orders.* there)")
    with open(CONFIG) as f:
        offline_yaml = f.read().replace('{ topic: "orders.*", cluster: online }', '{ topic: "orders.*", cluster: offline }')
    assert "cluster: offline }" in offline_yaml, "kpipe.yaml's orders.* route changed: update the story"
    offline_config = os.path.join(tmp, "kpipe.offline.yaml")
    with open(offline_config, "w") as f:
        f.write(offline_yaml)
    billing_offline = ids(sh([go_bin, "--config", offline_config, "--topic", topic, "--group", billing_group],
                             env=services_env))

    step("The dead letters, with their headers")
    dlq = {}
    for service, group, clusters in (("notifier (Node)", notifier_group, ["online"]),
                                     ("billing (Go)", billing_group, ["online", "offline"])):
        dlq[service] = []
        for cluster in clusters:
            dlq_topic = DLQ_TEMPLATE.format(topic=topic, group=group)
            listed = json.loads(kpipe("--json", "topics", "list", "--cluster", cluster, quiet=True))["topics"]
            if not any(t["topic"] == dlq_topic for t in listed):
                continue
            for line in kpipe("--json", "consume", dlq_topic, "--cluster", cluster, "--earliest", "--decode", "string",
                              quiet=True).splitlines():
                rec = json.loads(line)
                dlq[service].append(rec)
                h = rec["headers"]
                print(f"    {service} -> {cluster}/{dlq_topic} p{rec['partition']}@{rec['offset']}: "
                      f"value {rec['value']!r}")
                print(f"      kpipe.error.code={h.get('kpipe.error.code')} kpipe.attempts={h.get('kpipe.attempts')} "
                      f"source={h.get('kpipe.source.topic')} p{h.get('kpipe.source.partition')}"
                      f"@{h.get('kpipe.source.offset')}")
                print(f"      kpipe.error.message={h.get('kpipe.error.message')}")

    step("Verification")
    produced_set = set(all_ids)
    consumed = {"notifier (Node)": notifier, "billing (Go)": billing + billing_offline}
    rows = [(service, "online", len(v), "-", "-", "-", "-") for service, v in produced.items()]
    rows.append(("mirror (kpipe)", "online -> offline", "-", mirrored["records"], "-", "-",
                 records - mirrored["records"]))
    lost_total = records - mirrored["records"]
    for service, got in consumed.items():
        unique = set(got)
        lost = len(produced_set - unique) + (1 - len(dlq[service]))  # the poison record must be in its DLQ
        lost_total += lost
        where = "online" if service.startswith("notifier") else "online, then offline"
        rows.append((service, where, "-", len(unique), len(got) - len(unique), len(dlq[service]), lost))
    head = ("service", "cluster", "produced", "consumed", "replayed", "DLQ", "lost")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("    " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print(f"    {len(all_ids)} orders and 1 poison record produced; billing replayed "
          f"{len(billing) + len(billing_offline) - len(set(billing + billing_offline))} after the move "
          f"(the plan said {replayed})")
    if lost_total:
        sys.exit(f"story: {lost_total} record(s) lost")
    print("    nothing lost")


if __name__ == "__main__":
    main()
