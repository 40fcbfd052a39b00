<?php
use PHPUnit\Framework\TestCase;

final class RoundTripTest extends TestCase
{
    public function testAvroOrdersGoAndComeBackAsTheyWere(): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('orders.php');
        $client->setSerializer($topic, 'avro', kpipe_order_avsc(), 'string');
        $orders = array_slice(kpipe_orders(), 0, 5);
        $p = $client->producer();
        foreach ($orders as $o) {
            $md = $p->send(topic: $topic, value: $o, key: $o['order_id'], headers: ['source' => 'php']);
            $this->assertInstanceOf(Kpipe\RecordMetadata::class, $md);
            $this->assertSame('online', $md->cluster);
            $this->assertSame($topic, $md->topic);
        }
        $got = [];
        foreach (kpipe_consume($client, $topic, 5) as $r) {
            $got[$r['key']] = $r;  // partitions interleave: match by key
        }
        foreach ($orders as $o) {
            $i = $o['order_id'];
            $this->assertArrayHasKey($i, $got);
            $v = $got[$i]['value'];
            $this->assertSame($o['customer_id'], $v['customer_id']);
            $this->assertSame($o['amount'], $v['amount']);
            $this->assertSame($o['items'], $v['items']);
            $this->assertSame($o['attributes'], $v['attributes']);
            $this->assertInstanceOf(DateTimeImmutable::class, $v['created_at']);
            $this->assertSame($o['created_at']->format('U.u'), $v['created_at']->format('U.u'));
            $this->assertSame('php', $got[$i]['message']->header('source'));
        }
    }

    public function testSendManyAnswersPerRecordAndSendsTheGoodOnes(): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('orders.php.many');
        $client->setSerializer($topic, 'avro', kpipe_order_avsc(), 'string');
        [$a, $b, $c] = array_slice(kpipe_orders(), 0, 3);
        $b['mileage_km'] = 'many';
        $p = $client->producer();
        $res = $p->sendMany($topic, [
            ['key' => 'a', 'value' => $a], ['key' => 'b', 'value' => $b], ['key' => 'c', 'value' => $c],
        ]);
        $this->assertCount(3, $res);
        $this->assertInstanceOf(Kpipe\RecordMetadata::class, $res[0]);
        $this->assertInstanceOf(Kpipe\Exception\SerdeException::class, $res[1]);
        $this->assertSame('serde.encode', $res[1]->getErrorCode());
        $this->assertStringStartsWith('Order.mileage_km: ', $res[1]->getMessage());
        $this->assertInstanceOf(Kpipe\RecordMetadata::class, $res[2]);
        // queue() is all or nothing: the bad record throws and none of that call is queued
        try {
            $p->queue($topic, [['key' => 'd', 'value' => $a], ['key' => 'e', 'value' => $b]]);
            $this->fail('queue() took a record it cannot serialize');
        } catch (Kpipe\Exception\SerdeException $e) {
            $this->assertSame('serde.encode', $e->getErrorCode());
        }
        $p->flush();
        $keys = array_map(fn ($r) => $r['key'], kpipe_consume($client, $topic, 2));
        sort($keys);
        $this->assertSame(['a', 'c'], $keys);
        $c2 = $client->consumer(kpipe_unique('php.g'), [$topic], start: 'earliest');
        $n = 0;
        while ($c2->poll(3000) !== null) {
            $n++;
        }
        $c2->close();
        $this->assertSame(2, $n, 'only the two good records are in the topic');
    }

    public function testAMapWhoseKeysLookLikeAListGoesAndComesBack(): void
    {
        // PHP turns ['0' => 'a', '1' => 'b'] into the list ['a', 'b']: still a map to Avro
        $s = new Kpipe\Schema('{"type":"map","values":"string"}');
        $list = $s->encode(['a', 'b']);
        $this->assertSame(bin2hex($s->encode(['0' => 'a', '1' => 'b'])), bin2hex($list));
        $this->assertSame('{"0":"a","1":"b"}', $s->toJson($list));
        $back = $s->decode($list);
        $this->assertSame(['a', 'b'], $back);
        $this->assertSame(bin2hex($list), bin2hex($s->encode($back)), 'what was read can be sent again');
        // a record still needs its fields: a non-empty list is not a record
        $r = new Kpipe\Schema('{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}');
        $this->expectException(Kpipe\Exception\SerdeException::class);
        $r->encode(['x']);
    }
}
