"""The confluent-python foreign agent of the exchange test (../README.md), written as a user of
confluent-kafka writes it: a SerializingProducer with its AvroSerializer (fastavro underneath;
values as uuid.UUID / Decimal / aware datetime, the schema auto-registered under
`<topic>-value`), and a Consumer that calls AvroDeserializer on each value, as confluent-kafka's
own avro_consumer example does (a DeserializingConsumer would hide the raw bytes the protocol
prints)."""
import json
import os
import sys

from confluent_kafka import Consumer, KafkaException, SerializingProducer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from natural import native, natural  # noqa: E402  (the exchange's shared conversions)


def settings(config_path):
    with open(config_path) as f:
        config = json.load(f)  # the test writes kpipe.yaml as JSON
    with open(config["serializers"][0]["schema"]) as f:
        schema = f.read()
    return config["clusters"]["business"]["bootstrap"], config["registry"]["url"], schema


def produce(config, topic, orders_path, lang):
    bootstrap, registry, schema = settings(config)
    sr = SchemaRegistryClient({"url": registry})
    producer = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": AvroSerializer(sr, schema),
    })
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(err)

    def send(**kwargs):
        producer.produce(topic, on_delivery=report, **kwargs)
        producer.flush(30)  # the protocol waits for each delivery
        if failures:
            raise KafkaException(failures[0])

    with open(orders_path) as f:
        orders = [json.loads(line) for line in f if line.strip()]
    for seq, order in enumerate(orders):
        send(key=order["order_id"], value=native(order), timestamp=order["created_at"],
             headers=[("src", lang.encode()), ("seq", str(seq).encode()), ("empty", b""), ("none", None)])
    send(key=f"tombstone-{lang}", value=None, headers=[("src", lang.encode()), ("seq", b"tombstone")])
    bad = native(orders[0])
    bad["mileage_km"] = "many"
    try:
        send(key=orders[0]["order_id"], value=bad)
        print(json.dumps({"error": None}))
    except Exception as e:  # the serializer's error type is the client's business
        print(json.dumps({"error": {"code": "foreign", "message": str(e)}}))


def consume(config, topics, count, group):
    bootstrap, registry, _ = settings(config)
    sr = SchemaRegistryClient({"url": registry})
    topics = topics.split(",")
    deserialize = AvroDeserializer(sr)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe(topics)
    want = count * len(topics)
    try:
        for n in range(want):
            m = consumer.poll(30.0)
            if m is None:
                sys.exit(f"confluent-python agent: nothing for 30 s after {n} of {want} records")
            if m.error():
                raise KafkaException(m.error())
            raw, key = m.value(), m.key()
            value = deserialize(raw, SerializationContext(m.topic(), MessageField.VALUE))
            print(json.dumps({
                "topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                "timestamp": m.timestamp()[1], "key": None if key is None else key.decode(),
                "raw": None if raw is None else raw.hex(),
                "headers": [[k, None if v is None else v.hex()] for k, v in (m.headers() or [])],
                "value": natural(value),
            }))
            consumer.commit(offsets=[TopicPartition(m.topic(), m.partition(), m.offset() + 1)], asynchronous=False)
    finally:
        consumer.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "produce":
        produce(*args)
    elif mode == "consume":
        consume(args[0], args[1], int(args[2]), args[3])
    else:
        sys.exit(f"confluent-python agent: unknown mode {mode!r}")
