<?php
// Consuming: the one acknowledgement semantics (tests/conformance/ack.json), run() with the
// core's retry and DLQ rules, foreach iteration, fork -> process.forked.
use PHPUnit\Framework\TestCase;

final class ConsumerTest extends TestCase
{
    private static function fill(Kpipe\Client $client, string $topic, int $n): void
    {
        $recs = [];
        for ($i = 0; $i < $n; $i++) {
            $recs[] = ['key' => 'one-partition', 'value' => (string) $i];
        }
        foreach ($client->producer()->sendMany($topic, $recs) as $r) {
            if ($r instanceof Throwable) {
                throw $r;
            }
        }
    }

    public static function scenarios(): array
    {
        $out = [];
        foreach (json_decode(file_get_contents(KPIPE_ROOT . '/tests/conformance/ack.json'), true)['scenarios'] as $s) {
            $out[$s['name']] = [$s];
        }
        return $out;
    }

    /** @dataProvider scenarios */
    public function testAck(array $sc): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('php.ack');
        self::fill($client, $topic, $sc['records']);
        $group = kpipe_unique('php.ack');
        $c = $client->consumer($group, [$topic], 'earliest', 'manual', $sc['ack']);
        $polled = [];
        foreach ($sc['steps'] as $step) {
            if ($step === 'poll') {
                $m = $c->poll(30000);
                $this->assertNotNull($m, 'no record');
                if ($polled) {
                    $this->assertSame(end($polled)->offset + 1, $m->offset);
                }
                $polled[] = $m;
            } elseif (str_starts_with($step, 'ack:')) {
                $c->ack($polled[(int) substr($step, 4)]);
            } elseif ($step === 'commit') {
                $c->commit();
            } elseif (str_starts_with($step, 'run:')) {
                $c->run(function (Kpipe\Message $m) use (&$polled) { $polled[] = $m; }, (int) substr($step, 4));
            } elseif ($step === 'close') {
                $c->close();
            } else {
                $this->fail("unknown step $step");
            }
        }
        $c->close();
        $again = $client->consumer($group, [$topic], null, 'manual');
        try {
            $m = $again->poll(30000);
            if ($sc['resume_at'] >= $sc['records']) {
                $this->assertNull($m);
            } else {
                $this->assertNotNull($m);
                $this->assertSame($sc['resume_at'], $m->offset);
            }
        } finally {
            $again->close();
        }
    }

    public function testRunRetriesThenDeadLettersWithTheCoreHeaders(): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('php.dlq');
        self::fill($client, $topic, 2);
        $c = $client->consumer(kpipe_unique('g'), $topic, 'earliest');
        $calls = [];
        $handled = $c->run(function (Kpipe\Message $m) use (&$calls) {
            $calls[] = $m->offset;
            if ($m->offset === 0) {
                throw new DomainException('bad order');
            }
        }, 2);
        $c->close();
        $this->assertSame(2, $handled);
        $this->assertSame([0, 0, 0, 1], $calls, 'three attempts (consumer.max_attempts), then the next record');
        $dlq = kpipe_consume($client, "$topic.dlq", 1);
        $m = $dlq[0]['message'];
        $this->assertSame('0', $m->value());
        $this->assertStringContainsString('bad order', $m->header('kpipe.error.message') ?? implode(',', array_map(fn($h) => $h[0], $m->headers())));
    }

    public function testForeachIteratesUntilStop(): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('php.iter');
        self::fill($client, $topic, 3);
        $c = $client->consumer(kpipe_unique('g'), $topic, 'earliest');
        $seen = [];
        foreach ($c as $offset => $m) {
            $seen[] = [$offset, $m->value()];
            if (count($seen) === 3) {
                $c->stop();
            }
        }
        $c->close();
        $this->assertSame([[0, '0'], [1, '1'], [2, '2']], $seen);
    }

    public function testAClientUsedAfterForkGivesProcessForkedInTheChild(): void
    {
        $client = kpipe_client();
        $topic = kpipe_unique('php.fork');
        $client->producer()->send($topic, 'parent');
        $tmp = tempnam(sys_get_temp_dir(), 'kpipe');
        $pid = pcntl_fork();
        if ($pid === 0) {
            try {
                $client->producer()->send($topic, 'child');
                file_put_contents($tmp, 'sent');
            } catch (Kpipe\Exception\ForkException $e) {
                file_put_contents($tmp, $e->getErrorCode() . '|' . ($e->isFatal() ? 'fatal' : ''));
            } catch (Throwable $e) {
                file_put_contents($tmp, get_class($e) . ': ' . $e->getMessage());
            }
            posix_kill(posix_getpid(), SIGKILL);  // no shutdown hooks of the parent's state
        }
        pcntl_waitpid($pid, $status);
        $this->assertSame('process.forked|fatal', file_get_contents($tmp));
        unlink($tmp);
        $this->assertSame('online', $client->producer()->send('orders.' . kpipe_unique('php.fork'), 'still works')->cluster);
    }

    public function testASignalHandlerRunsDuringABlockedPoll(): void
    {
        $client = kpipe_client();
        $c = $client->consumer(kpipe_unique('g'), kpipe_unique('php.sig'), 'latest');
        $got = false;
        pcntl_async_signals(true);
        pcntl_signal(SIGALRM, function () use (&$got) { $got = true; });
        pcntl_alarm(1);
        $t0 = microtime(true);
        $m = $c->poll(20000);
        $took = microtime(true) - $t0;
        pcntl_signal(SIGALRM, SIG_DFL);
        $c->close();
        $this->assertNull($m);
        $this->assertTrue($got, 'the handler ran');
        $this->assertLessThan(3.0, $took, 'poll returned soon after the signal, not after its 20 s timeout');
    }
}
