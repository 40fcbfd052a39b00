<?php
// Errors: one exception class per code family, derived from the core's code list; the core's
// code, message and details; the shared bad-option cases of tests/conformance/options.json.
use Kpipe\Exception\KpipeException;
use PHPUnit\Framework\TestCase;

final class ErrorsTest extends TestCase
{
    public function testEveryCoreCodeHasItsFamilyClass(): void
    {
        $codes = Kpipe\Client::errorCodes();
        $this->assertContains('process.forked', $codes);
        $this->assertContains('config.invalid', $codes);
        $families = ['config' => 'Config', 'route' => 'Config', 'registry' => 'Registry', 'schema' => 'Schema',
            'serde' => 'Serde', 'kafka' => 'Kafka', 'topic' => 'Kafka', 'offsets' => 'Offsets', 'input' => 'Input',
            'closed' => 'Closed', 'handler' => 'Handler', 'process' => 'Fork', 'internal' => 'Internal'];
        foreach ($codes as $code) {
            $cls = 'Kpipe\\Exception\\' . $families[explode('.', $code)[0]] . 'Exception';
            $this->assertTrue(class_exists($cls), $cls);
            $this->assertTrue(is_subclass_of($cls, KpipeException::class), $cls);
        }
        $this->assertTrue(is_subclass_of(KpipeException::class, RuntimeException::class));
    }

    public function testAConfigErrorCarriesTheCoreDetails(): void
    {
        try {
            Kpipe\Client::fromYaml('clusters: 5');
            $this->fail('no error');
        } catch (Kpipe\Exception\ConfigException $e) {
            $this->assertSame('config.invalid', $e->getErrorCode());
            $this->assertSame('clusters', $e->getField());
            $this->assertFalse($e->isRetriable());
            $this->assertFalse($e->isFatal());
            $this->assertStringStartsWith('clusters: ', $e->getMessage());
            $d = $e->getDetails();
            $this->assertSame(['code', 'message', 'retriable', 'fatal', 'field', 'cluster', 'topic', 'partition', 'offset', 'subject', 'schema_id'], array_keys($d));
            $this->assertSame($e->getMessage(), $d['message']);
            $this->assertSame(__LINE__ - 11, $e->getLine(), 'the exception points at the PHP call');
        }
    }

    public function testAMissingFileIsAConfigError(): void
    {
        $this->expectException(Kpipe\Exception\ConfigException::class);
        Kpipe\Client::fromFile('/nonexistent/kpipe.yaml');
    }

    public function testAValueThatDoesNotFitNamesTheField(): void
    {
        $s = new Kpipe\Schema(kpipe_order_avsc());
        $o = kpipe_orders()[0];
        $o['items'][0]['qty'] = 'two';
        try {
            $s->encode($o);
            $this->fail('no error');
        } catch (Kpipe\Exception\SerdeException $e) {
            $this->assertSame('serde.encode', $e->getErrorCode());
            $this->assertSame('Order.items[0].qty', $e->getField());
            $this->assertStringStartsWith('Order.items[0].qty: expected int', $e->getMessage());
        }
    }

    public function testNoFatalErrorOnOddInputs(): void
    {
        $s = new Kpipe\Schema('{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"bytes"}]}');
        foreach ([null, 1, 1.5, true, 'x', new stdClass(), [1, 2], ['a' => "\xff", 'b' => 'x'], fopen('php://memory', 'r')] as $bad) {
            try {
                $s->encode($bad);
                $this->fail('encoded ' . gettype($bad));
            } catch (Kpipe\Exception\SerdeException $e) {
                $this->assertSame('serde.encode', $e->getErrorCode());
            }
        }
        foreach (["", "\x01", str_repeat("\xff", 64)] as $body) {
            try {
                $s->decode($body);
                $this->fail('decoded ' . bin2hex($body));
            } catch (Kpipe\Exception\SerdeException $e) {
                $this->assertSame('serde.decode', $e->getErrorCode());
            }
        }
        // an object the encoder does not take is named by its class
        try {
            (new Kpipe\Schema('{"type":"map","values":"string"}'))->encode(new ArrayObject(['k' => 'v']));
            $this->fail('encoded an ArrayObject');
        } catch (Kpipe\Exception\SerdeException $e) {
            $this->assertStringEndsWith('expected map<string>, got object of class ArrayObject', $e->getMessage());
        }
        $this->expectException(Kpipe\Exception\SchemaException::class);
        new Kpipe\Schema('{"type":"nope"}');
    }

    public static function optionCases(): array
    {
        $cases = json_decode(file_get_contents(KPIPE_ROOT . '/tests/conformance/options.json'), true)['cases'];
        $out = [];
        foreach ($cases as $c) {
            if (in_array('php', $c['surfaces'], true)) {
                $out[$c['option']] = [$c];
            }
        }
        return $out;
    }

    public function testEveryOptionWithAPhpSurfaceIsCovered(): void
    {
        $this->assertSame(['strategy', 'serializer', 'start', 'commit', 'ack', 'reset', 'reader'], array_keys(self::optionCases()));
    }

    /** @dataProvider optionCases */
    public function testBadOptionGivesTheCoreCodeAndMessage(array $c): void
    {
        $client = kpipe_client();
        try {
            match ($c['option']) {
                'strategy' => $client->migratePlan(kpipe_unique('g'), 'business', 'offline', null, $c['value']),
                'serializer' => $client->setSerializer(kpipe_unique('t'), $c['value']),
                'start' => $client->consumer(kpipe_unique('g'), kpipe_unique('t'), $c['value']),
                'commit' => $client->consumer(kpipe_unique('g'), kpipe_unique('t'), null, $c['value']),
                'ack' => $client->consumer(kpipe_unique('g'), kpipe_unique('t'), null, null, $c['value']),
                'reader' => $client->setSerializer(kpipe_unique('t'), 'avro', kpipe_order_avsc(), reader: $c['value']),
                'reset' => $client->resetOffsets(kpipe_unique('g'), [kpipe_unique('t')], $c['value'], cluster: 'business'),
            };
            $this->fail('no error');
        } catch (Kpipe\Exception\ConfigException $e) {
            $this->assertSame($c['code'], $e->getErrorCode());
            $this->assertSame($c['message'], $e->getMessage());
            $this->assertSame($c['field'], $e->getField());
            $this->assertSame([false, false], [$e->isRetriable(), $e->isFatal()]);
        }
    }

    public function testAStartOfAnotherTypeIsATypeError(): void
    {
        $this->expectException(TypeError::class);
        kpipe_client()->consumer(kpipe_unique('g'), kpipe_unique('t'), true);
    }

    public function testADecodeErrorNamesTheRecord(): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('php.bad');
        $md = $client->producer()->send($topic, 'not avro');
        $client->setSerializer($topic, 'avro', kpipe_order_avsc());
        $c = $client->consumer(kpipe_unique('g'), $topic, 'earliest');
        try {
            $m = null;
            for ($i = 0; $i < 30 && $m === null; $i++) {
                $m = $c->poll(1000);
            }
            $this->assertNotNull($m);
            try {
                $m->value();
                $this->fail('decoded');
            } catch (Kpipe\Exception\SerdeException $e) {
                $this->assertSame('serde.bad_magic', $e->getErrorCode());
                $this->assertSame([$topic, $md->partition, $md->offset], [$e->getTopic(), $e->getPartition(), $e->getOffset()]);
            }
        } finally {
            $c->close();
        }
    }

    public function testCloseIsIdempotentAndLaterCallsFailClosed(): void
    {
        $client = kpipe_client(['producer' => ['acks' => 'all', 'delivery_timeout_ms' => 30000]]);
        $c = $client->consumer(kpipe_unique('g'), kpipe_unique('t'));
        $c->close();
        $c->close();
        $client->close();
        $client->close();
        try {
            $client->producer()->send(kpipe_unique('t'), 'x');
            $this->fail('sent after close');
        } catch (Kpipe\Exception\ClosedException $e) {
            $this->assertSame('closed', $e->getErrorCode());
            $this->assertTrue($e->isFatal());
        }
    }
}
