/**
 * Automatic batching of timestamp calls, after TiDB PD's TSO dispatcher: every
 * `tso.next()`/`tso.range()` made in one event-loop turn for the same shard (or
 * for "any shard") joins one queue, and the queue leaves as one `ts.get` with
 * the summed count on the next turn (or after `batchWindowMs`). The returned
 * range is split among the waiting callers in arrival order; callers left over
 * when the server returned fewer IDs than asked wait for the next request.
 *
 * Monotonicity: every request carries `after` = the largest timestamp this
 * client has received, so a call made after another call resolved gets a larger
 * timestamp, on any shard (the server guarantees `first > after`).
 */
import { ERROR_CODES } from '@pharaoh/protocol';
import type { Connection } from './connection.js';
import { TimedCall, type Router } from './router.js';
import { ConnectionLostError, ProtocolViolationError, isRetryable, type PharaohError } from './errors.js';

/** Queue key of calls without a key: the policy picks a shard per batch. */
const ANY = -1;

class Waiter extends TimedCall {
  constructor(
    /** IDs wanted: 1 for next(), n for range(n). */
    readonly want: number,
    /** next(): resolves with the bigint; range(): with { first, count }. */
    readonly asRange: boolean,
    readonly resolve: (v: bigint | { first: bigint; count: number }) => void,
    readonly reject: (err: Error) => void,
    timeoutMs: number,
  ) {
    super(timeoutMs);
  }
  expire(): void {
    this.reject(this.timedOut('tso call'));
  }
  fail(err: Error): void {
    this.reject(err);
  }
}

export class TsoBatcher {
  /** Largest timestamp this client has received (0n: none yet). */
  maxSeen = 0n;
  private queues = new Map<number, Waiter[]>();
  private scheduled = false;
  private immediate: NodeJS.Immediate | undefined;
  private timer: unknown;
  private closed = false;

  constructor(private readonly router: Router) {}

  /** Queue a call for `want` IDs on `shard` (undefined: any healthy shard). */
  take(want: number, shard: number | undefined, asRange: boolean): Promise<bigint | { first: bigint; count: number }> {
    return new Promise((resolve, reject) => {
      const w = new Waiter(want, asRange, resolve, reject, this.router.opts.timeoutMs);
      this.router.calls.add(w);
      const key = shard ?? ANY;
      const q = this.queues.get(key);
      if (q === undefined) this.queues.set(key, [w]);
      else q.push(w);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    const window = this.router.opts.batchWindowMs;
    if (window === 0) this.immediate = setImmediate(this.flushAll);
    else this.timer = this.router.opts.clock.setTimeout(this.flushAll, window);
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    this.immediate = undefined;
    this.timer = undefined;
    const queues = this.queues;
    this.queues = new Map();
    for (const [key, waiters] of queues) this.flushQueue(key, waiters);
  };

  /** Send `waiters` as batches of at most the cap; what has no route goes back to wait. */
  private flushQueue(key: number, waiters: Waiter[]): void {
    const map = this.router.maps.tso;
    let i = 0;
    while (i < waiters.length) {
      const shard = key === ANY ? map.pick(this.router.opts.policy) : key;
      const conn = shard === undefined ? undefined : map.ownerOf(shard);
      if (shard === undefined || conn === undefined || !conn.isOpen) {
        const rest = waiters.slice(i).filter((w) => !w.done);
        const err = new ConnectionLostError(conn?.url ?? '(none)', shard === undefined ? 'no healthy tso shard is connected' : `no connected tso endpoint hosts shard ${shard}`);
        for (const w of rest) w.lastError ??= err;
        this.requeue(key, rest);
        this.router.stall(() => this.schedule());
        return;
      }
      const cap = Math.min(this.router.opts.maxBatchSize, conn.hello!.limits.maxCount);
      const batch: Waiter[] = [];
      let total = 0;
      for (; i < waiters.length && total < cap; i++) {
        const w = waiters[i]!;
        if (w.done) continue;
        batch.push(w);
        total += w.want;
      }
      if (batch.length > 0) this.send(key, shard, batch, Math.min(total, cap));
    }
  }

  private send(key: number, shard: number, batch: Waiter[], count: number): void {
    const conn = this.router.maps.tso.ownerOf(shard)!;
    const frame: Record<string, unknown> = { op: 'ts.get', shard, count };
    if (this.maxSeen > 0n) frame.after = this.maxSeen;
    conn.request(frame, (err, ok) => {
      if (err !== undefined) return this.onError(key, shard, conn, batch, err);
      const first = ok!.first;
      const got = ok!.count;
      if ((typeof first !== 'bigint' && typeof first !== 'number') || typeof got !== 'number' || !(got >= 1 && got <= count)) {
        return this.rejectAll(batch, new ProtocolViolationError(`bad ts.get answer from ${conn.url}: ${JSON.stringify(ok, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`));
      }
      this.distribute(key, batch, BigInt(first), got);
    });
  }

  /**
   * Hand out `count` IDs from `first` to the batch in order. `maxSeen` is raised
   * before any caller resumes, so a call they make next asks for later IDs.
   */
  private distribute(key: number, batch: Waiter[], first: bigint, count: number): void {
    const last = first + BigInt(count - 1);
    if (last > this.maxSeen) this.maxSeen = last;
    const calls = this.router.calls;
    let pos = first;
    let remaining = count;
    let j = 0;
    for (; j < batch.length && remaining > 0; j++) {
      const w = batch[j]!;
      if (w.done) continue;
      calls.finish(w);
      if (w.asRange) {
        const give = Math.min(w.want, remaining);
        w.resolve({ first: pos, count: give });
        pos += BigInt(give);
        remaining -= give;
      } else {
        w.resolve(pos);
        pos += 1n;
        remaining -= 1;
      }
    }
    if (j < batch.length) {
      this.requeue(key, batch.slice(j).filter((w) => !w.done));
      this.schedule();
    }
  }

  private onError(key: number, shard: number, conn: Connection, batch: Waiter[], err: PharaohError): void {
    if (!isRetryable(err)) return this.rejectAll(batch, err);
    this.router.noteFailure('tso', shard, conn, err);
    const live = batch.filter((w) => !w.done);
    for (const w of live) w.lastError = err;
    this.requeue(key, live);
    // Keyless calls fail over at once (the failed shard is now skipped); keyed ones wait for their shard.
    if (key === ANY && err.code !== ERROR_CODES.OVERLOADED) this.schedule();
    else this.router.stall(() => this.schedule());
  }

  private rejectAll(batch: Waiter[], err: Error): void {
    for (const w of batch) {
      if (w.done) continue;
      this.router.calls.finish(w);
      w.reject(err);
    }
  }

  /** Put waiters back at the front of their queue, keeping arrival order. */
  private requeue(key: number, waiters: Waiter[]): void {
    if (waiters.length === 0) return;
    const q = this.queues.get(key);
    this.queues.set(key, q === undefined ? waiters : waiters.concat(q));
  }

  /** Stop scheduling; pending waiters are failed by the router's close. */
  close(): void {
    this.closed = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) this.router.opts.clock.clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
    this.queues.clear();
  }
}
