"""Core errors reach Python as KpipeError subclasses with the core's code and message."""
import os

import pytest

import kpipe
from conftest import base_config, closed_port, unique

FAMILIES = {
    "config": kpipe.ConfigError, "route": kpipe.ConfigError, "registry": kpipe.RegistryError,
    "schema": kpipe.SchemaError, "serde": kpipe.SerializationError, "kafka": kpipe.KafkaError,
    "topic": kpipe.KafkaError, "offsets": kpipe.OffsetsError, "input": kpipe.InputError,
    "closed": kpipe.ClosedError, "handler": kpipe.HandlerError, "process": kpipe.ForkError,
    "internal": kpipe.InternalError,
}


def test_every_core_code_has_a_class():
    codes = dict(kpipe.ERROR_CODES)
    assert len(codes) == 27
    for code, cls_name in codes.items():
        cls = getattr(kpipe, cls_name)
        assert cls is FAMILIES[code.split(".")[0]], code
        assert issubclass(cls, kpipe.KpipeError)
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "python.md")) as f:
        doc = f.read()
    for code in codes:
        assert f"`{code}`" in doc, f"docs/python.md does not list {code}"


def test_bad_value_names_the_field_path(client, topic, order_schema, orders):
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)
    bad = dict(orders[1])
    bad["items"] = [dict(i) for i in bad["items"]]
    bad["items"][1]["qty"] = "two"
    with pytest.raises(kpipe.SerializationError) as e:
        client.producer().send(topic, bad, key="k")
    assert e.value.code == "serde.encode"
    assert e.value.message.startswith("Order.items[1].qty: expected int")
    assert str(e.value) == e.value.message
    assert e.value.retriable is False
    # the core's details record: the field path, nothing it does not know
    assert e.value.field.startswith("Order.items[1].qty")
    assert (e.value.fatal, e.value.topic, e.value.offset, e.value.schema_id) == (False, None, None, None)


def test_a_decode_error_names_its_record(client, topic, order_schema):
    """A consumed record that cannot be decoded: the error carries topic, partition, offset."""
    client.producer().send(topic, b"not avro")
    client.set_serializer(topic, value="avro", schema=order_schema)
    with client.consumer(group=unique("py.decode"), topics=[topic], start="earliest") as c:
        msg = c.poll(30)
        assert msg is not None
        with pytest.raises(kpipe.SerializationError) as e:
            msg.value
    assert e.value.code == "serde.bad_magic"
    assert (e.value.topic, e.value.partition, e.value.offset) == (topic, msg.partition, msg.offset)
    assert e.value.fatal is False and e.value.retriable is False


def test_missing_field_and_wrong_type():
    s = kpipe.Schema('{"type":"record","name":"T","fields":[{"name":"a","type":"long"}]}')
    with pytest.raises(kpipe.SerializationError, match=r"^T.a: expected long"):
        s.encode({"a": "x"})
    with pytest.raises(kpipe.SerializationError, match=r"^T.a: "):
        s.encode({})
    with pytest.raises(kpipe.SerializationError):
        s.encode({"a": 1.5})


def test_unknown_topic_route():
    cfg = base_config(routes=[{"topic": "orders.*", "cluster": "online"}])
    c = kpipe.Client.from_dict(cfg)
    with pytest.raises(kpipe.ConfigError) as e:
        c.producer().send("payments.nowhere", b"x")
    assert e.value.code == "route.no_cluster"
    assert "payments.nowhere" in e.value.message
    with pytest.raises(kpipe.ConfigError):
        c.cluster_for("payments.nowhere")


def test_registry_down(order_schema, orders):
    cfg = base_config(registry={"url": f"http://127.0.0.1:{closed_port()}", "retry": {"deadline_ms": 800}})
    c = kpipe.Client.from_dict(cfg)
    topic = unique("py.regdown")
    c.set_serializer(topic, key="string", value="avro", schema=order_schema)
    with pytest.raises(kpipe.RegistryError) as e:
        c.producer().send(topic, orders[0], key="k")
    assert e.value.code == "registry.unavailable"
    assert e.value.retriable is True


def test_bad_config(tmp_path):
    with pytest.raises(kpipe.ConfigError) as e:
        kpipe.Client.from_dict(dict(base_config(), surprise=1))
    assert e.value.code == "config.invalid" and "surprise" in e.value.message
    with pytest.raises(kpipe.ConfigError) as e:
        kpipe.Client.from_file(str(tmp_path / "nope.yaml"))
    assert e.value.code == "config.invalid"
    p = tmp_path / "k.yaml"
    p.write_text("clusters: {business: {bootstrap: '127.0.0.1:1', typo: 1}}\n")
    with pytest.raises(kpipe.ConfigError, match="typo"):
        kpipe.Client.from_file(str(p))
    with pytest.raises(kpipe.ConfigError):
        kpipe.Client.from_dict(base_config()).set_serializer("t", value="xml")


def test_schema_errors():
    with pytest.raises(kpipe.SchemaError) as e:
        kpipe.Schema('{"type":"record","name":"T"}')
    assert e.value.code == "schema.invalid"


def test_closed_after_close(config):
    c = kpipe.Client.from_dict(config)
    c.close()
    c.close()  # idempotent
    with pytest.raises(kpipe.ClosedError) as e:
        c.producer().send(unique("py.closed"), b"x")
    assert e.value.code == "closed" and e.value.fatal is True


def test_consumer_topics_on_two_clusters(client):
    with pytest.raises(kpipe.ConfigError) as e:
        client.consumer(group=unique("g"), topics=["orders.a", "payments.b"])
    assert e.value.code == "config.invalid"


@pytest.mark.parametrize("prop", ["sasl.passwd", "linger.ms", "sasl.password"])
def test_a_secret_in_a_rejected_property_never_shows(monkeypatch, prop):
    # a ${VAR} secret under a key librdkafka rejects (unknown name, bad value): refused at load,
    # naming the key, without the secret anywhere in the error
    monkeypatch.setenv("KPIPE_PY_TEST_PW", "S3cr3t-Pa55word")
    props = {prop: "${KPIPE_PY_TEST_PW}"}
    if prop == "sasl.password":
        props["security.protocol"] = "${KPIPE_PY_TEST_PW}"  # invalid value, same secret
    yaml = ("clusters:\n  business:\n    bootstrap: 127.0.0.1:1\n    properties:\n"
            + "".join(f"      {k}: '{v}'\n" for k, v in props.items()))
    with pytest.raises(kpipe.ConfigError) as e:
        kpipe.Client.from_yaml(yaml)
    text = f"{e.value} {e.value!r} {e.value.message} {e.value.args}"
    assert "S3cr3t" not in text, text
    assert e.value.code == "config.invalid"
    assert e.value.message.startswith("clusters.business.properties."), e.value.message
