/**
 * A DLog-style producer on the Pharaoh fleet, through @pharaoh/client:
 * - a named session (session-mgr): reopening the same producer name fences
 *   any zombie of it (its older epoch);
 * - its records' schema registered once (schema-registry): the same schema
 *   again gets the same schema id, which every record carries;
 * - per batch, a transaction (txcoord) whose records get TSO timestamps
 *   (tso) and dense log offsets of their partition (sequencer
 *   `offsets.assign`), committed once all are "written"; before the commit
 *   the producer checks that its session epoch is still the live one.
 * Prints one JSON line per batch, then a summary line.
 *
 *   npx tsx examples/dlog-producer.ts \
 *     --endpoints ws://127.0.0.1:7100,ws://127.0.0.1:7200,ws://127.0.0.1:7300,ws://127.0.0.1:7500,ws://127.0.0.1:7600 \
 *     --producer orders-writer-1 --batches 5 --records 10 [--subject orders-value] [--partition orders-0]
 */
import { PharaohClient } from '@pharaoh/client';
import { flags, need } from './args.js';

const f = flags(process.argv.slice(2));
const endpoints = need(f, 'endpoints').split(',');
const producer = need(f, 'producer');
const batches = Number(f.get('batches') ?? 5);
const records = Number(f.get('records') ?? 10);
const subject = f.get('subject') ?? 'orders-value';
const partition = f.get('partition') ?? 'orders-0';
/** The records' schema (Avro); registering it again is idempotent. */
const ORDER_SCHEMA = JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }, { name: 'amount', type: 'double' }] });

const client = await PharaohClient.connect({ endpoints });
try {
  const session = await client.sessions.open({ producer, timeoutMs: 30_000 });
  const { schemaId, version } = await client.schemas.register(subject, ORDER_SCHEMA, 'AVRO');
  let last = 0n;
  for (let b = 0; b < batches; b++) {
    const tx = await client.tx.begin({ key: producer });
    // One timestamp per record: unique, increasing for this client (the client passes `after`).
    const stamps: bigint[] = [];
    for (let r = 0; r < records; r++) stamps.push(await client.tso.next());
    if (stamps.some((t) => t <= last)) throw new Error('timestamps went backwards');
    // The batch's place in its partition's log: `records` consecutive offsets, never handed out twice.
    const offsets = await client.offsets.assign(partition, records);
    last = stamps[stamps.length - 1]!;
    // A fenced producer must not commit: a newer instance of it took over.
    if ((await client.sessions.validate(session)) !== 'OK') throw new Error(`session ${session.sessionId} epoch ${session.epoch} is fenced`);
    const { commitTs } = await client.tx.commit(tx.txId);
    process.stdout.write(
      `${JSON.stringify({ batch: b, txId: String(tx.txId), commitTs: String(commitTs), first: String(stamps[0]), last: String(last), schemaId: String(schemaId), offset: offsets.first, count: offsets.count })}\n`,
    );
  }
  await client.sessions.close(session);
  process.stdout.write(`${JSON.stringify({ done: true, producer, sessionId: String(session.sessionId), epoch: session.epoch, batches, schemaId: String(schemaId), version })}\n`);
} finally {
  await client.close();
}
