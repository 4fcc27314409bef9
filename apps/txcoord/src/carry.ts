/**
 * What a graceful shard move carries of a txcoord shard: its open
 * transactions (begun, not decided), which presumed abort keeps in memory
 * only. The release writes them into the shard's `released` mark after the
 * table closed (every decision durable in the journal first); the next open
 * of the shard replays them as ACTIVE after the journal (docs/OPERATIONS.md
 * "Moving shards").
 *
 * Each transaction carries its timeout and the time it had left at the
 * release (not its deadline): the target restarts that remainder on its own
 * clock, so a clock skew between the hosts neither aborts the transactions
 * at once (target ahead) nor stretches them by the skew (target behind). The
 * move's unavailability, when the client could not heartbeat anyway, is not
 * counted against them.
 *
 * Format: UTF-8 JSON `{"format":1,"txs":[["<txId>",timeoutMs,remainingMs],...]}`
 * (txIds as decimal strings: they are 64-bit).
 */
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '@pharaoh/protocol';
import type { CarriedTx } from './tx-table.js';

export const CARRY_FORMAT = 1;

export function encodeCarried(txs: readonly CarriedTx[]): Uint8Array | undefined {
  if (txs.length === 0) return undefined;
  const body = { format: CARRY_FORMAT, txs: txs.map((t) => [t.txId.toString(), t.timeoutMs, Math.ceil(t.remainingMs)]) };
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/**
 * Read carried transactions back; `shardOf` tells the shard of a txId, and
 * only `shard`'s are taken. Throws on anything malformed (the caller then
 * carries nothing: presumed abort, as after a crash).
 */
export function decodeCarried(bytes: Uint8Array, shard: number, shardOf: (id: bigint) => number): CarriedTx[] {
  const body = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  if (typeof body !== 'object' || body === null) throw new Error('carried open transactions: not an object');
  const { format, txs } = body as { format?: unknown; txs?: unknown };
  if (format !== CARRY_FORMAT) throw new Error(`carried open transactions: format ${String(format)}, expected ${CARRY_FORMAT}`);
  if (!Array.isArray(txs)) throw new Error('carried open transactions: txs is not a list');
  const out: CarriedTx[] = [];
  for (const row of txs) {
    if (!Array.isArray(row) || row.length !== 3) throw new Error('carried open transactions: a row is not [txId, timeoutMs, remainingMs]');
    const [id, timeoutMs, remainingMs] = row as unknown[];
    if (typeof id !== 'string' || !/^\d{1,20}$/.test(id)) throw new Error(`carried open transactions: bad txId ${String(id)}`);
    const txId = BigInt(id);
    if (txId >= 2n ** 64n || shardOf(txId) !== shard) throw new Error(`carried open transactions: txId ${id} is not of shard ${shard}`);
    if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < MIN_TIMEOUT_MS || timeoutMs > MAX_TIMEOUT_MS) throw new Error(`carried open transactions: bad timeoutMs ${String(timeoutMs)}`);
    if (typeof remainingMs !== 'number' || !Number.isSafeInteger(remainingMs) || remainingMs < 1) throw new Error(`carried open transactions: bad remainingMs ${String(remainingMs)}`);
    // A clock step back at the source may leave more than the timeout: never more than a heartbeat gives.
    out.push({ txId, timeoutMs, remainingMs: Math.min(remainingMs, timeoutMs) });
  }
  return out;
}
