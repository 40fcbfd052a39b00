// Type-checked only (`tsc --noEmit --strict -p tsconfig.json`): the public API as a
// TypeScript user writes it; every line must compile under --strict.
import {
  Client, Consumer, Delivery, KpipeError, Message, Schema, SerdeError, ClosedError, ERROR_CODES,
  type AvroValue, type DecodedValue, type OutgoingRecord,
} from '@kpipe-dev/kpipe';

async function main(): Promise<void> {
  const client: Client = Client.fromObject({
    clusters: { business: { bootstrap: '127.0.0.1:19092' } },
    routes: [{ topic: '*', cluster: 'business' }],
  });
  client.setSerializer('orders.eu', { key: 'string', value: 'avro', schema: { type: 'record', name: 'T', fields: [] } });
  const producer = client.producer();
  const rec: OutgoingRecord = { topic: 'orders.eu', key: 'k', value: { a: 1n, when: new Date(), raw: Buffer.from('x') }, headers: { trace: 't' }, timestamp: Date.now() };
  const d: Delivery = await producer.send(rec, { signal: AbortSignal.timeout(5000) });
  const part: number = d.partition;
  const ts: Date | null = d.timestamp;
  const many: Array<Delivery | KpipeError> = await producer.sendMany([rec, rec]);
  for (const r of many) if (r instanceof KpipeError) console.log(r.code, r.retriable, r.fatal);
  await producer.flush({ timeoutMs: 1000 });

  const consumer: Consumer = client.consumer({ group: 'g', topics: ['orders.eu'], start: new Date(0), commit: 'after-handle', ack: 'implicit', longs: 'number' });
  for await (const msg of consumer) {
    const m: Message = msg;
    const v: DecodedValue = m.value;
    const h: Buffer | null | undefined = m.header('trace'); // null: sent with no value
    console.log(part, ts, v, h, m.offset + 1, m.timestamp?.toISOString());
    consumer.ack(m);
    await consumer.commit(m);
    break;
  }
  const next: Message | null = await consumer.next({ timeoutMs: 100, signal: new AbortController().signal });
  console.log(next?.key);
  await consumer.run(async (msg) => { if (msg.value === null) throw new Error('tombstone'); });
  await consumer.seek('orders.eu', 0, 10n);
  const moved: Array<{ topic: string; partition: number; offset: number }> = await consumer.seekToTime(new Date());
  console.log(moved, consumer.assignment());
  await consumer.close();

  const found: Record<number, number> = await client.admin.offsetsForTime('orders.eu', new Date());
  const doc = await client.admin.exportOffsets('g', { topics: 'orders.eu' });
  await client.admin.importOffsets(doc, { group: 'g2', force: true });
  console.log(found);
  const changes = await client.admin.resetOffsets('g', 'orders.eu', { 0: 5n }, { dryRun: true });
  const plan = await client.admin.migratePlan('g', 'business', 'online', { topics: ['orders.eu'] });
  const applied = await client.admin.migrateApply(plan);
  console.log(changes[0]?.after, plan.partitions.length, applied.rollback.group);

  const s = new Schema('"long"');
  const body: Buffer = s.encode(5n as AvroValue);
  console.log(s.decode(body, { longs: 'bigint' }), s.toJson(body), s.name, ERROR_CODES.length);
  try {
    s.encode('x');
  } catch (e) {
    if (e instanceof SerdeError) console.log(e.code, e.message, e.field, e.topic, e.partition, e.offset, e.subject, e.schemaId);
    if (e instanceof ClosedError) console.log('closed');
  }
  await client.close();
}

void main;
