"""Every value type, encoded from native Python values and decoded back to them (kpipe.Schema,
no broker), and the Order record through a broker and the registry."""
import datetime as dt
import decimal
import math
import uuid

import pytest

import kpipe
from conftest import consume

UTC = dt.timezone.utc


def rt(schema, value):
    s = kpipe.Schema(schema)
    return s.decode(s.encode(value))


@pytest.mark.parametrize("schema,value", [
    ("null", None),
    ("boolean", True),
    ("boolean", False),
    ("int", -2147483648),
    ("int", 2147483647),
    ("long", -9223372036854775808),
    ("long", 9223372036854775807),
    ("float", 1.5),
    ("double", 0.1),
    ("double", -0.0),
    ("string", ""),
    ("string", "héllo ✓ 🐍"),
    ("bytes", b""),
    ("bytes", b"\x00\x01\xff"),
    ({"type": "fixed", "name": "F4", "size": 4}, b"abcd"),
    ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, "B"),
    ({"type": "array", "items": "long"}, [1, 2, 3]),
    ({"type": "array", "items": "long"}, []),
    ({"type": "map", "values": "string"}, {"a": "b", "c": ""}),
    ({"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}, {"name": "b", "type": ["null", "string"]}]},
     {"a": 1, "b": None}),
    (["null", "string"], None),
    (["null", "string"], "x"),
    (["string", "long"], 5),
    (["long", "double"], 2.5),
    (["bytes", "string"], "text"),
    (["bytes", "string"], b"raw"),
    ({"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, decimal.Decimal("-12.30")),
    ({"type": "fixed", "name": "D8", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 4},
     decimal.Decimal("99999999999999.9999")),
    ({"type": "string", "logicalType": "uuid"}, uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ({"type": "int", "logicalType": "date"}, dt.date(2026, 11, 24)),
    ({"type": "int", "logicalType": "date"}, dt.date(1, 1, 1)),
    ({"type": "int", "logicalType": "time-millis"}, dt.time(10, 0, 0, 123000)),
    ({"type": "long", "logicalType": "time-micros"}, dt.time(23, 59, 59, 999999)),
    ({"type": "long", "logicalType": "timestamp-millis"}, dt.datetime(2026, 5, 28, 20, 26, 40, 123000, tzinfo=UTC)),
    ({"type": "long", "logicalType": "timestamp-micros"}, dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ({"type": "long", "logicalType": "local-timestamp-millis"}, dt.datetime(2026, 1, 2, 3, 4, 5, 6000)),
    ({"type": "long", "logicalType": "local-timestamp-micros"}, dt.datetime(2026, 1, 2, 3, 4, 5, 6)),
], ids=repr)
def test_round_trip(schema, value):
    import json
    out = rt(json.dumps(schema), value)
    assert out == value and type(out) is type(value)


def test_nan_and_infinities():
    s = kpipe.Schema('"double"')
    assert math.isnan(s.decode(s.encode(float("nan"))))
    assert s.decode(s.encode(float("inf"))) == float("inf")
    assert s.decode(s.encode("-Infinity")) == float("-inf")


def test_float_is_the_float32s_exact_value_as_fastavro_gives_it():
    import io
    import fastavro
    s = kpipe.Schema('"float"')
    for x in (0.1, 1.5, 3.4028234663852886e38, 1e-45, -2.7):
        body = s.encode(x)
        theirs = fastavro.schemaless_reader(io.BytesIO(body), "float", None)
        assert s.decode(body) == theirs
    assert s.decode(s.encode(0.1)) == 0.10000000149011612
    rec = kpipe.Schema('{"type":"record","name":"R","fields":[{"name":"f","type":["null","float"]}]}')
    assert rec.decode(rec.encode({"f": 0.1})) == {"f": 0.10000000149011612}


def test_aware_datetimes_convert_to_utc_and_naive_ones_stay_naive():
    ts = kpipe.Schema('{"type":"long","logicalType":"timestamp-micros"}')
    plus8 = dt.timezone(dt.timedelta(hours=8))
    out = ts.decode(ts.encode(dt.datetime(2026, 1, 1, 8, 0, tzinfo=plus8)))
    assert out == dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC) and out.tzinfo is UTC
    local = kpipe.Schema('{"type":"long","logicalType":"local-timestamp-millis"}')
    assert local.decode(local.encode(dt.datetime(2026, 1, 1, 8, 0))).tzinfo is None


def test_text_and_number_forms_of_logical_types_are_accepted():
    dec = kpipe.Schema('{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}')
    assert dec.decode(dec.encode("12.3")) == decimal.Decimal("12.30")
    assert dec.decode(dec.encode(7)) == decimal.Decimal("7.00")
    ts = kpipe.Schema('{"type":"long","logicalType":"timestamp-millis"}')
    assert ts.encode(1780000000000) == ts.encode("2026-05-28T20:26:40Z")
    u = kpipe.Schema('{"type":"string","logicalType":"uuid"}')
    assert u.encode("12345678-1234-5678-1234-567812345678") == u.encode(uuid.UUID("12345678-1234-5678-1234-567812345678"))


def test_explicit_union_branches_and_ambiguous_values_read_back():
    import json
    s = kpipe.Schema(json.dumps(["string", "double"]))
    assert s.encode(("double", 1.0)) == s.encode(1.0)
    m = kpipe.Schema(json.dumps([{"type": "record", "name": "P", "fields": [{"name": "a", "type": "long"}]},
                                 {"type": "map", "values": "long"}]))
    body = m.encode(("map", {"a": 1}))
    out = m.decode(body)
    assert out == ("map", {"a": 1})  # unwrapped it would read back as the record
    assert m.encode(out) == body


def test_tuples_are_arrays_and_subclasses_work():
    import collections
    import enum

    class Color(str, enum.Enum):
        RED = "RED"

    s = kpipe.Schema('{"type":"record","name":"R","fields":[{"name":"xs","type":{"type":"array","items":"int"}},'
                     '{"name":"c","type":"string"},{"name":"m","type":{"type":"map","values":"long"}}]}')
    v = {"xs": (1, 2), "c": Color.RED, "m": collections.OrderedDict(a=1)}
    assert s.decode(s.encode(v)) == {"xs": [1, 2], "c": "RED", "m": {"a": 1}}


def test_order_round_trip_through_the_broker(client, topic, order_schema, orders):
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)
    with client.producer() as p:
        metas = [p.send(topic, o, key=str(o["order_id"]), headers={"run": b"1"}) for o in orders]
    assert all(m.cluster == "business" and m.topic == topic and m.offset >= 0 for m in metas)
    got = consume(client, topic, len(orders))
    by_key = {m.key: m for m in got}
    for o in orders:
        m = by_key[str(o["order_id"])]
        assert m.value == o
        assert m.headers == [("run", b"1")]
        assert m.raw_value[0] == 0 and len(m.raw_value) > 5  # Confluent framing
        assert isinstance(m.timestamp, int)


def test_send_many_returns_metadata_or_the_error_per_record(client, topic, order_schema, orders):
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)
    bad = dict(orders[0], amount="1.234")
    results = client.producer().send_many(topic, [orders[0], bad, orders[1]], keys=["a", "b", "c"])
    assert isinstance(results[0], kpipe.RecordMetadata) and isinstance(results[2], kpipe.RecordMetadata)
    assert isinstance(results[1], kpipe.SerializationError)
    assert results[1].code == "serde.encode" and results[1].message.startswith("Order.amount: ")
    got = consume(client, topic, 2)
    assert sorted(m.key for m in got) == ["a", "c"]


def test_bytes_string_and_json_serializers(client, topic):
    client.set_serializer(topic, key="string", value="json")
    p = client.producer()
    p.send(topic, {"a": [1, 2.5, None, "x"]}, key="k")
    raw = unique_topic = topic + ".raw"
    p.send(raw, b"\x00\x01", key=b"kb")
    m = consume(client, topic, 1)[0]
    assert m.value == {"a": [1, 2.5, None, "x"]} and m.key == "k"
    r = consume(client, unique_topic, 1)[0]
    assert r.value == b"\x00\x01" and r.key == b"kb"
