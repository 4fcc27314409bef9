/**
 * The host's side of an online shard move (`pharaoh shard move`,
 * docs/OPERATIONS.md "Moving shards", docs/DESIGN.md §9). Three admin ops,
 * called by the mover in this order:
 *
 * 1. `admin.shards.release {shards, drainMs?}` on the source: each shard stops
 *    taking requests (they answer SHARD_UNAVAILABLE, retryable: not acted
 *    upon), the requests already in flight on it are answered, then it closes
 *    like a graceful stop (app state — through the app's `releaseShard` where
 *    it has one, which keeps durably what a stop would lose, such as
 *    txcoord's open transactions —, generator, the process's time bound
 *    carried into `<shard dir>/bound` and fdatasynced, lock released). The
 *    shard stays listed in this process's hello and keeps answering
 *    SHARD_UNAVAILABLE until step 3, so a router never sees it owned by nobody.
 * 2. `admin.shards.claim {shards}` on the target: lock and identity, then open
 *    at the largest of the shard's carried bound, the process floor and every
 *    slot of the data dir read now (HostedShards.adopt); it serves at once and
 *    is in the hello of every new connection.
 * 3. `admin.shards.forward {shards, to}` on the source: the shard leaves its
 *    hello, and requests for it answer NOT_OWNER with `movedTo: to`.
 *
 * A claim on the source of a shard it released (but not forwarded) takes it
 * back: that is how a failed move is undone.
 */
import { performance } from 'node:perf_hooks';
import { ERROR_CODES, ProtocolError, parseShardRanges, expandShardRanges, toShardRanges, describeValue, MAX_SHARD } from '@pharaoh/protocol';
import type { ShardRanges } from '@pharaoh/protocol';
import type { Logger } from 'pino';
import type { FileSystem } from '@pharaoh/storage';
import type { HostedShard, HostedShards } from './shards.js';
import type { HostedService } from './types.js';

/** How long a release waits for requests in flight on its shards unless told (`drainMs`). */
export const DEFAULT_DRAIN_MS = 5_000;
/** A release may wait at most this long: a request slower than this is stuck, and the move should not hold the shard unavailable behind it. */
export const MAX_DRAIN_MS = 60_000;
/** An endpoint URL in `to` longer than this is refused (a URL, not a payload). */
const MAX_URL_BYTES = 1_024;

type Args = Record<string, unknown>;

function bad(op: string, field: string, what: string, got: unknown): ProtocolError {
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `${op}: ${field} must be ${what}, got ${describeValue(got)}`, { field });
}

/** `shards`: a string like "17,40-63" or a list of [lo, hi] ranges; at least one shard. */
function readShards(op: string, frame: Args): number[] {
  const raw = frame.shards;
  let ranges: ShardRanges;
  try {
    if (typeof raw === 'string') ranges = parseShardRanges(raw);
    else if (Array.isArray(raw) && raw.every((r) => Array.isArray(r) && r.length === 2 && r.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= MAX_SHARD)))
      ranges = parseShardRanges((raw as Array<[number, number]>).map(([lo, hi]) => `${lo}-${hi}`).join(','));
    else throw bad(op, 'shards', `a string like "17,40-63" or a list of [lo, hi] ranges within 0..${MAX_SHARD}`, raw);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(ERROR_CODES.BAD_REQUEST, `${op}: ${(err as Error).message}`, { field: 'shards' });
  }
  const ids = expandShardRanges(ranges);
  if (ids.length === 0) throw bad(op, 'shards', 'at least one shard', raw);
  return ids;
}

function readUrl(op: string, frame: Args): string {
  const to = frame.to;
  if (typeof to !== 'string' || Buffer.byteLength(to) > MAX_URL_BYTES || !/^wss?:\/\/[^/\s]+\/?$/.test(to)) {
    throw bad(op, 'to', `the target's endpoint URL (ws://host:port or wss://host:port, at most ${MAX_URL_BYTES} bytes)`, to);
  }
  return to.replace(/\/$/, '');
}

function readDrainMs(op: string, frame: Args): number {
  const d = frame.drainMs;
  if (d === undefined || d === null) return DEFAULT_DRAIN_MS;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_DRAIN_MS) throw bad(op, 'drainMs', `an integer in 1..${MAX_DRAIN_MS}`, d);
  return d;
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}

/**
 * What a process hosts, as moves change it. Invariants: a shard id is in
 * `hosted` exactly while this process holds (or is draining, or holds back
 * after releasing) it; `byId[id]` is its HostedShard while it is hosted and
 * undefined after it was forwarded; a forwarded shard is never served here
 * again unless claimed again.
 */
export class ShardMoves<S> {
  /** Shard ids this process announces (hello, NOT_OWNER lists, /readyz). */
  readonly hosted: Set<number>;
  /** Released here, not yet forwarded: SHARD_UNAVAILABLE, and not counted against readiness. */
  readonly released = new Set<number>();
  /** Forwarded shards and where they went (named in NOT_OWNER's `movedTo`). */
  readonly movedTo = new Map<number, string>();
  /** One move op at a time per process: two overlapping releases or claims of one shard would race its lock. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly def: HostedService<S>,
    private readonly shards: HostedShards<S>,
    private readonly byId: Array<HostedShard<S> | undefined>,
    private readonly logger: Logger,
    /** The file layer of the shards (their release marks). */
    private readonly fs: FileSystem,
    initial: readonly number[],
    /** Told after the hosted set changed (re-encode the hello, the NOT_OWNER list). */
    private readonly onChange: () => void,
  ) {
    this.hosted = new Set(initial);
  }

  /** The hosted set as ranges. */
  get ranges(): ShardRanges {
    return toShardRanges([...this.hosted].sort((a, b) => a - b));
  }

  /** Is `id` in the middle of a move here (draining, or released and held back)? */
  isMoving(id: number): boolean {
    const s = this.byId[id];
    return this.released.has(id) || s?.status === 'draining';
  }

  /** Run one admin move op (`op` is one of SHARD_MOVE_OPS), serialized with the others. */
  run(op: string, frame: Args): Promise<unknown> {
    let work: () => Promise<unknown>;
    switch (op) {
      case 'admin.shards.release': {
        const ids = readShards(op, frame);
        const drainMs = readDrainMs(op, frame);
        work = () => this.release(ids, drainMs);
        break;
      }
      case 'admin.shards.claim': {
        const ids = readShards(op, frame);
        work = () => this.claim(ids);
        break;
      }
      case 'admin.shards.forward': {
        const ids = readShards(op, frame);
        const to = readUrl(op, frame);
        work = async () => this.forward(ids, to);
        break;
      }
      default:
        throw new ProtocolError(ERROR_CODES.UNKNOWN_OP, `no admin op ${op}`);
    }
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Drain and close `ids` (see the file comment, step 1). All or nothing up
   * to the close: a shard not hosted here, or failed, refuses the whole
   * request; a drain that outlasts `drainMs` puts every shard of the request
   * back to serving and refuses. Already released shards count as released.
   */
  private async release(ids: number[], drainMs: number): Promise<Record<string, unknown>> {
    const op = 'admin.shards.release';
    const t0 = performance.now();
    const todo: Array<HostedShard<S>> = [];
    for (const id of ids) {
      if (this.released.has(id)) continue;
      const s = this.byId[id];
      if (s === undefined || !this.hosted.has(id)) {
        const where = this.movedTo.get(id);
        throw new ProtocolError(ERROR_CODES.BAD_REQUEST, `${op}: shard ${id} is not hosted by this process${where === undefined ? '' : ` (it was moved to ${where})`}`, { field: 'shards', shard: id });
      }
      if (s.status !== 'open') {
        throw new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, `${op}: shard ${id} is ${s.status}; release it once it serves again (a failed shard reopens itself)`, { shard: id });
      }
      todo.push(s);
    }
    for (const s of todo) s.status = 'draining';
    const drained = await Promise.race([
      Promise.all(todo.map((s) => s.whenIdle())).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), drainMs).unref()),
    ]);
    if (!drained) {
      for (const s of todo) if (s.status === 'draining') s.status = 'open';
      const busy = todo.filter((s) => s.inFlight > 0).map((s) => s.id);
      throw new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, `${op}: requests still in flight after ${drainMs} ms on shard(s) ${busy.join(',')}; nothing was released, the shards serve on here`, { shard: busy[0] ?? ids[0]! });
    }
    const drainedMs = ms(t0);
    // Each carries exactly what it issued, then the released mark (HostedShard.closeForMove).
    const closed = await Promise.all(todo.map((s) => s.closeForMove(this.def, this.fs)));
    const carried = closed.every((c) => c.exact);
    for (const s of todo) {
      this.released.add(s.id);
      this.shards.forget(s.id);
    }
    const boundTicks = Math.max(0, ...ids.map((id) => this.byId[id]?.bound.value ?? 0));
    this.logger.info({ shards: toShardRanges(ids), drainedMs, tookMs: ms(t0), carried }, 'shards released for a move');
    return { released: toShardRanges(ids), boundTicks, carried, drainMs: drainedMs, tookMs: ms(t0) };
  }

  /**
   * Claim and open `ids` (step 2), one after the other. A shard already
   * serving here counts as claimed. On the first failure the answer is an
   * error naming the shard; the shards claimed before it stay claimed (listed
   * in `claimed`), so rerunning the same request finishes the job.
   */
  private async claim(ids: number[]): Promise<Record<string, unknown>> {
    const op = 'admin.shards.claim';
    const t0 = performance.now();
    const done: number[] = [];
    // Every shard of the request opens before any serves: each resumes at the process's time
    // bound as it stands, and a shard serving already would push that bound (and so the next
    // shard's first IDs) a window further ahead of the clock.
    const opened: Array<HostedShard<S>> = [];
    const publish = (): void => {
      for (const shard of opened.splice(0)) {
        this.byId[shard.id] = shard;
        this.hosted.add(shard.id);
        this.released.delete(shard.id);
        this.movedTo.delete(shard.id);
        done.push(shard.id);
      }
      this.onChange();
    };
    for (const id of ids) {
      const cur = this.byId[id];
      if (cur !== undefined && this.hosted.has(id) && !this.released.has(id)) {
        if (cur.status === 'open' || cur.status === 'failed') {
          done.push(id);
          continue;
        }
        throw new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, `${op}: shard ${id} is ${cur.status} here; wait for its move to finish`, { shard: id });
      }
      try {
        opened.push(await this.shards.adopt(id));
      } catch (err) {
        publish();
        const code = (err as { code?: unknown }).code;
        throw new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, `${op}: shard ${id}: ${(err as Error).message}`, {
          shard: id,
          reason: typeof code === 'string' ? code : 'SHARD_OPEN_FAILED',
          claimed: toShardRanges(done),
        });
      }
    }
    publish();
    this.logger.info({ shards: toShardRanges(ids), tookMs: ms(t0) }, 'shards claimed by a move');
    return { claimed: toShardRanges(done), tookMs: ms(t0) };
  }

  /**
   * Stop announcing released `ids` and send their callers to `to` (step 3).
   * A shard still serving here is refused (release it first); one forwarded
   * before is pointed at `to` again.
   */
  private forward(ids: number[], to: string): Record<string, unknown> {
    const op = 'admin.shards.forward';
    for (const id of ids) {
      if (this.released.has(id) || this.movedTo.has(id)) continue;
      throw new ProtocolError(ERROR_CODES.BAD_REQUEST, `${op}: shard ${id} was not released by this process (release it first)`, { field: 'shards', shard: id });
    }
    for (const id of ids) {
      this.released.delete(id);
      this.hosted.delete(id);
      this.byId[id] = undefined;
      this.movedTo.set(id, to);
    }
    this.onChange();
    this.logger.info({ shards: toShardRanges(ids), to }, 'shards forwarded to their new owner');
    return { forwarded: toShardRanges(ids), to };
  }
}
