<?php
// One client, one repetition of the PHP benchmark (bench/php/run drives it). Loads ONE Kafka
// extension: kpipe.so (which bundles its own librdkafka) or php-rdkafka's rdkafka.so (Debian's
// librdkafka.so), never both in one process.
//
//   php -n -d extension=.../kpipe.so   bench/php/client.php kpipe   --data F --n N --want SUM --topic T [--linger 5] [--kpipe-mode queue|send-many]
//   php -n -d extension=.../rdkafka.so bench/php/client.php rdkafka --data F --n N --want SUM --topic T [--linger 5]
//
// Reads the first N Order records of F (JSON lines of gen_order.py) into native PHP arrays
// before the clock starts (created_at as int milliseconds, amount as decimal text, attributes
// as an array), produces them to the (already created, 6-partition) topic T with key =
// order_id, acks=all, idempotence on, then consumes T with a fresh group from earliest until N
// records are decoded. Prints one JSON line. The correctness gate (N unique (partition,
// offset), sum of the decoded mileage_km == SUM, every record delivered) makes a wrong run
// exit 1.

use Apache\Avro\Datum\AvroIOBinaryDecoder;
use Apache\Avro\Datum\AvroIOBinaryEncoder;
use Apache\Avro\Datum\AvroIODatumReader;
use Apache\Avro\Datum\AvroIODatumWriter;
use Apache\Avro\IO\AvroStringIO;
use Apache\Avro\Schema\AvroSchema;

const IDLE_TIMEOUT_S = 60;  // consume gives up (gate failure) after this long without a record

function fail(string $msg): never
{
    fwrite(STDERR, "client.php: $msg\n");
    exit(1);
}

function opts(array $argv): array
{
    $o = ['linger' => '5', 'kpipe-mode' => 'queue', 'chunk' => '10000'];
    for ($i = 2; $i < count($argv); $i++) {
        if (!str_starts_with($argv[$i], '--') || !isset($argv[$i + 1])) {
            fail("bad argument {$argv[$i]}");
        }
        $o[substr($argv[$i], 2)] = $argv[++$i];
    }
    foreach (['data', 'n', 'want', 'topic'] as $k) {
        isset($o[$k]) || fail("--$k is required");
    }
    return $o;
}

function load(string $path, int $n): array
{
    $f = fopen($path, 'r') ?: fail("cannot read $path");
    $out = [];
    while (count($out) < $n && ($l = fgets($f)) !== false) {
        $out[] = json_decode($l, true, 512, JSON_THROW_ON_ERROR);
    }
    fclose($f);
    count($out) === $n || fail("$path holds " . count($out) . " records, not $n");
    return $out;
}

/** CPU seconds of this process (every thread: librdkafka's included). */
function cpu(): float
{
    $r = getrusage();
    return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6 + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
}

/** The gate: N unique (partition, offset) and the checksum of the decoded records. */
function gate(string $name, array $seen, int $sum, int $n, int $want): void
{
    if (count($seen) !== $n || $sum !== $want) {
        fail(sprintf('correctness gate failed for %s: %d unique (partition, offset) of %d, checksum %d, want %d', $name, count($seen), $n, $sum, $want));
    }
}

// ---------------------------------------------------------------- kpipe

function run_kpipe(array $o, array $orders): array
{
    $topic = $o['topic'];
    $n = count($orders);
    $client = Kpipe\Client::fromYaml(json_encode([
        'clusters' => ['business' => ['bootstrap' => getenv('KPIPE_BUSINESS_BOOTSTRAP')]],
        'registry' => ['url' => getenv('KPIPE_REGISTRY_URL')],
        'routes' => [['topic' => '*', 'cluster' => 'business']],
        'producer' => ['acks' => 'all', 'idempotence' => true, 'linger_ms' => (int) $o['linger']],
    ]));
    $client->setSerializer($topic, 'avro', file_get_contents($o['schema']), key: 'string');
    $p = $client->producer();
    $chunk = (int) $o['chunk'];
    $mode = $o['kpipe-mode'];
    in_array($mode, ['queue', 'send-many'], true) || fail("--kpipe-mode queue|send-many, not $mode");

    $t0 = hrtime(true);
    $c0 = cpu();
    $delivered = 0;  // queue: records queued (flush() throws if any of them failed)
    for ($i = 0; $i < $n; $i += $chunk) {
        $batch = [];
        foreach (array_slice($orders, $i, $chunk) as $v) {
            $batch[] = ['key' => $v['order_id'], 'value' => $v];
        }
        if ($mode === 'queue') {
            $delivered += $p->queue($topic, $batch);
        } else {
            foreach ($p->sendMany($topic, $batch) as $r) {
                if ($r instanceof Throwable) {
                    fail('kpipe delivery failed: ' . $r->getMessage());
                }
                $delivered++;
            }
        }
    }
    if ($mode === 'queue') {
        try {
            $p->flush(120000);  // waits for every queued record; throws the first failed delivery
        } catch (Kpipe\Exception\KpipeException $e) {
            fail('kpipe delivery failed: ' . $e->getMessage());
        }
    }
    $prodWall = (hrtime(true) - $t0) / 1e9;
    $prodCpu = cpu() - $c0;
    $delivered === $n || fail("kpipe: $delivered of $n records delivered");

    $t0 = hrtime(true);
    $c0 = cpu();
    $c = $client->consumer('bench-php-' . bin2hex(random_bytes(6)), [$topic], start: 'earliest');
    $seen = [];
    $sum = 0;
    $last = microtime(true);
    while (count($seen) < $n) {
        $m = $c->poll(1000);
        if ($m === null) {
            if (microtime(true) - $last > IDLE_TIMEOUT_S) {
                break;
            }
            continue;
        }
        $v = $m->value();
        $seen[($m->partition << 40) | $m->offset] = true;
        $sum += $v['mileage_km'];
        $last = microtime(true);
    }
    $consWall = (hrtime(true) - $t0) / 1e9;
    $consCpu = cpu() - $c0;
    $c->close();
    gate('kpipe', $seen, $sum, $n, (int) $o['want']);
    $client->close();
    return [$prodWall, $prodCpu, $consWall, $consCpu, ['kpipe_version' => Kpipe\Client::version(), 'kpipe_mode' => $mode]];
}

// ---------------------------------------------------------------- php-rdkafka + avro-php

spl_autoload_register(function (string $class): void {
    // PSR-4 for Apache\Avro\ (its composer.json); its own lib/autoload.php includes files in an
    // order that fails
    $prefix = 'Apache\\Avro\\';
    if (str_starts_with($class, $prefix)) {
        $f = getenv('KPIPE_BENCH_AVRO_LIB') . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($f)) {
            require $f;
        }
    }
});

/** The registry's Confluent API over PHP's http stream wrapper (no curl needed). */
function registry(string $method, string $path, ?array $body = null): array
{
    $ctx = stream_context_create(['http' => [
        'method' => $method,
        'header' => "Content-Type: application/vnd.schemaregistry.v1+json\r\nAccept: application/vnd.schemaregistry.v1+json, application/json\r\n",
        'content' => $body === null ? '' : json_encode($body),
        'ignore_errors' => true,
        'timeout' => 30,
    ]]);
    $url = rtrim(getenv('KPIPE_REGISTRY_URL'), '/') . $path;
    $text = file_get_contents($url, false, $ctx);
    $status = $http_response_header[0] ?? '';
    if ($text === false || !preg_match('#^HTTP/\S+ 2\d\d#', $status)) {
        fail("registry $method $url: $status $text");
    }
    return json_decode($text, true, 512, JSON_THROW_ON_ERROR);
}

function run_rdkafka(array $o, array $orders): array
{
    $topic = $o['topic'];
    $n = count($orders);
    $boot = getenv('KPIPE_BUSINESS_BOOTSTRAP');
    $schemaText = file_get_contents($o['schema']);
    // what flix-tech/avro-serde-php does: register once per subject, cache the id
    $id = registry('POST', '/subjects/' . rawurlencode("$topic-value") . '/versions', ['schema' => $schemaText])['id'];
    $writer = new AvroIODatumWriter(AvroSchema::parse($schemaText));
    $header = "\0" . pack('N', $id);

    $conf = new RdKafka\Conf();
    $conf->set('bootstrap.servers', $boot);
    $conf->set('acks', 'all');
    $conf->set('enable.idempotence', 'true');
    $conf->set('linger.ms', (string) (int) $o['linger']);
    $ok = 0;
    $errors = 0;
    $firstError = null;
    $conf->setDrMsgCb(function (RdKafka\Producer $k, RdKafka\Message $m) use (&$ok, &$errors, &$firstError): void {
        if ($m->err === RD_KAFKA_RESP_ERR_NO_ERROR) {
            $ok++;
        } else {
            $errors++;
            $firstError ??= $m->errstr();
        }
    });
    $conf->setErrorCb(function ($k, int $err, string $reason): void {
        fwrite(STDERR, "rdkafka error: " . rd_kafka_err2name($err) . ": $reason\n");
    });
    $producer = new RdKafka\Producer($conf);
    $t = $producer->newTopic($topic);

    $t0 = hrtime(true);
    $c0 = cpu();
    $i = 0;
    foreach ($orders as $v) {
        $io = new AvroStringIO();
        $writer->write($v, new AvroIOBinaryEncoder($io));
        $payload = $header . $io->string();
        for (;;) {
            try {
                $t->produce(RD_KAFKA_PARTITION_UA, 0, $payload, $v['order_id']);
                break;
            } catch (RdKafka\Exception $e) {
                if ($e->getCode() !== RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    throw $e;
                }
                $producer->poll(10);
            }
        }
        if ((++$i & 1023) === 0) {
            $producer->poll(0);
        }
    }
    $tries = 0;
    while (($rc = $producer->flush(10000)) !== RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (++$tries >= 12) {
            fail('rdkafka flush: ' . rd_kafka_err2str($rc));
        }
    }
    $prodWall = (hrtime(true) - $t0) / 1e9;
    $prodCpu = cpu() - $c0;
    if ($ok !== $n) {
        fail("rdkafka: $ok of $n records delivered, $errors failed" . ($firstError ? " (first: $firstError)" : ''));
    }
    unset($t, $producer);

    $t0 = hrtime(true);
    $c0 = cpu();
    $cc = new RdKafka\Conf();
    $cc->set('bootstrap.servers', $boot);
    $cc->set('group.id', 'bench-php-' . bin2hex(random_bytes(6)));
    $cc->set('auto.offset.reset', 'earliest');
    $consumer = new RdKafka\KafkaConsumer($cc);
    $consumer->subscribe([$topic]);
    $readers = [];  // schema id => AvroIODatumReader of the writer schema (GET /schemas/ids/{id} once)
    $seen = [];
    $sum = 0;
    $last = microtime(true);
    while (count($seen) < $n) {
        $m = $consumer->consume(1000);
        if ($m->err !== RD_KAFKA_RESP_ERR_NO_ERROR) {
            if ($m->err === RD_KAFKA_RESP_ERR__TIMED_OUT || $m->err === RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (microtime(true) - $last > IDLE_TIMEOUT_S) {
                    break;
                }
                continue;
            }
            fail('rdkafka consume: ' . $m->errstr());
        }
        $body = $m->payload;
        if (strlen($body) < 5 || $body[0] !== "\0") {
            fail("rdkafka: record {$m->partition}/{$m->offset} has no Confluent header");
        }
        $sid = unpack('N', $body, 1)[1];
        $reader = $readers[$sid] ??= new AvroIODatumReader(AvroSchema::parse(registry('GET', "/schemas/ids/$sid")['schema']));
        $v = $reader->read(new AvroIOBinaryDecoder(new AvroStringIO(substr($body, 5))));
        $seen[($m->partition << 40) | $m->offset] = true;
        $sum += $v['mileage_km'];
        $last = microtime(true);
    }
    $consWall = (hrtime(true) - $t0) / 1e9;
    $consCpu = cpu() - $c0;
    // not $consumer->close(): in php-rdkafka 6.0.4 close() only calls rd_kafka_consumer_close()
    // and drops the handle without rd_kafka_destroy(), so librdkafka's threads outlive the
    // object and the process segfaults at exit once rdkafka.so is unloaded (seen here about one
    // run in three). Freeing the object closes the consumer and destroys the handle.
    unset($consumer);
    gate('rdkafka', $seen, $sum, $n, (int) $o['want']);
    $lv = RD_KAFKA_VERSION;
    return [$prodWall, $prodCpu, $consWall, $consCpu, [
        'php_rdkafka' => phpversion('rdkafka'),
        'librdkafka' => sprintf('%d.%d.%d', ($lv >> 24) & 0xff, ($lv >> 16) & 0xff, ($lv >> 8) & 0xff),
    ]];
}

// ---------------------------------------------------------------- main

$name = $argv[1] ?? '';
$o = opts($argv);
$o['schema'] ??= __DIR__ . '/../../../shared/bench/order.avsc';
$n = (int) $o['n'];
$orders = load($o['data'], $n);
gc_collect_cycles();
[$pw, $pc, $cw, $cc, $extra] = match ($name) {
    'kpipe' => extension_loaded('kpipe') && !extension_loaded('rdkafka') ? run_kpipe($o, $orders) : fail('load kpipe.so, and only it'),
    'rdkafka' => extension_loaded('rdkafka') && !extension_loaded('kpipe') ? run_rdkafka($o, $orders) : fail('load rdkafka.so, and only it'),
    default => fail("usage: client.php kpipe|rdkafka --data F --n N --want SUM --topic T [--linger MS]"),
};
echo json_encode([
    'client' => $name,
    'n' => $n,
    'linger_ms' => (int) $o['linger'],
    'produce_rps' => (int) round($n / $pw),
    'consume_rps' => (int) round($n / $cw),
    'produce_s' => round($pw, 3),
    'consume_s' => round($cw, 3),
    'produce_cpu_s_per_1m' => round($pc * 1e6 / $n, 2),
    'consume_cpu_s_per_1m' => round($cc * 1e6 / $n, 2),
    'max_rss_mb' => (int) round(getrusage()['ru_maxrss'] / 1024),
] + $extra), "\n";
