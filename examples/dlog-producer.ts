/**
 * A DLog-style producer on the Pharaoh fleet, through @pharaoh/client:
 * - a named session (session-mgr): reopening the same producer name fences
 *   any zombie of it (its older epoch);
 * - per batch, a transaction (txcoord) whose records get TSO timestamps
 *   (tso), committed once all are "written"; before the commit the producer
 *   checks that its session epoch is still the live one.
 * Prints one JSON line per batch, then a summary line.
 *
 *   npx tsx examples/dlog-producer.ts --endpoints ws://127.0.0.1:7100,ws://127.0.0.1:7200,ws://127.0.0.1:7300 \
 *     --producer orders-writer-1 --batches 5 --records 10
 */
import { PharaohClient } from '@pharaoh/client';
import { flags, need } from './args.js';

const f = flags(process.argv.slice(2));
const endpoints = need(f, 'endpoints').split(',');
const producer = need(f, 'producer');
const batches = Number(f.get('batches') ?? 5);
const records = Number(f.get('records') ?? 10);

const client = await PharaohClient.connect({ endpoints });
try {
  const session = await client.sessions.open({ producer, timeoutMs: 30_000 });
  let last = 0n;
  for (let b = 0; b < batches; b++) {
    const tx = await client.tx.begin({ key: producer });
    // One timestamp per record: unique, increasing for this client (the client passes `after`).
    const stamps: bigint[] = [];
    for (let r = 0; r < records; r++) stamps.push(await client.tso.next());
    if (stamps.some((t) => t <= last)) throw new Error('timestamps went backwards');
    last = stamps[stamps.length - 1]!;
    // A fenced producer must not commit: a newer instance of it took over.
    if ((await client.sessions.validate(session)) !== 'OK') throw new Error(`session ${session.sessionId} epoch ${session.epoch} is fenced`);
    const { commitTs } = await client.tx.commit(tx.txId);
    process.stdout.write(`${JSON.stringify({ batch: b, txId: String(tx.txId), commitTs: String(commitTs), first: String(stamps[0]), last: String(last) })}\n`);
  }
  await client.sessions.close(session);
  process.stdout.write(`${JSON.stringify({ done: true, producer, sessionId: String(session.sessionId), epoch: session.epoch, batches })}\n`);
} finally {
  await client.close();
}
