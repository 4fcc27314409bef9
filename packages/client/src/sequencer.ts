/**
 * The sequencer's typed calls (service `sequencer`): `client.cdc.next(table,
 * count?)` and `client.offsets.assign(partition, count)`.
 *
 * Both are keyed: a table's or a partition's sequence lives on one shard,
 * `shardForKey(key)`, and every call for it goes there (the server refuses
 * any other with NOT_OWNER). Calls for the same key made in one event-loop
 * turn (or within `batchWindowMs`) leave as one request with the summed count
 * (at most the server's `limits.maxCount`, and `maxBatchSize`), like the TSO
 * batcher does for `ts.get`; the answer's range is split among the callers in
 * call order. Retries, timeouts and waiting for a shard are the router's, as
 * for every call.
 *
 * - `cdc.next`: a range may be shorter than asked (one millisecond's worth);
 *   callers left without IDs ride on the next request.
 * - `offsets.assign`: the server hands out exactly the count asked, so each
 *   caller gets exactly its `count` consecutive offsets. Every request carries
 *   an idempotency token, this client's `producerId` (random, 53 bits) and a
 *   `seq` (increasing over the client's requests), set once per request and
 *   kept by every retry of it (timeouts of an attempt, NOT_OWNER, a dropped
 *   connection, a restarted server): a retry whose first answer was lost gets
 *   the same range, so no hole is left. For that the partition's last token
 *   must be the retried one, so the client has at most one request in flight
 *   per partition (callers meanwhile join the next request). Only a call that
 *   fails for good (its `timeoutMs` passed) may leave its range unused.
 */
import { randomBytes } from 'node:crypto';
import { MAX_COUNT, shardForKey } from '@pharaoh/protocol';
import { SEQUENCER, type OpsOf } from '@pharaoh/registry';
import { CallSite, InvalidArgumentError, ProtocolViolationError } from './errors.js';
import type { Router } from './router.js';

type SeqOp = Extract<OpsOf<typeof SEQUENCER>, 'cdc.next' | 'offsets.assign'>;
type Range<T> = { first: T; count: number };

/** One caller waiting in a key's queue. */
interface Waiter<T> {
  want: number;
  site: CallSite;
  resolve(r: Range<T>): void;
  reject(err: Error): void;
}

/** The calls for one key, in call order, and whether a flush for it is pending. */
interface KeyQueue<T> {
  key: string;
  waiters: Array<Waiter<T>>;
}

/**
 * Joins the calls of one op for the same key into requests of summed count.
 * `T`: the range's `first` (bigint IDs for cdc.next, number offsets for offsets.assign).
 */
class KeyedCoalescer<T extends bigint | number> {
  private queues = new Map<string, KeyQueue<T>>();
  private scheduled = false;
  /** Keys with a request in flight (only with `serial`). */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly router: Router,
    private readonly op: SeqOp,
    private readonly field: 'table' | 'partition',
    private readonly add: (first: T, n: number) => T,
    /** cdc.next: an answer may hold fewer than asked (the rest ask again); offsets.assign: exactly what was asked. */
    private readonly partial: boolean,
    /**
     * offsets.assign: fields added to each request once (its idempotency
     * token), kept by all its retries, and at most one request in flight per
     * key, so that a retry always carries the key's latest token.
     */
    private readonly token?: () => Record<string, number>,
  ) {}

  take(key: string, want: number, site: CallSite): Promise<Range<T>> {
    return new Promise<Range<T>>((resolve, reject) => {
      let q = this.queues.get(key);
      if (q === undefined) this.queues.set(key, (q = { key, waiters: [] }));
      q.waiters.push({ want, site, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const window = this.router.opts.batchWindowMs;
    if (window === 0) setImmediate(this.flush);
    else this.router.opts.clock.setTimeout(this.flush, window);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const queues = this.queues;
    this.queues = new Map();
    for (const q of queues.values()) {
      // Serial: the key's callers wait (in its queue) for the request in flight, then leave together.
      if (this.inFlight.has(q.key)) this.queues.set(q.key, q);
      else this.send(q.key, q.waiters);
    }
  };

  /** The request of serial `key` is done: send what queued up meanwhile. */
  private done(key: string): void {
    this.inFlight.delete(key);
    if (this.queues.has(key)) this.schedule();
  }

  /** The largest count one request may ask for: the client's maxBatchSize and the shard's announced maxCount. */
  private cap(shard: number): number {
    const { conn } = this.router.route(this.router.map(SEQUENCER.name), shard);
    return Math.min(this.router.opts.maxBatchSize, conn?.hello?.limits.maxCount ?? MAX_COUNT);
  }

  /** Send `waiters` (all of `key`) as requests of at most the cap each, in call order. */
  private send(key: string, waiters: Array<Waiter<T>>): void {
    const shard = shardForKey(key);
    const cap = this.cap(shard);
    let i = 0;
    while (i < waiters.length) {
      let total = 0;
      let end = i;
      // A caller asking more than the cap goes alone: cdc.next asks the cap (a shorter range, like tso.range);
      // offsets.assign asks its own count, which the server refuses (BAD_REQUEST) rather than split.
      for (; end < waiters.length && (end === i || total + waiters[end]!.want <= cap); end++) total += waiters[end]!.want;
      this.request(key, shard, waiters.slice(i, end), this.partial ? Math.min(total, cap) : total);
      i = end;
      if (this.token !== undefined && i < waiters.length) {
        // One request at a time per key: the rest go first in the key's queue, after this one.
        const q = this.queues.get(key);
        if (q === undefined) this.queues.set(key, { key, waiters: waiters.slice(i) });
        else q.waiters.unshift(...waiters.slice(i));
        return;
      }
    }
  }

  private request(key: string, shard: number, batch: Array<Waiter<T>>, count: number): void {
    const args = { [this.field]: key, count, ...this.token?.() } as { table: string; count: number } & { partition: string; count: number };
    if (this.token !== undefined) this.inFlight.add(key);
    this.router.execute({ spec: SEQUENCER, op: this.op, args, shard }, batch[0]!.site).finally(() => {
      if (this.token !== undefined) this.done(key);
    }).then(
      (r) => {
        if (r.count < 1 || r.count > count || (!this.partial && r.count !== count)) {
          const err = new ProtocolViolationError(`bad ${this.op} answer: count ${r.count} for ${count} asked`);
          for (const w of batch) w.reject(w.site.stamp(err));
          return;
        }
        this.distribute(key, batch, r.first as T, r.count);
      },
      (err: Error) => {
        for (const w of batch) w.reject(err);
      },
    );
  }

  /** Hand `count` from `first` to the batch in call order; callers left over ask again. */
  private distribute(key: string, batch: Array<Waiter<T>>, first: T, count: number): void {
    let pos = first;
    let remaining = count;
    let j = 0;
    for (; j < batch.length && remaining > 0; j++) {
      const w = batch[j]!;
      const give = Math.min(w.want, remaining);
      w.resolve({ first: pos, count: give });
      pos = this.add(pos, give);
      remaining -= give;
    }
    if (j < batch.length) {
      const q = this.queues.get(key);
      if (q === undefined) this.queues.set(key, { key, waiters: batch.slice(j) });
      else q.waiters.unshift(...batch.slice(j));
      this.schedule();
    }
  }
}

function checkKey(what: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key, 'utf8') > 255) {
    throw new InvalidArgumentError(`${what} must be a string of 1..255 bytes of UTF-8`);
  }
}

function checkCount(count: unknown, max = MAX_COUNT): asserts count is number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > max) {
    throw new InvalidArgumentError(`count must be an integer in [1, ${max}], got ${String(count)}`);
  }
}

/** CDC event ids (service `sequencer`, op `cdc.next`). */
export class CdcApi {
  private readonly coalescer: KeyedCoalescer<bigint>;
  constructor(private readonly router: Router) {
    this.coalescer = new KeyedCoalescer<bigint>(router, 'cdc.next', 'table', (first, n) => first + BigInt(n), true);
  }

  /**
   * Up to `count` (default 1) consecutive CDC event ids of `table`,
   * `first .. first + count - 1` (fewer when a millisecond's ids run out: ask
   * again). Strictly above every id of the table handed out before, across
   * crashes and restores; unique across the fleet (the shard is in the bits).
   */
  next(table: string, count = 1): Promise<{ first: bigint; count: number }> {
    const site = new CallSite();
    try {
      checkKey('table', table);
      checkCount(count);
      return this.coalescer.take(table, count, site);
    } catch (err) {
      return Promise.reject(site.stamp(err as Error));
    }
  }
}

/** Per-partition offsets (service `sequencer`, op `offsets.assign`). */
export class OffsetsApi {
  private readonly coalescer: KeyedCoalescer<number>;
  /**
   * This client's producerId in every `offsets.assign` token: random (53
   * bits), so clients do not share one (a partition remembers the last token
   * of each of its recent producers).
   */
  readonly producerId: number = Number(randomBytes(8).readBigUInt64BE() >> 11n);
  /** The last seq sent: increasing over all of this client's requests (so per partition too). */
  private seq = 0;
  constructor(private readonly router: Router) {
    this.coalescer = new KeyedCoalescer<number>(router, 'offsets.assign', 'partition', (first, n) => first + n, false, () => ({
      producerId: this.producerId,
      seq: ++this.seq,
    }));
  }

  /**
   * Exactly `count` consecutive offsets of `partition`: `first .. first +
   * count - 1`, dense after the partition's previous range, durable on the
   * sequencer before this resolves. A partition of a restored shard jumps
   * once (see docs/PROTOCOL.md, `offsets.assign`). The client's retries of
   * the request (lost answer, reconnect, NOT_OWNER) carry its idempotency
   * token and get the same range.
   */
  assign(partition: string, count: number): Promise<{ first: number; count: number }> {
    const site = new CallSite();
    try {
      checkKey('partition', partition);
      checkCount(count);
      return this.coalescer.take(partition, count, site);
    } catch (err) {
      return Promise.reject(site.stamp(err as Error));
    }
  }
}
