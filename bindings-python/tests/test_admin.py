"""client.admin (offsets for time, export/import, reset) and Consumer.seek_to_time."""
import datetime as dt

from conftest import consume, unique

UTC = dt.timezone.utc
T0 = 1_780_000_000_000


def produce_timed(client, topic):
    p = client.producer()
    for i in range(4):
        p.send(topic, f"v{i}".encode(), timestamp=T0 + i * 1000)


def test_offsets_for_time_reset_export_import(client, topic):
    produce_timed(client, topic)
    at = dt.datetime.fromtimestamp((T0 + 2000) / 1000, UTC)
    offs = client.admin.offsets_for_time(topic, at)
    assert offs == {0: 2}
    assert client.admin.offsets_for_time(topic, T0 + 10_000) == {0: 4}
    group = unique("py.admin")
    changes = client.admin.reset(group, [topic], at)
    assert changes == [{"topic": topic, "partition": 0, "before": None, "after": 2}]
    doc = client.admin.export(group, topics=[topic])
    assert doc["group"] == group and doc["cluster"] == "business"
    assert doc["offsets"] == [{"topic": topic, "partition": 0, "offset": 2}]
    other = unique("py.admin.copy")
    client.admin.import_(doc, group=other)
    assert client.admin.export(other, topics=[topic])["offsets"][0]["offset"] == 2
    # a consumer of the reset group starts at the committed offset
    (m,) = consume(client, topic, 1, group=group, start="committed")
    assert m.value == b"v2"
    dry = client.admin.reset(group, [topic], "earliest", dry_run=True)
    assert dry[0]["after"] == 0


def test_seek_to_time_and_start_at_datetime(client, topic):
    produce_timed(client, topic)
    start = dt.datetime.fromtimestamp((T0 + 1000) / 1000, UTC)
    got = consume(client, topic, 3, start=start)
    assert [m.value for m in got] == [b"v1", b"v2", b"v3"]
    with client.consumer(group=unique("py.seek"), topics=[topic], start="earliest") as c:
        first = c.poll(20)
        assert first is not None and first.value == b"v0"
        moved = c.seek_to_time(dt.datetime.fromtimestamp((T0 + 3000) / 1000, UTC))
        assert moved == [(topic, 0, 3)]
        m = c.poll(20)
        assert m is not None and m.value == b"v3"


def test_migrate_plan_between_clusters(client):
    topic = unique("py.mig")
    produce_timed(client, topic)
    plan = client.admin.migrate_plan(unique("py.mig.g"), "business", "offline", topics=[topic])
    d = plan.to_dict()
    assert d["source"] == "business" and d["target"] == "offline"
    assert isinstance(plan.commits(), list)
