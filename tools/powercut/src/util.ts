/** Small helpers: keys that reach chosen shards, abortable sleeps, bounded concurrency. */
import { shardForKey } from '@pharaoh/protocol';

/**
 * `perShard` keys for each of `shards` (`prefix` + a number), found by trying
 * numbers in order: a keyed call (and a named producer) lands on
 * `shardForKey(key)`, so these reach exactly the shards a server hosts.
 */
export function keysForShards(shards: readonly number[], prefix: string, perShard: number): Map<number, string[]> {
  const want = new Set(shards);
  const out = new Map<number, string[]>(shards.map((s) => [s, []]));
  let filled = 0;
  const limit = 10_000 * 1024;
  for (let i = 0; filled < shards.length * perShard && i < limit; i++) {
    const key = `${prefix}${i}`;
    const s = shardForKey(key);
    if (!want.has(s)) continue;
    const list = out.get(s)!;
    if (list.length < perShard) {
      list.push(key);
      filled++;
    }
  }
  if (filled < shards.length * perShard) throw new Error(`found only ${filled} keys for shards ${shards.join(',')}`);
  return out;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `p`, or a rejection after `ms` naming `what`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

/** Run `fn` over `items`, at most `limit` at a time, in order of start. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** An integer in [lo, hi] from `rnd`. */
export function between(rnd: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

/** Up to `n` items of `items`, chosen by `rnd` (all of them if there are no more than `n`). */
export function sample<T>(items: readonly T[], n: number, rnd: () => number): T[] {
  if (items.length <= n) return [...items];
  const copy = [...items];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rnd() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

/** The error code of a client error (`TX_ABORTED`, `TIMEOUT`, …), or its name. */
export function codeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  return typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'ERROR';
}

/** One line describing a client error, with the cause of a timeout. */
export function describeError(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  const cause = e?.cause?.message ? ` (cause: ${e.cause.message})` : '';
  return `${codeOf(err)}: ${e?.message ?? String(err)}${cause}`;
}
