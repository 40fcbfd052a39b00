"""The one acknowledgement semantics, scenario by scenario as every binding runs them
(tests/conformance/ack.json; the Go runner is bindings-go/ack_test.go)."""
import json
import os

import pytest

from conftest import ROOT, unique

with open(os.path.join(ROOT, "tests", "conformance", "ack.json")) as f:
    SCENARIOS = json.load(f)["scenarios"]


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_ack_scenario(client, topic, sc):
    n = sc["records"]
    client.producer().send_many(topic, [str(i).encode() for i in range(n)], keys=[b"one-partition"] * n)
    group = unique("py.ack")
    c = client.consumer(group=group, topics=[topic], start="earliest", commit="manual", ack=sc["ack"])
    polled = []
    try:
        for step in sc["steps"]:
            if step == "poll":
                m = c.poll(30)
                assert m is not None, "no record"
                if polled:
                    assert m.offset == polled[-1].offset + 1
                polled.append(m)
            elif step.startswith("ack:"):
                c.ack(polled[int(step[4:])])
            elif step == "commit":
                c.commit()
            elif step.startswith("run:"):
                left = [int(step[4:])]

                def handler(msg):
                    left[0] -= 1
                    if left[0] == 0:
                        c.stop()

                c.run(handler)
            elif step == "close":
                c.close()
            else:
                raise AssertionError(f"unknown step {step}")
    finally:
        c.close()
    with client.consumer(group=group, topics=[topic]) as again:
        m = again.poll(30)
        assert m is not None and m.offset == sc["resume_at"]
