"""Bad option values give the core's code and message, word for word, as in every other binding
and the CLI (tests/conformance/options.json)."""
import json
import os

import pytest

import kpipe
from conftest import ROOT, unique

with open(os.path.join(ROOT, "tests", "conformance", "options.json")) as f:
    CASES = [c for c in json.load(f)["cases"] if "python" in c["surfaces"]]


def give(client, option, value):
    """Passes `value` as the option, the way a user of the Python binding would."""
    if option == "strategy":
        return client.admin.migrate_plan(unique("g"), "business", "online", strategy=value)
    if option == "serializer":
        return client.set_serializer(unique("t"), value=value)
    if option == "start":
        return client.consumer(unique("g"), unique("t"), start=value)
    if option == "commit":
        return client.consumer(unique("g"), unique("t"), commit=value)
    if option == "ack":
        return client.consumer(unique("g"), unique("t"), ack=value)
    if option == "reader":
        return client.set_serializer(unique("t"), value="avro", reader=value)
    if option == "reset":
        return client.admin.reset(unique("g"), [unique("t")], to=value, cluster="business")
    raise AssertionError(f"no Python surface for {option}")


@pytest.mark.parametrize("case", CASES, ids=[c["option"] for c in CASES])
def test_bad_option_gives_the_cores_code_and_message(client, case):
    with pytest.raises(kpipe.ConfigError) as e:
        give(client, case["option"], case["value"])
    assert e.value.code == case["code"]
    assert e.value.message == case["message"]
    assert str(e.value) == case["message"]
    assert e.value.field == case["field"]
    assert (e.value.retriable, e.value.fatal) == (False, False)


def test_every_option_with_a_python_surface_is_covered():
    assert {c["option"] for c in CASES} == {"strategy", "serializer", "start", "commit", "ack", "reset", "reader"}
