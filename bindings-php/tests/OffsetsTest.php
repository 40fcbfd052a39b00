<?php
// Offsets admin from PHP against the live stack: offsets for a time, export, and moving a group
// between clusters (migratePlan / migrateApply, what `kpipe offsets migrate` does).

use PHPUnit\Framework\TestCase;

final class OffsetsTest extends TestCase
{
    public function testAGroupMovesFromBusinessToOfflineByTimestamp(): void
    {
        $topic = kpipe_unique('php.migrate');
        $t0 = 1780000000000;
        $business = kpipe_client();
        // the same topic name on offline, as a mirror leaves it: same records, same timestamps
        $offline = kpipe_client(['routes' => [['topic' => '*', 'cluster' => 'offline']]]);
        foreach ([$business, $offline] as $c) {
            $c->setSerializer($topic, 'string', null, 'string');
            for ($i = 0; $i < 6; $i++) {
                $c->producer()->send($topic, "v$i", "k$i", null, $t0 + $i * 1000);
            }
        }
        $group = kpipe_unique('g');
        $consumer = $business->consumer($group, [$topic], 'earliest', 'manual');
        for ($i = 0; $i < 4; $i++) {
            $m = $consumer->poll(30000);
            $this->assertNotNull($m, "record $i");
            $consumer->ack($m);
        }
        $consumer->commit();
        $consumer->close();

        $this->assertSame([0 => 2], $business->offsetsForTime($topic, $t0 + 1500));
        $plan = $business->migratePlan($group, 'business', 'offline', [$topic]);
        $this->assertSame(['business', 'offline', []], [$plan['source'], $plan['target'], $plan['problems']]);
        $entry = $plan['partitions'][0];
        $this->assertSame(['ok', 4, $t0 + 4000, 4], [$entry['status'], $entry['source_offset'], $entry['timestamp'], $entry['target_offset']]);
        $this->assertSame([], $business->exportOffsets($group, [$topic], 'offline')['offsets'], 'a plan changes nothing');

        // the plan goes back as the array it came as (or its JSON text)
        $applied = $business->migrateApply($plan);
        $this->assertSame([['topic' => $topic, 'partition' => 0, 'before' => null, 'after' => 4]], $applied['changes']);
        $this->assertSame([['topic' => $topic, 'partition' => 0, 'offset' => null]], $applied['rollback']['offsets']);
        $this->assertSame(4, $business->exportOffsets($group, [$topic], 'offline')['offsets'][0]['offset']);
        $again = $offline->consumer($group, [$topic]);
        $this->assertSame('v4', $again->poll(30000)?->value());
        $again->close();

        try {
            $business->migrateApply('{"group": 1}');
            $this->fail('a document that is not a plan was applied');
        } catch (Kpipe\Exception\KpipeException $e) {
            $this->assertSame('input.invalid', $e->getErrorCode());
            $this->assertStringStartsWith('migration plan: ', $e->getMessage());
        }
    }
}
