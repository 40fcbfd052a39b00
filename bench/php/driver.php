<?php
// The PHP benchmark's driver (bench/php/run calls it; plain PHP, no Kafka extension loaded):
// kpipe vs php-rdkafka + Apache Avro PHP, per ../shared/BENCH-PROTOCOL.md. Generates the data
// once (gen_order.py N 42, a temp file deleted at the end), then one discarded warm-up of each
// client and REPS repetitions alternating kpipe, rdkafka, kpipe, rdkafka, ... Every case is a
// child `php` process loading exactly one of kpipe.so / rdkafka.so (kpipe bundles its own
// librdkafka, php-rdkafka links Debian's: never both in one process) on a fresh 6-partition
// RF-1 topic of the business cluster, created before and deleted after it (topics.py).
// Prints `JSON {...}` lines and the median (min, max) of the per-repetition ratios kpipe /
// rdkafka. A child failing its correctness gate makes this exit 1.
//
//   bench/php/run [-n 1000000] [-r 5] [--linger 5] [--warmup 50000] [--kpipe-mode queue|send-many] [--chunk 10000]

function fail(string $msg): never
{
    fwrite(STDERR, "bench/php: $msg\n");
    exit(1);
}

$opt = ['n' => 1000000, 'r' => 5, 'linger' => 5, 'warmup' => 50000, 'kpipe-mode' => 'queue', 'chunk' => 10000];
$alias = ['-n' => 'n', '-r' => 'r', '--reps' => 'r', '--linger' => 'linger', '--warmup' => 'warmup', '--kpipe-mode' => 'kpipe-mode', '--chunk' => 'chunk'];
for ($i = 1; $i < $argc; $i++) {
    $k = $alias[$argv[$i]] ?? fail("unknown argument {$argv[$i]}; usage: bench/php/run [-n N] [-r REPS] [--linger MS] [--warmup W] [--kpipe-mode queue|send-many] [--chunk C]");
    isset($argv[$i + 1]) || fail("{$argv[$i]} needs a value");
    $opt[$k] = $k === 'kpipe-mode' ? $argv[++$i] : (int) $argv[++$i];
}
['n' => $N, 'r' => $REPS, 'linger' => $LINGER, 'warmup' => $WARMUP] = $opt;
$N > 0 && $REPS > 0 || fail('-n and -r must be positive');
in_array($opt['kpipe-mode'], ['queue', 'send-many'], true) || fail('--kpipe-mode is queue or send-many');

$ROOT = realpath(__DIR__ . '/../..');
$SHARED = realpath("$ROOT/../shared/bench") ?: fail("../shared/bench is missing");
$CACHE = "$ROOT/bench/.cache/php";
$SO = [
    'kpipe' => "$ROOT/bindings-php/modules/kpipe.so",
    'rdkafka' => "$CACHE/php-rdkafka-6.0.4/modules/rdkafka.so",
];
$AVRO_LIB = "$CACHE/avro-php/lang/php/lib";
$PY = "$ROOT/.venv/bin/python";
foreach ($SO + ['python (make venv)' => $PY] as $what => $f) {
    is_file($f) || fail("$f ($what) is missing: run bench/php/setup / make php / make venv");
}
getenv('KPIPE_BUSINESS_BOOTSTRAP') && getenv('KPIPE_REGISTRY_URL')
    || fail('run with the stack env: set -a; eval "$(dev/stack env)"; set +a');
$PINNED = getenv('KPIPE_BENCH_PINNED') ?: 'no';

function sh(string $cmd, ?array &$out = null): int
{
    $out = [];
    exec($cmd, $out, $rc);
    return $rc;
}

function topic(string $op, string $name): void
{
    global $PY;
    $cmd = escapeshellarg($PY) . ' ' . escapeshellarg(__DIR__ . '/topics.py') . " $op " . escapeshellarg($name) . ($op === 'create' ? ' 6' : '');
    sh($cmd) === 0 || fail("topics.py $op $name failed");
}

// ---- data, once: the same file for every case; the checksum is the sum of mileage_km
$DATA = tempnam(sys_get_temp_dir(), 'kpipe-bench-php-');
register_shutdown_function(function () use ($DATA): void { @unlink($DATA); });
$WARM = min($WARMUP, $N);
sh('python3 ' . escapeshellarg("$SHARED/gen_order.py") . " $N 42 > " . escapeshellarg($DATA)) === 0 || fail('gen_order.py failed');
$want = 0;
$wantWarm = 0;
$f = fopen($DATA, 'r');
for ($i = 0; ($l = fgets($f)) !== false; $i++) {
    $m = json_decode($l, true, 512, JSON_THROW_ON_ERROR)['mileage_km'];
    $want += $m;
    if ($i < $WARM) {
        $wantWarm += $m;
    }
}
fclose($f);
$i === $N || fail("gen_order.py wrote $i records, not $N");

/** Runs one case in a child process; returns its JSON figures (a failed child: exit 1). */
function run_case(string $client, int $n, int $want): array
{
    global $SO, $AVRO_LIB, $DATA, $SHARED, $LINGER, $opt;
    $topic = sprintf('bench.php.%s.%s', $client, bin2hex(random_bytes(4)));
    topic('create', $topic);
    $cmd = 'KPIPE_BENCH_AVRO_LIB=' . escapeshellarg($AVRO_LIB) . ' ' . escapeshellarg(PHP_BINARY)
        . ' -n -d memory_limit=-1 -d extension=' . escapeshellarg($SO[$client])
        . ' ' . escapeshellarg(__DIR__ . '/client.php') . ' ' . $client
        . ' --data ' . escapeshellarg($DATA) . " --n $n --want $want --topic " . escapeshellarg($topic)
        . " --linger $LINGER --kpipe-mode " . escapeshellarg($opt['kpipe-mode']) . ' --chunk ' . (int) $opt['chunk']
        . ' --schema ' . escapeshellarg("$SHARED/order.avsc");
    $rc = sh($cmd, $out);  // the child's stderr passes through
    topic('delete', $topic);
    $rc === 0 || fail("$client failed (exit $rc): the run is void");
    $r = json_decode((string) end($out), true);
    is_array($r) || fail("$client printed no JSON line: " . implode("\n", $out));
    return $r;
}

// ---- versions
$phpRdkafka = trim(shell_exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg($SO['rdkafka']) . " -r 'echo phpversion(\"rdkafka\");'") ?? '');
$kpipeVersion = trim(shell_exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg($SO['kpipe']) . " -r 'echo Kpipe\\Client::version();'") ?? '');
preg_match('/name = "rdkafka-sys"\nversion = "[^"+]*\+([^"]+)"/', (string) file_get_contents("$ROOT/Cargo.lock"), $mm);
$kpipeLibrdkafka = $mm[1] ?? 'unknown';

printf("php %s, N=%d, reps=%d, linger.ms=%d, warm-up %d, kpipe %s (%s, chunks of %d; librdkafka %s bundled) vs php-rdkafka %s + Apache Avro PHP (librdkafka from Debian), pinned: %s\n",
    PHP_VERSION, $N, $REPS, $LINGER, $WARM, $kpipeVersion, $opt['kpipe-mode'], $opt['chunk'], $kpipeLibrdkafka, $phpRdkafka, $PINNED);

// ---- one discarded warm-up of each (the gate still applies), then K R K R ...
if ($WARM > 0) {
    run_case('kpipe', $WARM, $wantWarm);
    run_case('rdkafka', $WARM, $wantWarm);
}
$ratios = ['produce' => [], 'consume' => [], 'produce_cpu' => [], 'consume_cpu' => []];
$rdLibrdkafka = 'unknown';
for ($rep = 0; $rep < $REPS; $rep++) {
    $res = [];
    foreach (['kpipe', 'rdkafka'] as $client) {
        $r = run_case($client, $N, $want);
        $r['librdkafka'] ??= $kpipeLibrdkafka;
        if ($client === 'rdkafka') {
            $rdLibrdkafka = $r['librdkafka'];
        }
        $line = ['client' => $client, 'rep' => $rep] + $r + ['pinned' => $PINNED];
        echo 'JSON ', json_encode($line, JSON_UNESCAPED_SLASHES), "\n";
        $res[$client] = $r;
    }
    $k = $res['kpipe'];
    $d = $res['rdkafka'];
    $ratios['produce'][] = $k['produce_rps'] / $d['produce_rps'];
    $ratios['consume'][] = $k['consume_rps'] / $d['consume_rps'];
    $ratios['produce_cpu'][] = $d['produce_cpu_s_per_1m'] / max($k['produce_cpu_s_per_1m'], 1e-9);
    $ratios['consume_cpu'][] = $d['consume_cpu_s_per_1m'] / max($k['consume_cpu_s_per_1m'], 1e-9);
}

function med(array $xs): float
{
    sort($xs);
    return $xs[intdiv(count($xs), 2)];
}
foreach (['produce' => 'produce records/s: kpipe / rdkafka', 'consume' => 'consume records/s: kpipe / rdkafka',
          'produce_cpu' => 'produce CPU per 1M: rdkafka / kpipe', 'consume_cpu' => 'consume CPU per 1M: rdkafka / kpipe'] as $k => $label) {
    $xs = $ratios[$k];
    printf("%s = %.2fx (min %.2f, max %.2f)\n", $label, med($xs), min($xs), max($xs));
}
printf("versions: php %s; kpipe %s with librdkafka %s (bundled, Cargo.lock rdkafka-sys); php-rdkafka %s with librdkafka %s (Debian librdkafka-dev); Apache Avro PHP from ../shared/anchors/php/apache-avro-php.tar.gz\n",
    PHP_VERSION, $kpipeVersion, $kpipeLibrdkafka, $phpRdkafka, $rdLibrdkafka);
