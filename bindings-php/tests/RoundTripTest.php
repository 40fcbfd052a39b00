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
}
