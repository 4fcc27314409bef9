/**
 * Automatic batching of timestamp calls, after TiDB PD's TSO dispatcher: every
 * `tso.next()`/`tso.range()` made in one event-loop turn for the same shard (or
 * for "any shard") joins one queue, and the queue leaves as one `ts.get` with
 * the summed count on the next turn (or after `batchWindowMs`) — or at once,
 * as soon as it holds a full batch (the cap: `min(maxBatchSize, hello maxCount)`
 * IDs). Sending full batches at once lets the server answer one while the
 * callers of the next are still arriving, instead of the client and the server
 * taking turns. The returned range is split among the waiting callers in
 * arrival order; callers left over when the server returned fewer IDs than
 * asked wait for the next request.
 *
 * Monotonicity: every request carries `after` = the largest timestamp this
 * client has received, so a call made after another call resolved gets a larger
 * timestamp, on any shard (the server guarantees `first > after`).
 *
 * Routing and what to do after a failure are the router's (`route`,
 * `afterFailure`), the same rules as every other call; the batcher only adds
 * the queueing.
 *
 * Cost per call, the hot path of a producer: one promise and one Waiter; no
 * clock read (a waiter's deadline is stamped when its queue is flushed, a read
 * per batch), no timer.
 */
import { readResult } from '@pharaoh/protocol';
import { TSO, type ServiceArgs, type ServiceResult } from '@pharaoh/registry';
import type { ShardMap } from './shard-map.js';
import type { Connection } from './connection.js';
import { callTimedOut, type CallEntry, type Router } from './router.js';
import { ProtocolViolationError, rethrowHere, type PharaohError } from './errors.js';

const TS_GET = TSO.ops['ts.get'];

/** Queue key of calls without a key: the policy picks a shard per batch. */
const ANY = -1;

type TsoResult = bigint | { first: bigint; count: number };

/** One tso call waiting for its IDs: a plain object, no base class (one is made per call). */
class Waiter implements CallEntry {
  done = false;
  /** 0 until its queue is flushed: then tracked by the router's deadlines. */
  deadline = 0;
  /** The last retryable error, named in the TimeoutError. */
  lastError: PharaohError | undefined = undefined;
  constructor(
    /** IDs wanted: 1 for next(), n for range(n). */
    readonly want: number,
    /** next(): resolves with the bigint; range(): with { first, count }. */
    readonly asRange: boolean,
    private readonly timeoutMs: number,
  ) {}
  /** Settles the caller's promise (set by promiseOf). */
  resolve: (v: TsoResult | PromiseLike<TsoResult>) => void = noResolve;
  expire(): void {
    this.failWithCallerStack(callTimedOut('tso call', this.timeoutMs, this.lastError));
  }
  fail(err: Error): void {
    this.failWithCallerStack(err);
  }
  /**
   * Reject with a copy of `err` made inside a promise job that the caller's
   * `await` follows, so V8 gives it the caller's async stack (`at async
   * yourFunction`). `tso.next()` hands out this waiter's promise itself, not
   * an async wrapper around it (which would cost a promise and a microtask on
   * every call to give the same stack): the price is paid only on failure.
   * Order matters: the promise is resolved with `relay` before `gate` rejects,
   * so the caller's promise already follows `relay` when `rethrowHere` runs.
   */
  failWithCallerStack(err: Error): void {
    let fail!: (e: Error) => void;
    const gate = new Promise<never>((_resolve, reject) => (fail = reject));
    const relay = gate.then(undefined, rethrowHere);
    this.resolve(relay);
    fail(err);
  }
}

const noResolve = (): void => {};

/**
 * The caller's promise for `w`, its resolve function kept on `w`. One shared
 * executor instead of a closure per call: the waiter is handed over in a
 * module variable (the executor runs synchronously inside `new Promise`).
 */
function promiseOf(w: Waiter): Promise<TsoResult> {
  binding = w;
  const p = new Promise<TsoResult>(bindResolve);
  binding = undefined;
  return p;
}
let binding: Waiter | undefined;
function bindResolve(resolve: (v: TsoResult | PromiseLike<TsoResult>) => void): void {
  binding!.resolve = resolve;
}

/** The calls waiting for one shard (or for any shard), in arrival order. */
interface Queue {
  readonly key: number;
  waiters: Waiter[];
  /** IDs the live and finished waiters ask for (an upper bound of what a flush sends). */
  ids: number;
  /** In `dirty`: flushed at the end of the turn. */
  listed: boolean;
}

export class TsoBatcher {
  /** Largest timestamp this client has received (0n: none yet). */
  maxSeen = 0n;
  /** Indexed by key + 1 (ANY first, then shards 0..1023); made on first use and kept. */
  private readonly queues: Array<Queue | undefined> = [];
  /** Queues with waiters since the last flush, in the order they got their first one. */
  private dirty: Queue[] = [];
  private scheduled = false;
  private immediate: NodeJS.Immediate | undefined;
  private timer: unknown;
  private closed = false;

  /** The TSO's shard map (the registry entry the batched op `ts.get` belongs to). */
  private readonly tsoMap: ShardMap;

  constructor(private readonly router: Router) {
    this.tsoMap = router.map(TSO.name);
  }

  /** Queue a call for `want` IDs on `shard` (undefined: any healthy shard). */
  take(want: number, shard: number | undefined, asRange: boolean): Promise<TsoResult> {
    const w = new Waiter(want, asRange, this.router.opts.timeoutMs);
    const promise = promiseOf(w);
    const q = this.queueOf(shard ?? ANY);
    q.waiters.push(w);
    q.ids += want;
    if (!q.listed) this.list(q);
    if (q.ids >= this.router.opts.maxBatchSize) this.flushFull(q);
    return promise;
  }

  private queueOf(key: number): Queue {
    return (this.queues[key + 1] ??= { key, waiters: [], ids: 0, listed: false });
  }

  /** Mark `q` for the end-of-turn flush (and make sure one is scheduled). */
  private list(q: Queue): void {
    q.listed = true;
    this.dirty.push(q);
    this.schedule();
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
    const deadline = this.deadline();
    const dirty = this.dirty;
    this.dirty = [];
    for (const q of dirty) {
      q.listed = false;
      if (q.waiters.length > 0) this.flushQueue(q.key, this.detach(q), deadline, false);
    }
  };

  /**
   * Send the full batches of a queue now (when its route is open); the rest
   * stays queued for the end of the turn.
   */
  private flushFull(q: Queue): void {
    const { shard, conn } = this.router.route(this.tsoMap, q.key === ANY ? undefined : q.key);
    if (conn === undefined || q.ids < this.cap(conn)) return;
    this.flushQueue(q.key, this.detach(q), this.deadline(), true, shard);
  }

  /** Take a queue's waiters (a flush puts back what it does not send). */
  private detach(q: Queue): Waiter[] {
    const w = q.waiters;
    q.waiters = [];
    q.ids = 0;
    return w;
  }

  /** When a call queued now times out. Calls queued earlier in this turn get the same (a turn later than theirs at most). */
  private deadline(): number {
    return this.router.opts.clock.now() + this.router.opts.timeoutMs;
  }

  private cap(conn: Connection): number {
    return Math.min(this.router.opts.maxBatchSize, conn.hello!.limits.maxCount);
  }

  /**
   * Send `waiters` as batches of at most the cap; what has no route goes back
   * to wait. With `fullOnly`, a last batch short of the cap goes back to its
   * queue instead (and `firstShard` is the shard already picked for the first batch).
   */
  private flushQueue(key: number, waiters: Waiter[], deadline: number, fullOnly: boolean, firstShard?: number): void {
    const map = this.tsoMap;
    const calls = this.router.calls;
    let i = 0;
    let picked = firstShard;
    while (i < waiters.length) {
      const { shard, conn } = this.router.route(map, picked ?? (key === ANY ? undefined : key));
      picked = undefined;
      if (shard === undefined || conn === undefined) {
        const rest = this.live(waiters, i, deadline);
        const err = this.router.noRoute(map, shard);
        for (const w of rest) w.lastError ??= err;
        this.requeue(key, rest);
        this.router.stall(() => this.schedule());
        return;
      }
      const cap = this.cap(conn);
      let total = 0;
      let end = i;
      let allLive = true;
      for (; end < waiters.length && total < cap; end++) {
        const w = waiters[end]!;
        if (w.done) allLive = false;
        else total += w.want;
      }
      if (fullOnly && total < cap) break;
      // Usually the whole queue is one batch of live waiters: then the array itself is the batch.
      let batch = waiters;
      if (i !== 0 || end !== waiters.length || !allLive) {
        batch = [];
        for (let j = i; j < end; j++) if (!waiters[j]!.done) batch.push(waiters[j]!);
      }
      i = end;
      // Deadlines are stamped here, once per flush, instead of reading the clock per call.
      for (let j = 0; j < batch.length; j++) if (batch[j]!.deadline === 0) calls.addWithDeadline(batch[j]!, deadline);
      if (batch.length > 0) this.send(key, shard, conn, batch, Math.min(total, cap));
    }
    if (i < waiters.length) {
      this.requeue(key, this.live(waiters, i, deadline));
      this.schedule();
    }
  }

  /** The unfinished waiters of `waiters` from `from`, each tracked for its deadline. */
  private live(waiters: Waiter[], from: number, deadline: number): Waiter[] {
    const calls = this.router.calls;
    const out: Waiter[] = [];
    for (let i = from; i < waiters.length; i++) {
      const w = waiters[i]!;
      if (w.done) continue;
      if (w.deadline === 0) calls.addWithDeadline(w, deadline);
      out.push(w);
    }
    return out;
  }

  private send(key: number, shard: number, conn: Connection, batch: Waiter[], count: number): void {
    const args: ServiceArgs<typeof TSO, 'ts.get'> = this.maxSeen > 0n ? { shard, count, after: this.maxSeen } : { shard, count };
    conn.request({ op: 'ts.get', ...args }, (err, ok) => {
      if (err !== undefined) return this.onError(key, shard, conn, batch, err);
      // Checked by the op's result spec, like every answer (IDs as bigint whatever their encoding).
      let range: ServiceResult<typeof TSO, 'ts.get'>;
      try {
        range = readResult('ts.get', TS_GET, ok);
        if (range.count < 1 || range.count > count) throw new TypeError(`ts.get: count ${range.count} is not in 1..${count}`);
      } catch (e) {
        return this.rejectAll(batch, new ProtocolViolationError(`bad ts.get answer from ${conn.url}: ${(e as Error).message}`));
      }
      this.distribute(key, batch, range.first, range.count);
    });
  }

  /**
   * Hand out `count` IDs from `first` to the batch in order. `maxSeen` is raised
   * before any caller resumes, so a call they make next asks for later IDs.
   */
  private distribute(key: number, batch: Waiter[], first: bigint, count: number): void {
    const last = first + BigInt(count - 1);
    if (last > this.maxSeen) this.maxSeen = last;
    let pos = first;
    let remaining = count;
    let j = 0;
    for (; j < batch.length && remaining > 0; j++) {
      const w = batch[j]!;
      if (w.done) continue;
      w.done = true;
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
    // Finished waiters leave the deadline queue in one sweep rather than one call each.
    this.router.calls.sweep();
    if (j < batch.length) {
      this.requeue(key, batch.slice(j).filter((w) => !w.done));
      this.schedule();
    }
  }

  private onError(key: number, shard: number, conn: Connection, batch: Waiter[], err: PharaohError): void {
    // The router's rule, as for every call: keyless calls fail over at once (the failed shard is now skipped); keyed ones wait for their shard.
    const next = this.router.afterFailure(TSO.name, shard, conn, err, key === ANY);
    if (next === 'fail') return this.rejectAll(batch, err);
    const live = batch.filter((w) => !w.done);
    for (const w of live) w.lastError = err;
    this.requeue(key, live);
    if (next === 'now') this.schedule();
    else this.router.stall(() => this.schedule());
  }

  private rejectAll(batch: Waiter[], err: Error): void {
    for (const w of batch) {
      if (w.done) continue;
      this.router.calls.finish(w);
      w.fail(err);
    }
  }

  /** Put waiters back at the front of their queue, keeping arrival order (the caller schedules the flush). */
  private requeue(key: number, waiters: Waiter[]): void {
    if (waiters.length === 0) return;
    const q = this.queueOf(key);
    let ids = 0;
    for (const w of waiters) ids += w.want;
    q.waiters = q.waiters.length === 0 ? waiters : waiters.concat(q.waiters);
    q.ids += ids;
    if (!q.listed) {
      q.listed = true;
      this.dirty.push(q);
    }
  }

  /**
   * Stop scheduling. Waiters already tracked for their deadline are failed by
   * the router's close; those queued in this turn and not yet tracked fail here, with `err`.
   */
  close(err: Error): void {
    this.closed = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) this.router.opts.clock.clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
    this.dirty = [];
    for (const q of this.queues) {
      if (q === undefined) continue;
      q.listed = false;
      for (const w of this.detach(q)) {
        if (w.done || w.deadline !== 0) continue;
        w.done = true;
        w.fail(err);
      }
    }
  }
}
