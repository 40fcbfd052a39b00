"""Byte-level interop with a client no one here wrote: confluent-kafka's AvroSerializer /
AvroDeserializer (fastavro inside), through the same registry and broker."""
import os

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import consume, unique


def registry():
    return SchemaRegistryClient({"url": os.environ["KPIPE_REGISTRY_URL"], "timeout": 10})


def test_kpipe_produced_record_decoded_by_confluent(client, topic, order_schema, orders):
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)
    meta = client.producer().send(topic, orders[1], key="k1")
    c = Consumer({"bootstrap.servers": os.environ["KPIPE_BUSINESS_BOOTSTRAP"], "group.id": unique("py.cf"),
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    try:
        msg = None
        for _ in range(60):
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                break
        assert msg is not None and not msg.error()
        assert (msg.partition(), msg.offset()) == (meta.partition, meta.offset)
        value = AvroDeserializer(registry())(msg.value(), SerializationContext(topic, MessageField.VALUE))
    finally:
        c.close()
    assert value == orders[1]


def test_confluent_produced_record_consumed_by_kpipe(client, topic, order_schema, orders):
    ser = AvroSerializer(registry(), order_schema)
    p = Producer({"bootstrap.servers": os.environ["KPIPE_BUSINESS_BOOTSTRAP"]})
    p.produce(topic, key=b"ck", value=ser(orders[0], SerializationContext(topic, MessageField.VALUE)))
    assert p.flush(30) == 0
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)
    (m,) = consume(client, topic, 1)
    assert m.key == "ck" and m.value == orders[0]
