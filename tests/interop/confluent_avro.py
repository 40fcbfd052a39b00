#!/usr/bin/env python3
"""The confluent-kafka side of the Avro interop check (core/tests/interop_confluent.rs drives it).

Reads JSON lines {name, topic, schema, payload_hex, expected} on stdin, where payload_hex is a
Confluent-framed record kpipe encoded (its schema registered by kpipe in the live registry).
For each line:
  1. confluent-kafka's AvroDeserializer decodes kpipe's payload (writer schema fetched by id);
     the result, in natural JSON, must equal `expected`;
  2. confluent-kafka's AvroSerializer encodes `expected` (auto-registering `schema` under the
     topic's subject) for kpipe to decode.
Writes one JSON line per input: {name, decoded, decoded_ok, confluent_hex}. Natural JSON <->
Python values use the converters of tests/conformance/generate.py (fastavro's types).
"""
import faulthandler
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))

import generate as conformance  # noqa: E402
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402


def natural_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def strip_union_wrappers(walker, schema, value, ns=None):
    """`value` without natural JSON's explicit union wrappers ({"long": 5} -> 5).

    confluent-kafka (fastavro) decodes a union to the bare value, so which branch was written
    shows only in the value's Python type; the comparison is of values, the body bytes are
    compared on the Rust side."""
    s, ns = walker.resolve(schema, ns)
    if isinstance(s, list):
        if isinstance(value, dict) and len(value) == 1:
            (key, inner), = value.items()
            for branch in s:
                name = walker.branch_name(branch, ns)
                if key in (name, name.rsplit(".", 1)[-1]):
                    return strip_union_wrappers(walker, branch, inner, ns)
        for branch in s:  # a bare value: recurse into the branch that can hold its shape
            b, _ = walker.resolve(branch, ns)
            kind = b.get("type") if isinstance(b, dict) else None
            fits = (isinstance(value, list) and kind == "array") or (isinstance(value, dict) and (
                kind == "map" or (kind in ("record", "error")
                                  and set(value) <= {f["name"] for f in b["fields"]})))
            if fits:
                return strip_union_wrappers(walker, branch, value, ns)
        return value
    if isinstance(s, dict) and isinstance(value, dict) and s.get("type") in ("record", "error"):
        return {f["name"]: strip_union_wrappers(walker, f["type"], value[f["name"]], ns)
                if f["name"] in value else None for f in s["fields"] if f["name"] in value}
    if isinstance(s, dict) and isinstance(value, dict) and s.get("type") == "map":
        return {k: strip_union_wrappers(walker, s["values"], v, ns) for k, v in value.items()}
    if isinstance(s, dict) and isinstance(value, list) and s.get("type") == "array":
        return [strip_union_wrappers(walker, s["items"], v, ns) for v in value]
    return value


def main():
    # A stuck request must fail the test, not hang it: a per-request timeout (confluent-kafka
    # retries those), and a stack dump + exit if the whole run takes far longer than it should.
    faulthandler.dump_traceback_later(180, exit=True)
    registry = SchemaRegistryClient({"url": sys.argv[1], "timeout": 10})
    deserializer = AvroDeserializer(registry)
    for line in sys.stdin:
        case = json.loads(line)
        schema = case["schema"]
        walker = conformance.Walker()
        walker.register_all(json.loads(json.dumps(schema)))
        ctx = SerializationContext(case["topic"], MessageField.VALUE)
        out = {"name": case["name"]}
        try:
            value = deserializer(bytes.fromhex(case["payload_hex"]), ctx)
            decoded = conformance.to_natural(walker, schema, value, None)
            out["decoded"] = decoded
            expected = strip_union_wrappers(walker, schema, case["expected"])
            out["decoded_ok"] = natural_json(decoded) == natural_json(expected)
        except Exception as e:  # noqa: BLE001 - reported to the Rust side, which judges it
            out["decoded_error"] = f"{type(e).__name__}: {e}"
            out["decoded_ok"] = False
        try:
            serializer = AvroSerializer(registry, json.dumps(schema), conf={"auto.register.schemas": True})
            datum = conformance.to_fastavro(walker, schema, case["expected"], None)
            out["confluent_hex"] = serializer(datum, ctx).hex()
        except Exception as e:  # noqa: BLE001
            out["encode_error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
