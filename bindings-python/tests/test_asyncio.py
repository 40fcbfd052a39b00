"""asyncio: send_async and `async for msg in consumer.stream()` never block the event loop."""
import asyncio
import time

import kpipe
from conftest import unique


async def ticker(stop, ticks):
    while not stop.is_set():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.01)


def max_gap(ticks):
    return max((b - a for a, b in zip(ticks, ticks[1:])), default=0)


def test_send_async_and_stream(client, topic, order_schema, orders):
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)
    producer = client.producer()

    async def main():
        stop, ticks = asyncio.Event(), []
        tick = asyncio.create_task(ticker(stop, ticks))
        metas = await asyncio.gather(*(producer.send_async(topic, orders[i % 2], key=f"k{i}") for i in range(20)))
        assert all(isinstance(m, kpipe.RecordMetadata) and m.topic == topic for m in metas)
        got = []
        consumer = client.consumer(group=unique("py.async"), topics=[topic], start="earliest")
        async for msg in consumer.stream():
            got.append((msg.key, msg.value))
            if len(got) == 20:
                break
        consumer.close()
        stop.set()
        await tick
        return got, ticks

    got, ticks = asyncio.run(main())
    assert sorted(k for k, _ in got) == sorted(f"k{i}" for i in range(20))
    assert all(v == orders[int(k[1:]) % 2] for k, v in got)
    # the loop kept ticking while records were sent and awaited
    assert len(ticks) > 5 and max_gap(ticks) < 0.5, max_gap(ticks)


def test_send_async_errors_reach_the_awaiter(client, topic, order_schema):
    client.set_serializer(topic, key="string", value="avro", schema=order_schema)

    async def main():
        try:
            await client.producer().send_async(topic, {"order_id": "nope"})
        except kpipe.SerializationError as e:
            return e

    e = asyncio.run(main())
    assert e is not None and e.code == "serde.encode" and e.message.startswith("Order.order_id: ")


def test_stream_ends_when_closed(client, topic):
    async def main():
        consumer = client.consumer(group=unique("py.async.close"), topics=[topic], start="earliest")
        asyncio.get_running_loop().call_later(0.5, consumer.close)
        n = 0
        async for _ in consumer.stream():
            n += 1
        return n

    assert asyncio.run(asyncio.wait_for(main(), 10)) == 0
