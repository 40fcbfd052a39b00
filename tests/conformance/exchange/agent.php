<?php
// The PHP agent of the exchange test (README.md here): produce and consume with the kpipe PHP
// extension, values as a PHP user writes them (DateTimeImmutable for created_at, decimal and
// uuid as strings, longs as int). The test loads the extension:
//
//   php -d extension=.../bindings-php/modules/kpipe.so agent.php produce CONFIG TOPIC ORDERS LANG
//   php -d extension=.../bindings-php/modules/kpipe.so agent.php consume CONFIG TOPICS COUNT GROUP
declare(strict_types=1);

// doubles as the shortest text that reads back the same
ini_set('serialize_precision', '-1');

const POLL_TIMEOUT_MS = 30000;
const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR;

final class Failure extends RuntimeException {}

function fail(string $message): never
{
    throw new Failure($message);
}

/** A DateTimeImmutable (UTC) of milliseconds since the epoch. */
function from_millis(int $ms): DateTimeImmutable
{
    $s = intdiv($ms, 1000);
    $frac = $ms % 1000;
    if ($frac < 0) {  // floor division for times before 1970
        $s -= 1;
        $frac += 1000;
    }
    $dt = DateTimeImmutable::createFromFormat('U.v', sprintf('%d.%03d', $s, $frac), new DateTimeZone('UTC'));
    if ($dt === false) {
        fail("cannot make a DateTimeImmutable of $ms ms");
    }
    return $dt;
}

/** Whole milliseconds since the epoch of a DateTimeInterface. */
function to_millis(DateTimeInterface $t): int
{
    return $t->getTimestamp() * 1000 + intdiv((int) $t->format('u'), 1000);
}

/** One order of natural JSON as the values a PHP user sends. */
function native(array $order): array
{
    $o = $order;
    if (!is_int($o['customer_id'])) {
        fail('customer_id is not a PHP int: ' . var_export($o['customer_id'], true));
    }
    if (!is_int($o['created_at'])) {
        fail('created_at is not integer milliseconds: ' . var_export($o['created_at'], true));
    }
    $o['created_at'] = from_millis($o['created_at']);
    return $o;
}

/**
 * The decoded native value written back as the protocol's natural JSON. Records and maps come
 * back as PHP arrays: they become objects here (so an empty map prints as {} and a map whose
 * keys look like 0..n-1 is not taken for a list); arrays become lists.
 */
function natural(mixed $value): mixed
{
    if ($value === null) {
        return null;
    }
    if (!is_array($value)) {
        fail('the value came back as ' . get_debug_type($value) . ', not an array');
    }
    $v = $value;
    if (!($v['created_at'] instanceof DateTimeInterface)) {
        fail('created_at came back as ' . get_debug_type($v['created_at']) . ', not a DateTimeImmutable');
    }
    $v['created_at'] = to_millis($v['created_at']);
    foreach (['order_id', 'amount'] as $f) {
        if (!is_string($v[$f])) {
            fail("$f came back as " . get_debug_type($v[$f]) . ', not a string');
        }
    }
    if (!is_int($v['customer_id'])) {
        fail('customer_id came back as ' . get_debug_type($v['customer_id']) . ', not an int');
    }
    if (!is_array($v['items']) || !array_is_list($v['items'])) {
        fail('items came back as ' . get_debug_type($v['items']) . ', not a list');
    }
    $v['items'] = array_map(fn ($item) => (object) $item, $v['items']);
    if (!is_array($v['attributes'])) {
        fail('attributes came back as ' . get_debug_type($v['attributes']) . ', not an array');
    }
    $attrs = new stdClass();
    foreach ($v['attributes'] as $k => $s) {
        $attrs->{(string) $k} = $s;
    }
    $v['attributes'] = $attrs;
    return (object) $v;
}

function out(mixed $line): void
{
    fwrite(STDOUT, json_encode($line, JSON_FLAGS) . "\n");
}

function read_orders(string $file): array
{
    $lines = file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
    if ($lines === false) {
        fail("cannot read $file");
    }
    $orders = [];
    foreach ($lines as $i => $l) {
        if (trim($l) === '') {
            continue;
        }
        try {
            $orders[] = json_decode($l, true, 512, JSON_BIGINT_AS_STRING | JSON_THROW_ON_ERROR);
        } catch (JsonException $e) {
            fail("$file line " . ($i + 1) . ': ' . $e->getMessage());
        }
    }
    if (!$orders) {
        fail("$file: no orders");
    }
    return $orders;
}

function produce(string $config, string $topic, string $ordersFile, string $lang): void
{
    $orders = read_orders($ordersFile);
    $client = Kpipe\Client::fromFile($config);
    try {
        $p = $client->producer();
        foreach ($orders as $seq => $order) {
            $value = native($order);
            $p->send(
                topic: $topic,
                value: $value,
                key: $order['order_id'],
                headers: [['src', $lang], ['seq', (string) $seq], ['empty', ''], ['none', null]],
                timestamp: $value['created_at'],
            );
        }
        $p->send(topic: $topic, value: null, key: "tombstone-$lang", headers: [['src', $lang], ['seq', 'tombstone']]);
        $bad = native($orders[0]);
        $bad['mileage_km'] = 'many';
        try {
            $p->send(topic: $topic, value: $bad, key: $orders[0]['order_id']);
            out(['error' => null]);
        } catch (Kpipe\Exception\KpipeException $e) {
            out(['error' => ['code' => $e->getErrorCode(), 'message' => $e->getMessage()]]);
        }
    } finally {
        $client->close();
    }
}

function consume(string $config, string $topicsArg, string $countArg, string $group): void
{
    $topics = explode(',', $topicsArg);
    if (!ctype_digit($countArg)) {
        fail("COUNT must be a whole number, not $countArg");
    }
    $want = (int) $countArg * count($topics);
    $client = Kpipe\Client::fromFile($config);
    try {
        $c = $client->consumer($group, $topics, start: 'earliest', ack: 'explicit');
        try {
            for ($n = 0; $n < $want; $n++) {
                // poll in slices up to 30 s (poll may also return early, e.g. after a signal)
                $deadline = hrtime(true) + POLL_TIMEOUT_MS * 1000000;
                $m = null;
                while ($m === null && ($left = intdiv($deadline - hrtime(true), 1000000)) > 0) {
                    $m = $c->poll(min($left, 1000));
                }
                if ($m === null) {
                    fail(sprintf('nothing for %d s after %d of %d records', POLL_TIMEOUT_MS / 1000, $n, $want));
                }
                $raw = $m->rawValue();
                out([
                    'topic' => $m->topic,
                    'partition' => $m->partition,
                    'offset' => $m->offset,
                    'timestamp' => $m->timestamp,
                    'key' => $m->key(),
                    'raw' => $raw === null ? null : bin2hex($raw),
                    'headers' => array_map(fn ($h) => [$h[0], $h[1] === null ? null : bin2hex($h[1])], $m->headers()),
                    'value' => natural($m->value()),
                ]);
                $c->ack($m);
            }
        } finally {
            $c->close();
        }
    } finally {
        $client->close();
    }
}

set_error_handler(function (int $no, string $str, string $file, int $line): bool {
    throw new ErrorException($str, 0, $no, $file, $line);
});

try {
    if (!extension_loaded('kpipe')) {
        fail('the kpipe extension is not loaded (php -d extension=.../bindings-php/modules/kpipe.so)');
    }
    $args = array_slice($argv, 1);
    $mode = array_shift($args);
    if ($mode === 'produce' && count($args) === 4) {
        produce(...$args);
    } elseif ($mode === 'consume' && count($args) === 4) {
        consume(...$args);
    } else {
        fail('usage: agent.php produce CONFIG TOPIC ORDERS LANG | consume CONFIG TOPICS COUNT GROUP');
    }
} catch (Failure $e) {
    fwrite(STDERR, 'php agent: ' . $e->getMessage() . "\n");
    exit(1);
} catch (Kpipe\Exception\KpipeException $e) {
    fwrite(STDERR, 'php agent: ' . get_class($e) . ' ' . $e->getErrorCode() . ': ' . $e->getMessage() . "\n");
    exit(1);
} catch (Throwable $e) {
    fwrite(STDERR, 'php agent: ' . $e . "\n");
    exit(1);
}
exit(0);
