<?php
// php-fpm style: many short requests, each queueing a record and ending without flush();
// nothing may be lost (php-rdkafka lost such records without an explicit flush).
use PHPUnit\Framework\TestCase;

final class RequestsTest extends TestCase
{
    private static function configFile(): string
    {
        $f = sys_get_temp_dir() . '/kpipe-php-test-' . getmypid() . '.yaml';
        file_put_contents($f, kpipe_config(['serializers' => [['topic' => '*', 'key' => 'string', 'value' => 'string']]]));
        return $f;
    }

    private static function ext(): string
    {
        return getenv('KPIPE_PHP_EXT') ?: '';
    }

    private static function values(Kpipe\Client $c, string $topic, int $n): array
    {
        $got = array_map(fn($r) => json_decode($r['value'], true), kpipe_consume($c, $topic, $n, 60000));
        $is = array_column($got, 'i');
        sort($is);
        return [$is, array_unique(array_column($got, 'pid'))];
    }

    /** @large */
    public function testTwoHundredShortProcessesLoseNothing(): void
    {
        $ext = self::ext();
        $this->assertFileExists($ext, 'KPIPE_PHP_EXT names the built extension');
        $cfg = self::configFile();
        $topic = kpipe_unique('php.req');
        $script = __DIR__ . '/fixtures/request.php';
        $n = 200;
        $procs = [];
        for ($i = 0; $i < $n; $i++) {
            $cmd = ['php', '-n', '-d', "extension=$ext", $script, "topic=$topic&i=$i"];
            $procs[] = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, ['KPIPE_TEST_CONFIG' => $cfg] + getenv());
            $procs[count($procs) - 1] = [$procs[count($procs) - 1], $pipes];
            if (count(array_filter($procs, fn($p) => is_resource($p[0]))) >= 8 || $i === $n - 1) {
                foreach ($procs as $k => [$p, $pp]) {
                    if (is_resource($p)) {
                        $out = stream_get_contents($pp[1]) . stream_get_contents($pp[2]);
                        $this->assertSame(0, proc_close($p), $out);
                        $this->assertSame("queued 1\n", $out);
                    }
                }
            }
        }
        [$is] = self::values(kpipe_client(), $topic, $n);
        $this->assertSame(range(0, $n - 1), $is);
        unlink($cfg);
    }

    /** @large */
    public function testPhpFpmRequestsLoseNothingAndReuseTheWorkerClient(): void
    {
        $fpm = trim((string) shell_exec('command -v php-fpm8.2 || command -v php-fpm'));
        $cgi = trim((string) shell_exec('command -v cgi-fcgi'));
        if ($fpm === '' || $cgi === '') {
            $this->markTestSkipped('php-fpm or cgi-fcgi (libfcgi-bin) is not installed');
        }
        $ext = self::ext();
        $cfg = self::configFile();
        $dir = sys_get_temp_dir() . '/kpipe-fpm-' . getmypid();
        @mkdir($dir);
        $sock = "$dir/fpm.sock";
        file_put_contents("$dir/fpm.conf", "[global]\nerror_log = $dir/error.log\ndaemonize = no\n[www]\nlisten = $sock\npm = static\npm.max_children = 2\nclear_env = no\ncatch_workers_output = yes\n");
        $p = proc_open([$fpm, '-n', '-y', "$dir/fpm.conf", '-d', "extension=$ext", '-R'], [1 => ['file', "$dir/out.log", 'a'], 2 => ['file', "$dir/out.log", 'a']], $pipes);
        try {
            for ($t = 0; $t < 100 && !file_exists($sock); $t++) {
                usleep(100000);
            }
            $this->assertFileExists($sock, (string) @file_get_contents("$dir/out.log") . @file_get_contents("$dir/error.log"));
            $topic = kpipe_unique('php.fpm');
            $n = 50;
            for ($i = 0; $i < $n; $i++) {
                $env = ['SCRIPT_FILENAME' => __DIR__ . '/fixtures/request.php', 'REQUEST_METHOD' => 'GET',
                    'QUERY_STRING' => "topic=$topic&i=$i", 'KPIPE_TEST_CONFIG' => $cfg] + getenv();
                $out = shell_exec(implode(' ', array_map(fn($k, $v) => $k . '=' . escapeshellarg((string) $v), array_keys($env), $env)) . ' ' . escapeshellarg($cgi) . ' -bind -connect ' . escapeshellarg($sock) . ' 2>&1');
                $this->assertStringContainsString("queued 1", (string) $out);
            }
            [$is, $pids] = self::values(kpipe_client(), $topic, $n);
            $this->assertSame(range(0, $n - 1), $is);
            $this->assertLessThanOrEqual(2, count($pids), 'two workers served every request');
        } finally {
            proc_terminate($p);
            proc_close($p);
            unlink($cfg);
        }
    }
}
