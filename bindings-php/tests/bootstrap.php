<?php
// Shared setup for the kpipe PHP tests. They run against the live local stack (dev/stack):
// addresses come from KPIPE_BUSINESS_BOOTSTRAP / KPIPE_ONLINE_BOOTSTRAP /
// KPIPE_OFFLINE_BOOTSTRAP / KPIPE_REGISTRY_URL (`set -a; eval "$(dev/stack env)"; set +a`).
// Every test uses its own topic and group names, since others test against the same brokers.

if (!extension_loaded('kpipe')) {
    fwrite(STDERR, "the kpipe extension is not loaded: php -d extension=target/release/libkpipe_php.so\n");
    exit(2);
}

const KPIPE_ROOT = __DIR__ . '/../..';

function kpipe_need_stack(): void
{
    foreach (['KPIPE_BUSINESS_BOOTSTRAP', 'KPIPE_ONLINE_BOOTSTRAP', 'KPIPE_OFFLINE_BOOTSTRAP', 'KPIPE_REGISTRY_URL'] as $v) {
        if (!getenv($v)) {
            throw new RuntimeException("kpipe PHP tests need the local stack's addresses; missing $v. Run: set -a; eval \"\$(dev/stack env)\"; set +a");
        }
    }
}

/** kpipe.yaml for the stack, as JSON text (YAML reads JSON). */
function kpipe_config(array $overrides = []): string
{
    kpipe_need_stack();
    $c = [
        'clusters' => [
            'business' => ['bootstrap' => getenv('KPIPE_BUSINESS_BOOTSTRAP')],
            'online' => ['bootstrap' => getenv('KPIPE_ONLINE_BOOTSTRAP')],
            'offline' => ['bootstrap' => getenv('KPIPE_OFFLINE_BOOTSTRAP')],
        ],
        'registry' => ['url' => getenv('KPIPE_REGISTRY_URL')],
        'routes' => [
            ['topic' => 'orders.*', 'cluster' => 'online'],
            ['topic' => 'lake.*', 'cluster' => 'offline'],
            ['topic' => '*', 'cluster' => 'business'],
        ],
        'consumer' => ['commit' => 'after-handle', 'max_attempts' => 3, 'backoff_ms' => 50, 'dlq' => '{topic}.dlq'],
    ];
    return json_encode(array_replace($c, $overrides));
}

function kpipe_client(array $overrides = []): Kpipe\Client
{
    return Kpipe\Client::fromYaml(kpipe_config($overrides));
}

function kpipe_unique(string $prefix): string
{
    return $prefix . '-' . bin2hex(random_bytes(6));
}

function kpipe_order_avsc(): string
{
    return file_get_contents(KPIPE_ROOT . '/examples/order.avsc');
}

/** A DateTimeImmutable (UTC) of milliseconds since the epoch. */
function kpipe_millis(int $ms): DateTimeImmutable
{
    return DateTimeImmutable::createFromFormat('U.v', sprintf('%d.%03d', intdiv($ms, 1000), $ms % 1000));
}

/** The 100 orders of tests/conformance/orders.jsonl as PHP values (created_at as DateTimeImmutable). */
function kpipe_orders(): array
{
    $out = [];
    foreach (file(KPIPE_ROOT . '/tests/conformance/orders.jsonl', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $l) {
        $o = json_decode($l, true, 512, JSON_BIGINT_AS_STRING);
        $o['created_at'] = kpipe_millis($o['created_at']);
        $out[] = $o;
    }
    return $out;
}

/** Reads $n records of $topic with a fresh group; fails when they do not come. */
function kpipe_consume(Kpipe\Client $client, string $topic, int $n, int $timeoutMs = 30000, ?string $group = null): array
{
    $c = $client->consumer($group ?? kpipe_unique('php.group'), [$topic], 'earliest');
    $got = [];
    $deadline = microtime(true) + $timeoutMs / 1000;
    try {
        while (count($got) < $n && microtime(true) < $deadline) {
            $m = $c->poll(1000);
            if ($m !== null) {
                $got[] = ['offset' => $m->offset, 'key' => $m->key(), 'value' => $m->value(), 'message' => $m];
            }
        }
    } finally {
        $c->close();
    }
    if (count($got) !== $n) {
        throw new RuntimeException(sprintf('read %d of %d records of %s', count($got), $n, $topic));
    }
    return $got;
}
