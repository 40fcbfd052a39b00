<?php
use PHPUnit\Framework\TestCase;

/** Reader schemas (setSerializer's reader / key_reader) and null header values, on the live stack. */
final class ReadersTest extends TestCase
{
    private const V1 = '{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"old","type":"string","default":"x"}]}';
    private const V2 = '{"type":"record","name":"Reading","namespace":"kpipe.it","fields":[{"name":"id","type":"long"},{"name":"unit","type":"string","default":"celsius"}]}';

    public function testAV1RecordReadWithAV2ReaderGetsTheDefault(): void
    {
        $topic = kpipe_unique('php.readers');
        $writer = kpipe_client();
        $writer->setSerializer($topic, 'avro', self::V1);
        $writer->producer()->send($topic, ['id' => 1, 'old' => 'o']);

        $client = kpipe_client();
        $client->setSerializer($topic, 'avro', self::V2);
        $this->assertSame(['id' => 1, 'unit' => 'celsius'], kpipe_consume($client, $topic, 1)[0]['value']);
        $client->setSerializer($topic, 'avro', self::V2, reader: 'writer');
        $this->assertSame(['id' => 1, 'old' => 'o'], kpipe_consume($client, $topic, 1)[0]['value']);
    }

    public function testReaderLatestProjectsToTheSubjectsLatestVersion(): void
    {
        $topic = kpipe_unique('php.readers.latest');
        // V2 drops a field, which the house policy forbids: the writer registers with NONE
        $writer = kpipe_client(['schemas' => ['policy' => 'NONE']]);
        $writer->setSerializer($topic, 'avro', self::V1);
        $writer->producer()->send($topic, ['id' => 5, 'old' => 'o']);
        $writer->setSerializer($topic, 'avro', self::V2);
        $writer->producer()->send($topic, ['id' => 6, 'unit' => 'kelvin']);

        $client = kpipe_client();
        $client->setSerializer($topic, 'avro', reader: 'latest');
        $values = array_column(kpipe_consume($client, $topic, 2), 'value');
        $this->assertSame([['id' => 5, 'unit' => 'celsius'], ['id' => 6, 'unit' => 'kelvin']], $values);
    }

    public function testAReaderForASerializerThatIsNotAvroIsAConfigError(): void
    {
        try {
            kpipe_client()->setSerializer(kpipe_unique('t'), 'json', key_reader: 'latest', key: 'string');
            $this->fail('no error');
        } catch (Kpipe\Exception\ConfigException $e) {
            $this->assertSame(['config.invalid', 'key_reader'], [$e->getErrorCode(), $e->getField()]);
        }
    }

    public function testNullHeaderValuesStayNullAndEmptyOnesEmpty(): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('php.headers');
        $client->producer()->send($topic, 'x', headers: [['null', null], ['empty', ''], ['text', 'v'], ['null', "\x00\x01"]]);
        $m = kpipe_consume($client, $topic, 1)[0]['message'];
        $this->assertSame([['null', null], ['empty', ''], ['text', 'v'], ['null', "\x00\x01"]], $m->headers());
        $this->assertSame([null, '', null], [$m->header('null'), $m->header('empty'), $m->header('absent')]);

        // the same through sendMany, with the name => value form
        $topic = kpipe_unique('php.headers.many');
        $client->producer()->sendMany($topic, [['value' => 'a', 'headers' => ['n' => null, 'e' => '']]]);
        $m = kpipe_consume($client, $topic, 1)[0]['message'];
        $this->assertSame([['n', null], ['e', '']], $m->headers());
    }
}
