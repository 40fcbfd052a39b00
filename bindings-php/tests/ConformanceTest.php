<?php
// The golden Avro vectors of tests/conformance byte for byte (tests/conformance/README.md):
// encode(input) == body_hex; decode(body_hex) == output (or input); encode(decoded) ==
// body_hex; error vectors fail with their code and the message starts with "<path>: ".
use PHPUnit\Framework\TestCase;

final class ConformanceTest extends TestCase
{
    private const DIR = KPIPE_ROOT . '/tests/conformance';

    /** Error vectors about a distinction PHP values do not have (docs/php.md, "Values"). */
    private const NOT_IN_PHP = [
        'bytes not base64' => 'PHP strings are bytes: "!!" is two valid bytes (natural JSON needs base64 there)',
        'array from object' => 'PHP has one array type: [] (JSON {}) is an empty list as much as an empty map',
    ];

    public static function vectors(): array
    {
        $out = [];
        foreach (file(self::DIR . '/avro/vectors.jsonl', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $l) {
            if (str_starts_with(ltrim($l), '//')) {
                continue;
            }
            $v = json_decode($l, true, 512, JSON_BIGINT_AS_STRING | JSON_THROW_ON_ERROR);
            // the schema's text with {} kept as {} (an assoc array would re-encode as [])
            $o = json_decode($l, false, 512, JSON_BIGINT_AS_STRING);
            $v['schema_text'] = isset($v['schema_file']) ? file_get_contents(self::DIR . '/' . $v['schema_file']) : json_encode($o->schema);
            $out[$v['name']] = [$v];
        }
        return $out;
    }

    public function testThereAreVectors(): void
    {
        $this->assertGreaterThanOrEqual(100, count(self::vectors()));
    }

    private static function schemaOf(array $v)
    {
        return isset($v['schema_file']) ? json_decode(file_get_contents(self::DIR . '/' . $v['schema_file']), true) : $v['schema'];
    }

    /** @dataProvider vectors */
    public function testVector(array $v): void
    {
        $schemaJson = self::schemaOf($v);
        $schema = new Kpipe\Schema($v['schema_text']);
        $native = Natives::of($schemaJson, $v['input']);
        if (isset($v['error'])) {
            if (isset(self::NOT_IN_PHP[$v['name']])) {
                $this->markTestSkipped(self::NOT_IN_PHP[$v['name']]);
            }
            try {
                $schema->encode($native);
                $this->fail('encoding did not fail');
            } catch (Kpipe\Exception\SerdeException $e) {
                $this->assertSame($v['error']['code'], $e->getErrorCode());
                $this->assertStringStartsWith($v['error']['path'] . ': ', $e->getMessage());
            }
            return;
        }
        $body = $schema->encode($native);
        $this->assertSame($v['body_hex'], bin2hex($body), 'encode(input)');
        $decoded = $schema->decode(hex2bin($v['body_hex']));
        $expected = Natives::of($schemaJson, array_key_exists('output', $v) ? $v['output'] : $v['input']);
        Natives::assertSameValue($this, $expected, $decoded, '$');
        $this->assertSame($v['body_hex'], bin2hex($schema->encode($decoded)), 'encode(decode(body))');
    }
}

/** Natural JSON -> PHP natives: only bytes and fixed differ (base64 text -> raw bytes). */
final class Natives
{
    private array $names = [];

    public static function of($schema, $value)
    {
        $n = new self();
        $n->register($schema, '');
        return $n->walk($schema, $value);
    }

    private function register($s, string $space): void
    {
        if (!is_array($s)) {
            return;
        }
        if (array_is_list($s)) {
            foreach ($s as $x) {
                $this->register($x, $space);
            }
            return;
        }
        $sp = $s['namespace'] ?? $space;
        if (isset($s['name']) && in_array($s['type'] ?? null, ['record', 'enum', 'fixed', 'error'], true)) {
            $full = str_contains($s['name'], '.') || $sp === '' ? $s['name'] : "$sp.{$s['name']}";
            $this->names[$full] = $s;
            $parts = explode('.', $s['name']);
            $this->names[end($parts)] = $s;
            if (str_contains($s['name'], '.')) {
                $sp = implode('.', array_slice($parts, 0, -1));
            }
        }
        foreach ($s['fields'] ?? [] as $f) {
            $this->register($f['type'], $sp);
        }
        if (isset($s['items'])) {
            $this->register($s['items'], $sp);
        }
        if (isset($s['values'])) {
            $this->register($s['values'], $sp);
        }
        if (isset($s['type']) && is_array($s['type'])) {
            $this->register($s['type'], $sp);
        }
    }

    private function lookup(string $n)
    {
        $parts = explode('.', $n);
        return $this->names[$n] ?? $this->names[end($parts)] ?? null;
    }

    private static function b64($v)
    {
        if (is_string($v) && preg_match('~^[A-Za-z0-9+/]*={0,2}$~', $v) && strlen(rtrim($v, '=')) % 4 !== 1) {
            return base64_decode($v, true);
        }
        return $v;
    }

    private function kindOf($b)
    {
        if (is_string($b)) {
            $l = $this->lookup($b);
            return $l ? $l['type'] : $b;
        }
        if (array_is_list($b)) {
            return 'union';
        }
        return isset($b['logicalType']) ? 'logical' : $b['type'];
    }

    private function walk($s, $v)
    {
        if (is_string($s)) {
            if ($s === 'bytes') {
                return self::b64($v);
            }
            $l = $this->lookup($s);
            return $l ? $this->walk($l, $v) : $v;
        }
        if (array_is_list($s)) {
            if (is_array($v) && !array_is_list($v) && count($v) === 1) {
                $bn = (string) array_key_first($v);
                foreach ($s as $b) {
                    $bname = is_string($b) ? ($this->lookup($b)['name'] ?? $b) : ($b['name'] ?? $b['type']);
                    $short = explode('.', $bn);
                    if ($b === $bn || $bname === $bn || (is_array($b) && ($b['type'] ?? null) === $bn) || $bname === end($short)) {
                        return [$bn => $this->walk($b, $v[$bn])];
                    }
                }
            }
            if (is_string($v)) {
                foreach ($s as $b) {
                    $k = $this->kindOf($b);
                    if (in_array($k, ['bytes', 'fixed', 'string', 'enum', 'logical'], true)) {
                        return in_array($k, ['bytes', 'fixed'], true) ? self::b64($v) : $v;
                    }
                }
            }
            return $v;
        }
        if (isset($s['logicalType'])) {
            return $v;
        }
        switch ($s['type']) {
            case 'bytes':
            case 'fixed':
                return self::b64($v);
            case 'record':
            case 'error':
                if (!is_array($v)) {
                    return $v;
                }
                foreach ($s['fields'] as $f) {
                    if (array_key_exists($f['name'], $v)) {
                        $v[$f['name']] = $this->walk($f['type'], $v[$f['name']]);
                    }
                }
                return $v;
            case 'array':
                return is_array($v) ? array_map(fn($x) => $this->walk($s['items'], $x), $v) : $v;
            case 'map':
                if (!is_array($v)) {
                    return $v;
                }
                foreach ($v as $k => $x) {
                    $v[$k] = $this->walk($s['values'], $x);
                }
                return $v;
            default:
                return $this->walk($s['type'], $v);
        }
    }

    /** Same value: floats by bits (NaN, -0.0), timestamps by instant, the rest exactly. */
    public static function assertSameValue(TestCase $t, $expected, $actual, string $path): void
    {
        // natural JSON wraps a union value that would read back into another branch; a PHP
        // value needs no wrapper when its own type picks the branch (a float NaN: double)
        if (!is_array($actual) && is_array($expected) && count($expected) === 1 && !array_is_list($expected)) {
            $expected = reset($expected);
        }
        if ($actual instanceof DateTimeInterface) {
            $t->assertIsString($expected, "$path: a timestamp where the expected value is not text");
            $t->assertSame((new DateTimeImmutable($expected))->format('U.u'), $actual->format('U.u'), $path);
            return;
        }
        if (is_float($actual) && (is_float($expected) || is_int($expected) || is_string($expected))) {
            $e = is_string($expected) ? (float) str_replace(['Infinity', 'NaN'], ['INF', 'NAN'], $expected) : (float) $expected;
            if (is_string($expected)) {
                $e = match ($expected) { 'NaN' => NAN, 'Infinity' => INF, '-Infinity' => -INF, default => (float) $expected };
            }
            $t->assertSame(bin2hex(pack('E', $e)), bin2hex(pack('E', $actual)), "$path: $expected vs $actual");
            return;
        }
        if (is_array($actual) && is_array($expected)) {
            $t->assertSame(array_map('strval', array_keys($expected)), array_map('strval', array_keys($actual)), "$path keys");
            foreach ($actual as $k => $x) {
                self::assertSameValue($t, $expected[$k], $x, "{$path}[$k]");
            }
            return;
        }
        $t->assertSame($expected, $actual, $path);
    }
}
