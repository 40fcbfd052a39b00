"""The golden vectors of tests/conformance/avro/vectors.jsonl (tests/conformance/README.md):
for every valid vector, kpipe's bytes from Python-native input (the natural JSON input converted
to Python's own types: bytes, Decimal, UUID, date/time/datetime, ("branch", value) tuples) equal
`body_hex`, and decoding them gives values that encode to the same bytes; for every error
vector, the code and the message's path prefix."""
import json
import os
import sys

import pytest

import kpipe

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONF = os.path.join(ROOT, "tests", "conformance")
sys.path.insert(0, CONF)
import generate  # noqa: E402  (the vectors' own natural JSON -> Python converter)


def vectors():
    with open(os.path.join(CONF, "avro", "vectors.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip() and not line.startswith("//")]


VECTORS = vectors()


def schema_text(v):
    if "schema_file" in v:
        with open(os.path.join(CONF, v["schema_file"])) as f:
            return f.read()
    return json.dumps(v["schema"])


def native(v):
    schema = generate.load_schema(v)
    w = generate.Walker()
    w.register_all(json.loads(json.dumps(schema)))
    return generate.to_fastavro(w, schema, v["input"], None)


def test_there_are_vectors():
    assert len(VECTORS) >= 100


@pytest.mark.parametrize("v", [v for v in VECTORS if "error" not in v], ids=lambda v: v["name"])
def test_valid_vector(v):
    s = kpipe.Schema(schema_text(v))
    expected = bytes.fromhex(v["body_hex"])
    assert s.encode(native(v)).hex() == v["body_hex"]
    decoded = s.decode(expected)
    assert s.encode(decoded) == expected


@pytest.mark.parametrize("v", [v for v in VECTORS if "error" in v], ids=lambda v: v["name"])
def test_error_vector(v):
    s = kpipe.Schema(schema_text(v))
    try:
        value = native(v)
    except generate.Reject:
        value = v["input"]  # no Python-native form: the natural JSON value itself
    with pytest.raises(kpipe.KpipeError) as e:
        s.encode(value)
    assert e.value.code == v["error"]["code"]
    assert e.value.message.startswith(v["error"]["path"] + ": "), e.value.message
    assert isinstance(e.value, kpipe.SerializationError)
