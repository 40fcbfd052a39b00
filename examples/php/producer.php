<?php
// The demo's web producer (PHP side): one order per request, as registry-aware Avro on a
// topic routed by kpipe.yaml. Serve it with php-fpm (or `php -S`) with the kpipe extension
// loaded; the client is cached per worker, so requests reuse its connections; the record is
// queued and the extension awaits it when the request ends (a failure is logged), so the
// response does not wait for the broker.
//
//   php -d extension=bindings-php/modules/kpipe.so -S 127.0.0.1:8080 examples/php/producer.php
//   curl 'http://127.0.0.1:8080/?topic=orders.demo.php&city=Wuhan&amount=199.90'
//
// From the command line it sends --count orders and waits for each (a cron job, a worker):
//   php -d extension=bindings-php/modules/kpipe.so examples/php/producer.php kpipe.yaml orders.demo.php 5

function order(string $city, string $amount): array
{
    return [
        'order_id' => sprintf('%s-%s-4%s-a%s-%s', bin2hex(random_bytes(4)), bin2hex(random_bytes(2)), substr(bin2hex(random_bytes(2)), 1), substr(bin2hex(random_bytes(2)), 1), bin2hex(random_bytes(6))),
        'customer_id' => random_int(1, 10 ** 9),
        'created_at' => new DateTimeImmutable('now', new DateTimeZone('UTC')),
        'status' => 'CREATED',
        'amount' => $amount,                       // decimals are strings
        'currency' => 'CNY',
        'city' => $city,
        'vehicle_vin' => null,
        'mileage_km' => random_int(0, 300000),
        'price_score' => random_int(0, 1000) / 1000,
        'items' => [['sku' => 'SKU-' . random_int(100000, 999999), 'qty' => 1, 'unit_price' => (float) $amount]],
        'attributes' => ['channel' => PHP_SAPI === 'cli' ? 'cron' : 'web'],
    ];
}

function client(string $config, string $topic): Kpipe\Client
{
    $client = Kpipe\Client::fromFile($config);
    $client->setSerializer($topic, 'avro', file_get_contents(__DIR__ . '/../order.avsc'), 'string');
    return $client;
}

if (PHP_SAPI === 'cli') {
    [$config, $topic, $count] = [$argv[1] ?? 'kpipe.yaml', $argv[2] ?? 'orders.demo.php', (int) ($argv[3] ?? 5)];
    $producer = client($config, $topic)->producer();
    for ($i = 0; $i < $count; $i++) {
        $o = order('Wuhan', sprintf('%d.%02d', random_int(1, 99999), random_int(0, 99)));
        $md = $producer->send(topic: $topic, value: $o, key: $o['order_id'], headers: ['kpipe.demo.seq' => (string) $i]);
        echo "sent seq=$i order_id={$o['order_id']} -> {$md->cluster}/{$md->topic} p{$md->partition}@{$md->offset}\n";
    }
    exit(0);
}

header('Content-Type: application/json');
try {
    $topic = $_GET['topic'] ?? 'orders.demo.php';
    $o = order($_GET['city'] ?? 'Wuhan', $_GET['amount'] ?? '1.00');
    client(getenv('KPIPE_CONFIG') ?: __DIR__ . '/../../kpipe.yaml', $topic)->producer()->queue($topic, ['key' => $o['order_id'], 'value' => $o]);
    echo json_encode(['queued' => $o['order_id'], 'topic' => $topic]), "\n";
} catch (Kpipe\Exception\KpipeException $e) {
    http_response_code($e->isRetriable() ? 503 : 400);
    echo json_encode(['error' => $e->getErrorCode(), 'message' => $e->getMessage()]), "\n";
}
