"""Schema references and reader schemas from Python, checked against confluent-kafka's
AvroSerializer / AvroDeserializer through the same registry and broker."""
import json
import os

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import kpipe
from conftest import base_config, consume, unique

ADDRESS = json.dumps({"type": "record", "name": "Address", "namespace": "kpipe.it", "fields": [
    {"name": "street", "type": "string"}, {"name": "city", "type": "string"}]})
ORDER = json.dumps({"type": "record", "name": "Order", "namespace": "kpipe.it", "fields": [
    {"name": "id", "type": "long"}, {"name": "ship_to", "type": "kpipe.it.Address"}]})

V1 = json.dumps({"type": "record", "name": "Reading", "namespace": "kpipe.it", "fields": [
    {"name": "id", "type": "long"}, {"name": "old", "type": "string", "default": "x"}]})
V2 = json.dumps({"type": "record", "name": "Reading", "namespace": "kpipe.it", "fields": [
    {"name": "id", "type": "long"}, {"name": "unit", "type": "string", "default": "celsius"}]})
V_BAD = json.dumps({"type": "record", "name": "Reading", "namespace": "kpipe.it", "fields": [
    {"name": "id", "type": "string"}]})


def registry():
    return SchemaRegistryClient({"url": os.environ["KPIPE_REGISTRY_URL"], "timeout": 10})


def confluent_read(topic, n=1):
    c = Consumer({"bootstrap.servers": os.environ["KPIPE_BUSINESS_BOOTSTRAP"], "group.id": unique("py.cf"),
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    try:
        for _ in range(120):
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg)
                if len(got) == n:
                    break
    finally:
        c.close()
    assert len(got) == n, f"confluent read {len(got)} of {n} records of {topic}"
    return got


def confluent_write(topic, value_bytes, headers=None):
    p = Producer({"bootstrap.servers": os.environ["KPIPE_BUSINESS_BOOTSTRAP"]})
    p.produce(topic, value=value_bytes, headers=headers)
    assert p.flush(30) == 0


@pytest.fixture
def order_topic():
    """A topic whose value subject holds Order, which references Address in another subject."""
    topic = unique("py.refs")
    reg = registry()
    address = unique("py-address")
    reg.register_schema(address, Schema(ADDRESS, "AVRO"))
    ref = SchemaReference("kpipe.it.Address", address, 1)
    reg.register_schema(f"{topic}-value", Schema(ORDER, "AVRO", [ref]))
    return topic


def latest_client():
    return kpipe.Client.from_dict(base_config(schemas={"use_latest": True, "auto_register": False}))


def test_references_round_trip_and_interop_with_confluent(order_topic):
    topic = order_topic
    value = {"id": 1, "ship_to": {"street": "Main St 1", "city": "Oslo"}}
    with latest_client() as client:
        client.set_serializer(topic, value="avro")  # the subject's latest, references and all
        client.producer().send(topic, value)
        # confluent-kafka writes with the registered schema that has references
        # (given as the registered Schema, references included: fastavro cannot parse ORDER alone)
        registered = registry().get_latest_version(f"{topic}-value").schema
        ser = AvroSerializer(registry(), registered, conf={"auto.register.schemas": False, "use.latest.version": True})
        other = {"id": 2, "ship_to": {"street": "Box 9", "city": "Bergen"}}
        confluent_write(topic, ser(other, SerializationContext(topic, MessageField.VALUE)))
        got = consume(client, topic, 2)
    assert [m.value for m in got] == [value, other]
    # and confluent-kafka reads what kpipe wrote (its writer schema by id, references resolved)
    (first, _) = confluent_read(topic, 2)
    deser = AvroDeserializer(registry())
    assert deser(first.value(), SerializationContext(topic, MessageField.VALUE)) == value


def test_v1_record_read_with_a_v2_reader_gets_the_default_as_confluent_does():
    topic = unique("py.readers")
    with kpipe.Client.from_dict(base_config()) as writer:
        writer.set_serializer(topic, value="avro", schema=V1)
        writer.producer().send(topic, {"id": 1, "old": "o"})
    want = {"id": 1, "unit": "celsius"}
    with kpipe.Client.from_dict(base_config()) as client:
        client.set_serializer(topic, value="avro", schema=V2)
        (m,) = consume(client, topic, 1)
        assert m.value == want
        client.set_serializer(topic, value="avro", schema=V2, reader="writer")
        (m,) = consume(client, topic, 1)
        assert m.value == {"id": 1, "old": "o"}
    (msg,) = confluent_read(topic)
    ctx = SerializationContext(topic, MessageField.VALUE)
    assert AvroDeserializer(registry(), schema_str=V2)(msg.value(), ctx) == want


def test_reader_latest_projects_to_the_subjects_latest_version():
    topic = unique("py.readers.latest")
    with kpipe.Client.from_dict(base_config(schemas={"policy": "NONE"})) as writer:
        writer.set_serializer(topic, value="avro", schema=V1)
        writer.producer().send(topic, {"id": 5, "old": "o"})
    registry().register_schema(f"{topic}-value", Schema(V2, "AVRO"))
    with kpipe.Client.from_dict(base_config()) as client:
        client.set_serializer(topic, value="avro", reader="latest")
        (m,) = consume(client, topic, 1)
        assert m.value == {"id": 5, "unit": "celsius"}


def test_an_incompatible_reader_is_a_decode_error_naming_the_record():
    topic = unique("py.readers.bad")
    with kpipe.Client.from_dict(base_config()) as writer:
        writer.set_serializer(topic, value="avro", schema=V1)
        meta = writer.producer().send(topic, {"id": 1, "old": "o"})
    with kpipe.Client.from_dict(base_config()) as client:
        client.set_serializer(topic, value="avro", schema=V_BAD)
        with client.consumer(group=unique("py.g"), topics=[topic], start="earliest") as c:
            m = None
            for _ in range(60):
                m = c.poll(1.0)
                if m is not None:
                    break
            assert m is not None
            with pytest.raises(kpipe.SerializationError) as e:
                m.value
    assert e.value.code == "serde.decode"
    assert "long cannot be read as string" in e.value.message
    assert (e.value.topic, e.value.offset) == (topic, meta.offset)


def test_a_reader_for_a_serializer_that_is_not_avro_is_a_config_error(client):
    with pytest.raises(kpipe.ConfigError) as e:
        client.set_serializer(unique("t"), value="json", reader="latest")
    assert (e.value.code, e.value.field) == ("config.invalid", "reader")


def test_null_header_values_stay_null_both_ways(client):
    topic = unique("py.headers")
    sent = [("null", None), ("empty", b""), ("text", "v"), ("bytes", b"\x00\x01")]
    client.producer().send(topic, b"x", headers=sent)
    (m,) = consume(client, topic, 1)
    want = [("null", None), ("empty", b""), ("text", b"v"), ("bytes", b"\x00\x01")]
    assert m.headers == want
    assert (m.header("null"), m.header("empty"), m.header("absent")) == (None, b"", None)
    # confluent-kafka sees kpipe's null header as None and the empty one as b""
    (msg,) = confluent_read(topic)
    assert msg.headers() == want
    # and kpipe reads confluent-kafka's null header as None
    other = unique("py.headers.cf")
    confluent_write(other, b"y", headers=[("null", None), ("empty", b"")])
    (m,) = consume(client, other, 1)
    assert m.headers == [("null", None), ("empty", b"")]
