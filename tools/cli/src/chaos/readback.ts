/**
 * After the run (and after a final crash and restart of every server): ask the
 * fleet for the status of every transaction the workers began and validate
 * every session epoch they were given.
 */
import { PharaohClient } from '@pharaoh/client';
import type { WorkerEvent } from './events.js';

const CONCURRENCY = 64;
const ATTEMPTS = 5;

/** Run `fn` over `items` with at most CONCURRENCY calls in flight. */
async function pool<T>(items: T[], fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The answer as a string: the status, or the error code when the call failed every attempt. */
async function ask(call: () => Promise<string>): Promise<string> {
  let last = 'ERROR';
  for (let i = 0; i < ATTEMPTS; i++) {
    try {
      return await call();
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERROR';
      last = code;
      // Domain answers are final; only transport trouble is retried.
      if (!['TIMEOUT', 'CONNECTION_LOST', 'SHARD_UNAVAILABLE', 'OVERLOADED', 'SHUTTING_DOWN', 'ERROR'].includes(code)) return code;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return last;
}

export async function readBack(fleetFile: string, events: WorkerEvent[]): Promise<{ finalTx: Map<string, string>; finalSessions: Map<string, string> }> {
  const client = await PharaohClient.connect({ fleet: fleetFile }, { timeoutMs: 10_000 });
  const finalTx = new Map<string, string>();
  const finalSessions = new Map<string, string>();
  try {
    const txIds = [...new Set(events.flatMap((e) => (e.k === 'txb' ? [e.id] : [])))];
    await pool(txIds, async (id) => {
      finalTx.set(id, await ask(() => client.tx.status(BigInt(id))));
    });
    const epochs = [...new Set(events.flatMap((e) => (e.k === 'so' ? [`${e.id}:${e.ep}`] : [])))];
    await pool(epochs, async (key) => {
      const [id, ep] = key.split(':') as [string, string];
      finalSessions.set(key, await ask(() => client.sessions.validate({ sessionId: BigInt(id), epoch: Number(ep) })));
    });
  } finally {
    await client.close();
  }
  return { finalTx, finalSessions };
}
