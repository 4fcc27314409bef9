import { join } from 'node:path';
import { type FileHandle, type FileSystem } from '@pharaoh/storage';
import { DEFAULT_MAX_LEAD_MS, IdGenerator } from '@pharaoh/snowflake';
import type { GeneratorEvent } from '@pharaoh/snowflake';
import type { Logger } from 'pino';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { ShardOpStats } from './hot-metrics.js';
import type { ResolvedServerOptions } from './options.js';
import { BOUND_COUNTER, IDENTITY_FILE, claimShard, createShardDirs, shardDir, type RestoreMark } from './shard-dir.js';
import { toWireLayout } from './hello.js';
import { ProcessBound, ShardBound, readFloor } from './time-bound.js';
import type { HostedService, ShardHandle, StartSummary } from './types.js';

export { BOUND_COUNTER };

/**
 * `<shard dir>/released`: written (durably) by a graceful shard move after the
 * shard's own bound was raised to exactly above every ID it issued
 * (`IdGenerator.issuedBelowTicks`), before its lock is released. It means "the
 * last holder let go cleanly; resume right above the bound". Every open
 * removes it durably before the shard serves, so it never outlives the state
 * it describes; only a move's claim (HostedShards.adopt) acts on it.
 */
export const RELEASED_MARK = 'released';

/** `draining`: a move (moves.ts) stopped taking requests for it and waits for those in flight. */
export type ShardStatus = 'open' | 'failed' | 'draining' | 'closing' | 'closed';

/** One hosted shard: its lock, counter, generator and app state. */
export class HostedShard<S> {
  status: ShardStatus = 'open';
  failure: Error | undefined;
  /** Request counters per op, created on first use. */
  readonly opMetrics = new Map<string, ShardOpStats>();
  handle!: ShardHandle<S>;
  /** Requests of this shard awaiting an async answer (a move drains them before closing). */
  inFlight = 0;
  /** Resolves waiters of `whenIdle` once `inFlight` reaches 0. */
  private idleWaiters: Array<() => void> = [];
  /** Periodic tasks started through `ShardContext.every`, stopped at close. */
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly id: number,
    readonly dir: string,
    readonly lock: FileHandle,
    /** The shard's own bound: a floor it carries between data dirs, and its "opened completely once" mark. */
    readonly bound: ShardBound,
    readonly generator: IdGenerator,
    private readonly logger: Logger,
    private readonly metrics: ServerMetrics,
    private readonly processBound: ProcessBound,
  ) {
    metrics.shardUp.set({ shard: String(id) }, 1);
  }

  /** Serving? A failed generator fails the shard the first time anyone looks. */
  get available(): boolean {
    if (this.status !== 'open') return false;
    const f = this.generator.failed;
    if (f !== undefined) {
      this.fail(f);
      return false;
    }
    return true;
  }

  /** Told when the shard fails (the process's recovery, see Reopener). */
  onFail: ((shard: { readonly id: number }) => void) | undefined;

  /**
   * Mark the shard failed: later requests answer SHARD_UNAVAILABLE; other
   * shards are unaffected; the recovery reopens it (see Reopener).
   */
  fail(err: Error): void {
    if (this.status !== 'open') return;
    this.status = 'failed';
    this.failure = err;
    this.metrics.shardUp.set({ shard: String(this.id) }, 0);
    this.metrics.shardFailed();
    this.logger.error({ err }, `shard ${this.id} failed and stops serving; it reopens itself once its disk works again`);
    this.onFail?.(this);
  }

  /** See ShardContext.every: no overlapping runs; a failed run fails the shard. */
  every(intervalMs: number, task: () => Promise<unknown>): void {
    if (this.status === 'closing' || this.status === 'closed') return;
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      task()
        .catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** Count a request started (+1) or answered (-1); see `whenIdle`. */
  track(delta: number): void {
    this.inFlight += delta;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves once no request of this shard is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop every periodic task (runs already started finish on their own). */
  stopTasks(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /**
   * Close for a shard move (moves.ts): as `close` (the app's state closed by
   * its `releaseShard` where it has one, else `closeShard`; the shard carries
   * a bound right above the IDs it issued, made durable here), and then leaves the
   * RELEASED_MARK, made durable, before the lock is released. `exact` is
   * false if any of that failed: the next holder then resumes above every
   * time-bound slot of the data dir instead (always safe, only further ahead).
   */
  async closeForMove(def: HostedService<S>, fs: FileSystem): Promise<{ exact: boolean }> {
    if (this.status !== 'open' && this.status !== 'draining') return { exact: false };
    this.status = 'closing';
    this.metrics.shardUp.set({ shard: String(this.id) }, 0);
    this.stopTasks();
    let exact = true;
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        exact = false;
        this.logger.warn({ err }, `shard ${this.id}: ${what} failed while releasing it for a move`);
      }
    };
    // The app keeps what outlives the move (ServiceDefinition.releaseShard) durably before the mark.
    if (def.releaseShard && this.handle) await step('releaseShard', () => def.releaseShard!(this.handle.state, this.handle));
    else if (def.closeShard && this.handle) await step('closeShard', () => def.closeShard!(this.handle.state, this.handle));
    await step('generator close', () => this.generator.close());
    if (exact) await step('carry its bound', () => this.bound.raise(this.generator.issuedBelowTicks, true));
    if (exact) {
      await step('mark it released', async () => {
        const h = await fs.open(join(this.dir, RELEASED_MARK), { create: true });
        try {
          await h.datasync();
        } finally {
          await h.close();
        }
        await fs.syncDir(this.dir);
      });
    }
    await this.lock.close().catch((err: unknown) => this.logger.warn({ err }, `shard ${this.id}: unlock failed`));
    this.status = 'closed';
    return { exact };
  }

  /**
   * Stop periodic tasks, then close app state, then the generator, then carry
   * a bound above its IDs into the shard (fdatasynced unless `syncCarry` is
   * false: the caller syncs every shard's at once), then release the lock.
   * Errors are logged, not thrown: one broken shard must not keep the others from closing.
   */
  async close(def: HostedService<S>, syncCarry = true): Promise<void> {
    if (this.status === 'closing' || this.status === 'closed') return;
    this.status = 'closing';
    this.metrics.shardUp.set({ shard: String(this.id) }, 0);
    this.stopTasks();
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.logger.warn({ err }, `shard ${this.id}: ${what} failed during close`);
      }
    };
    if (def.closeShard && this.handle) await step('closeShard', () => def.closeShard!(this.handle.state, this.handle));
    await step('generator close', () => this.generator.close());
    // Leave the shard carrying a bound above every ID it issued, so a host in
    // another data dir (or this process, reopening it) resumes above them (see
    // ProcessBound). Its own IDs', not the process bound's value: that one is
    // where every shard's window reaches, up to a window ahead of the clock.
    const carry = this.generator.issuedBelowTicks;
    // Unsynced when the caller makes every shard's carry durable at once (syncAll).
    if (carry > this.bound.value) await step('carry the time bound', () => this.bound.raise(carry, syncCarry));
    await step('unlock', () => this.lock.close());
    this.status = 'closed';
  }
}

export interface ShardOpenEnv<S> {
  def: HostedService<S>;
  /** The app's options, already checked by its `parseOptions` (before any disk was touched). */
  app: unknown;
  options: ResolvedServerOptions;
  metrics: ServerMetrics;
  logger: Logger;
  /** Told of each shard that replaced a failed one (the server's routing table). */
  onReopened?: (shard: HostedShard<S>) => void;
}

/** The shards a process hosts and its one time bound; `close` stops recovery, closes the shards, then the bound. */
export interface HostedShards<S> {
  shards: Map<number, HostedShard<S>>;
  /** The process's time bound (replaced when a failed one is reopened). */
  readonly bound: ProcessBound;
  start: StartSummary;
  close(): Promise<void>;
  /**
   * A move's target side (moves.ts): claim and open a shard this process did
   * not start with. Only a shard directory a completed open left (its own
   * bound above 0) is taken; it never creates one. The shard resumes above
   * its own bound, this process's floor and every slot of the data dir as
   * read now. Replaces a shard of this process that a move closed.
   */
  adopt(id: number): Promise<HostedShard<S>>;
  /** A move's source side: forget a shard it closed (its lock released). */
  forget(id: number): void;
}

/** A shard locked and identified, its app not opened yet (see openShards' phases). */
interface ShardClaimed {
  id: number;
  dir: string;
  lock: FileHandle;
  bound: ShardBound;
  /** The shard's own bound was above 0: an open completed before, so its identity and app state are durable. */
  servedBefore: boolean;
  restored: RestoreMark | undefined;
  /** It carried the RELEASED_MARK (now removed durably): a graceful move left it, its bound exact. */
  released: boolean;
}

function openFailed(def: { spec: { name: string } }, id: number, dir: string, err: unknown): Error {
  if (err instanceof ServerError) return err;
  return new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `${def.spec.name} shard ${id} (${dir}) could not be opened: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    shard: id,
    dir,
  });
}

/**
 * Phase 1 of an open (the dir exists: see createShardDirs): lock and check the
 * identity (writing it for a new shard) and read the shard's own bound. A new
 * identity is fdatasynced here only when `syncIdentity`; otherwise (and for an
 * identity that was only read) the caller makes the identity durable before
 * the app adds files — unless `servedBefore`: a completed open already did.
 */
async function claim<S>(env: ShardOpenEnv<S>, id: number, newDir: boolean, syncIdentity: boolean): Promise<ShardClaimed> {
  const { def, options } = env;
  const dir = shardDir(options.dataDir, def.spec.name, id);
  let lock: FileHandle | undefined;
  try {
    const claimed = await claimShard(options.fs, dir, { service: def.spec.name, shard: id, layout: toWireLayout(def.spec.layout) }, { newDir, sync: syncIdentity }, (what) =>
      env.logger.warn({ shard: id }, what),
    );
    lock = claimed.lock;
    const bound = await ShardBound.read(options.fs, join(dir, BOUND_COUNTER));
    // A move's mark is valid only until someone opens the shard: gone (durably) before it serves.
    // Looked for with a stat, not a blind unlink: on a start with no marks, 1024
    // failing unlinks each built an ENOENT error (~30 µs of CPU per shard).
    const mark = join(dir, RELEASED_MARK);
    const released = (await options.fs.stat(mark)) !== undefined;
    if (released) {
      await options.fs.unlink(mark);
      await options.fs.syncDir(dir);
    }
    // The shard's own bound becomes > 0 only once an open completed (see
    // openClaimed), so its app state (a journal) was created durably before it could serve.
    return { id, dir, lock, bound, servedBefore: bound.value > 0, restored: claimed.restored, released };
  } catch (err) {
    await lock?.close().catch(() => undefined);
    throw openFailed(def, id, dir, err);
  }
}

/**
 * A shard not yet opened completely may have an identity whose bytes or entry
 * only the page cache holds (written unsynced by this start, or by a creator
 * that died): make both durable, one shard at a time (openShards does all of
 * them with one syncAll where the file system offers it).
 */
async function makeIdentityDurable(fs: FileSystem, c: ShardClaimed): Promise<void> {
  if (c.servedBefore) return;
  await c.lock.datasync();
  await fs.syncDir(c.dir);
}

/** How long after a restore a start may wait for a restored shard's bound (a clock far behind waits no longer than this). */
const MAX_RESTORED_LEAD_WAIT_MS = 15_000;

/**
 * A restore raises a shard's bound past what the lost process could have
 * issued: up to `window + maxLead + skew + 1 s` ahead of the clock, more than
 * the lead an ID may have. Were the shard to serve at once, its first IDs
 * would lead the clock by that much, and an `after` taken from them would be
 * refused by the other shards (AFTER_TOO_FAR_AHEAD) until their clocks caught
 * up. So right after a restore (within a minute of `restoredAt`) the open
 * waits until the shard's next ID is within `maxLead` of the clock — a few
 * seconds, once; a later start finds it there already.
 */
async function holdRestoredLead(c: ShardClaimed, generator: IdGenerator, maxLeadMs: number, clock: { now(): number }, logger: Logger): Promise<void> {
  if (c.restored === undefined || clock.now() - c.restored.restoredAt > 60_000) return;
  const waitMs = Math.min(generator.aheadOfClockMs - maxLeadMs, MAX_RESTORED_LEAD_WAIT_MS);
  if (waitMs <= 0) return;
  logger.info({ waitMs }, 'restored shard: waiting until its bound is within the maximum lead of the clock');
  await new Promise((r) => setTimeout(r, waitMs));
}

/**
 * Phase 2: the generator, then the app's state, then (first open only) the
 * shard's "opened completely once" mark: its own bound raised above 0, made
 * durable here when `syncMark` (else the caller syncs it, with every other
 * new mark, before anything is served). The claim's identity is durable. On
 * failure everything opened here is closed again (the caller closes the lock).
 */
async function openClaimed<S>(env: ShardOpenEnv<S>, processBound: ProcessBound, c: ShardClaimed, syncMark: boolean, recovering = false, issuedBelowTicks = 0): Promise<HostedShard<S>> {
  const { def, options, metrics } = env;
  const { id, dir, lock, bound, servedBefore } = c;
  const logger = env.logger.child({ shard: id });
  const undo: Array<() => Promise<unknown>> = [];
  try {
    let shard: HostedShard<S> | undefined;
    // Resume above every ID this shard issued before: in earlier processes of
    // this data dir (the floor, read when the bound was opened), in another
    // data dir (its own bound), and in this process before a reopen (what its
    // failed generator reports). Not at the process bound's live value: the
    // other shards' windows pushed it ahead of the clock, and each shard that
    // resumed there and issued pushed it further for the next (shards opened
    // late in a start issued IDs 20 s ahead, and an `after` taken from them
    // was refused as too far ahead by the other shards).
    const floorTicks = Math.max(processBound.floor, bound.value, issuedBelowTicks);
    const generator = await IdGenerator.open({
      layout: def.spec.layout,
      shard: id,
      bound: processBound.shared,
      resumeTicks: floorTicks,
      clock: options.clock,
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
      ...(options.maxLeadMs === undefined ? {} : { maxLeadMs: options.maxLeadMs }),
      ...(options.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: options.maxClockSkewMs }),
      onEvent: (e) => onGeneratorEvent(e, logger, () => shard),
    });
    undo.push(() => generator.close());
    await holdRestoredLead(c, generator, options.maxLeadMs ?? DEFAULT_MAX_LEAD_MS, options.clock, logger);
    shard = new HostedShard<S>(id, dir, lock, bound, generator, logger, metrics, processBound);
    const hosted = shard;
    undo.push(async () => hosted.stopTasks());
    const ctx = {
      id,
      dir,
      generator,
      logger,
      fs: options.fs,
      recovering,
      restored: c.restored,
      servedBefore,
      clock: options.clock,
      options,
      app: env.app,
      fail: (err: Error) => hosted.fail(err),
      every: (intervalMs: number, task: () => Promise<unknown>) => hosted.every(intervalMs, task),
      onJournalSync: (info: { ms: number }) => metrics.synced('journal', info.ms),
    };
    const state = def.openShard ? await def.openShard(ctx) : (undefined as S);
    if (def.closeShard) undo.push(() => def.closeShard!(state, ctx));
    // Mark the shard as opened completely once (see servedBefore): from now on
    // its app state must exist. Once in a shard's life.
    if (!servedBefore) {
      await bound.raise(Math.max(1, floorTicks), syncMark);
      // The mark's new entry. (Were it lost after all, the next open would only
      // redo the first-open steps: the identity and the app's state are durable.)
      if (syncMark) await options.fs.syncDir(dir);
    }
    shard.handle = { ...ctx, state };
    return shard;
  } catch (err) {
    for (const fn of undo.reverse()) await fn().catch(() => undefined);
    throw openFailed(def, id, dir, err);
  }
}

/**
 * Open one shard completely, with its own syncs (the dir exists: see
 * createShardDirs). On failure its lock is released and a ServerError names
 * the shard and dir.
 */
export async function openShard<S>(env: ShardOpenEnv<S>, processBound: ProcessBound, id: number, newDir = false, recovering = false, issuedBelowTicks = 0): Promise<HostedShard<S>> {
  const c = await claim(env, id, newDir, true);
  try {
    await makeIdentityDurable(env.options.fs, c);
    return await openClaimed(env, processBound, c, true, recovering, issuedBelowTicks);
  } catch (err) {
    await c.lock.close().catch(() => undefined);
    throw openFailed(env.def, id, c.dir, err);
  }
}

/**
 * Open a shard that arrives by a move (see HostedShards.adopt): its directory
 * must exist with an identity, and its own bound must be above 0 (a completed
 * open left it, so its app state is durable); refused otherwise, naming why.
 */
async function adoptShard<S>(env: ShardOpenEnv<S>, processBound: ProcessBound, serviceDir: string, id: number): Promise<HostedShard<S>> {
  const fs = env.options.fs;
  const dir = shardDir(env.options.dataDir, env.def.spec.name, id);
  const st = await fs.stat(join(dir, IDENTITY_FILE)).catch(() => undefined);
  if (st === undefined || st.isDirectory) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `${env.def.spec.name} shard ${id}: no shard directory with an identity at ${dir} (a move takes a shard, it never creates one)`, { shard: id, dir });
  }
  const c = await claim(env, id, false, true);
  try {
    if (!c.servedBefore) {
      throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `${env.def.spec.name} shard ${id}: ${dir} never completed an open (its bound is 0); a move takes only a shard that served`, { shard: id, dir });
    }
    // Released cleanly by a move: its bound lies right above all it issued, resume there (see openClaimed).
    if (c.released) return await openClaimed(env, processBound, c, true, false);
    // Else (its last holder died mid-move, its bound possibly stale): above every slot of the data
    // dir as it is now, which covers whatever that holder issued (slots may have grown since this
    // process read its floor). Up to a window ahead of the clock, but only after a crash.
    const floor = await readFloor(fs, serviceDir);
    return await openClaimed(env, processBound, c, true, false, floor);
  } catch (err) {
    await c.lock.close().catch(() => undefined);
    throw openFailed(env.def, id, c.dir, err);
  }
}

/** Rare generator events: log them; a failed bound fails the shard at once. */
function onGeneratorEvent<S>(e: GeneratorEvent, logger: Logger, shard: () => HostedShard<S> | undefined): void {
  switch (e.type) {
    case 'clock-regression':
      logger.warn({ fromMs: e.fromMs, toMs: e.toMs }, 'wall clock went backwards; IDs keep increasing from the last unit');
      break;
    case 'failed':
      shard()?.fail(e.error);
      break;
    default:
      break;
  }
}

/**
 * Open the process's time bound, then every shard, in two phases with at most
 * `options.openConcurrency` shards in flight in each (fds and syncs stay
 * bounded): claim them all (lock, identity), make every identity not known
 * durable so, then open each generator and app state and mark the shards that
 * completed their first open, then make those marks durable. Where the file
 * system offers `syncAll` (syncfs), each "make durable" step is one call for
 * every shard instead of an fdatasync and a directory fsync per shard: a
 * fresh 1024-shard start then costs 2 syncfs instead of 4096 flushes. Nothing
 * is served before openShards resolves, so nothing unsynced is ever served.
 * If any shard fails, every shard opened or claimed is closed again and the
 * first error is thrown, with how many others failed.
 */
export async function openShards<S>(served: ShardOpenEnv<S>, ids: number[]): Promise<HostedShards<S>> {
  // Nothing is served until every shard is open, so the start's file calls may
  // block the event loop: cached opens, stats and reads as plain syscalls cost
  // a tenth of a thread-pool round trip, most of a 1024-shard restart
  // (FileSystem.blocking; calls that change the file system stay on the pool).
  const fs = served.options.fs.blocking?.() ?? served.options.fs;
  const env: ShardOpenEnv<S> = { ...served, options: { ...served.options, fs } };
  const { dataDir } = env.options;
  let created: Set<number>;
  try {
    created = await createShardDirs(fs, dataDir, env.def.spec.name, ids);
  } catch (err) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `cannot create shard directories under ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const serviceDir = join(dataDir, env.def.spec.name);
  let processBound: ProcessBound;
  try {
    processBound = await ProcessBound.open(fs, serviceDir, (info) => env.metrics.synced('bound', info.ms));
  } catch (err) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `cannot open the time bound in ${serviceDir}: ${(err as Error).message}`, { cause: err });
  }
  const errors: unknown[] = [];
  const each = async <T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length && errors.length === 0) {
        const item = items[next++]!;
        try {
          await fn(item);
        } catch (err) {
          errors.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(env.options.openConcurrency, items.length) }, worker));
  };
  const batched = typeof fs.syncAll === 'function';
  const claims: ShardClaimed[] = [];
  const opened = new Map<number, HostedShard<S>>();
  const close = async (): Promise<void> => {
    reopener?.stop();
    await reopener?.idle();
    // Every shard's carried bound made durable by one syncfs, not one fdatasync each.
    // (A carry matters only to a host in another data dir: it is written under
    // the lock and synced before this process exits.)
    await Promise.all([...opened.values()].map((s) => s.close(env.def, !batched)));
    if (batched && opened.size > 0) {
      const synced = await served.options.fs.syncAll!(dataDir).catch((err: unknown) => {
        env.logger.warn({ err }, 'making the shards\' carried time bounds durable failed');
        return true;
      });
      if (!synced) await Promise.all([...opened.values()].map((s) => s.bound.sync().catch(() => undefined)));
    }
    await Promise.all(claims.filter((c) => !opened.has(c.id)).map((c) => c.lock.close().catch(() => undefined)));
    await (reopener?.bound ?? processBound).close().catch((err: unknown) => env.logger.warn({ err }, 'closing the time bound failed'));
  };
  let reopener: Reopener<S> | undefined;
  /** One syncfs for every shard of the phase; false where the file system has none (then shard by shard). */
  const syncAll = async (what: string): Promise<boolean> => {
    if (!batched || errors.length > 0) return false;
    try {
      return await fs.syncAll!(dataDir);
    } catch (err) {
      errors.push(new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `cannot make ${what} durable under ${dataDir}: ${(err as Error).message}`, { cause: err }));
      return false;
    }
  };

  // Per shard: time spent in its claim and in its open (the phases between are shared).
  const spent = new Map<number, number>();
  await each(ids, async (id) => {
    const t0 = performance.now();
    claims.push(await claim(env, id, created.has(id), !batched));
    spent.set(id, performance.now() - t0);
  });
  const firstOpens = claims.filter((c) => !c.servedBefore);
  let marksBatched = batched;
  if (firstOpens.length > 0 && !(await syncAll('the new shard identities')) && errors.length === 0) {
    marksBatched = false;
    await each(firstOpens, (c) => makeIdentityDurable(fs, c));
  }
  if (errors.length === 0) {
    await each(claims, async (c) => {
      const t0 = performance.now();
      opened.set(c.id, await openClaimed(env, processBound, c, !marksBatched));
      spent.set(c.id, (spent.get(c.id) ?? 0) + performance.now() - t0);
    });
  }
  if (marksBatched && firstOpens.length > 0) await syncAll('the new shards\' marks');
  if (errors.length > 0) {
    await close();
    const first = errors[0] as Error;
    if (errors.length > 1) first.message += ` (and ${errors.length - 1} more shard(s) failed to open)`;
    throw first;
  }
  // Shards that fail later reopen through the thread pool (the process serves by then).
  const r = new Reopener<S>({ ...served, options: { ...served.options } }, opened, processBound, serviceDir);
  reopener = r;
  for (const shard of opened.values()) shard.onFail = (s) => r.failed(s);
  const adoptEnv: ShardOpenEnv<S> = { ...served, options: { ...served.options } };
  return {
    shards: opened,
    get bound() {
      return r.bound;
    },
    close,
    start: summarize(env.def, opened, firstOpens.length, spent),
    adopt: async (id) => {
      const shard = await adoptShard(adoptEnv, r.bound, serviceDir, id);
      shard.onFail = (s) => r.failed(s);
      opened.set(id, shard);
      return shard;
    },
    forget: (id) => {
      if (opened.get(id)?.status === 'closed') opened.delete(id);
    },
  };
}

/**
 * Brings failed shards back without a restart. A shard that failed (its
 * journal or the process's time bound hit ENOSPC, EIO, EFBIG, ...) is closed
 * and opened again by the rules of a start: claim, read the durable state,
 * replay (its journal rewritten anew, see ShardContext.recovering), and
 * serve only once that is durable. A failed (poisoned) time bound is reopened
 * first; every shard fails with it (their generators share it) and comes
 * back with the new one, whose value is read from the file and must be
 * advanced (ftruncate + fdatasync) before any ID is issued above it.
 *
 * Retries back off from `reopenBackoff.minMs` to `maxMs` (±20% jitter),
 * all failed shards together, one line per attempt. A shard another process
 * holds now, or whose identity no longer matches, is given up (logged).
 */
class Reopener<S> {
  private readonly waiting = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(
    private readonly env: ShardOpenEnv<S>,
    private readonly shards: Map<number, HostedShard<S>>,
    public bound: ProcessBound,
    private readonly serviceDir: string,
  ) {}

  failed(shard: { readonly id: number }): void {
    if (this.stopped || this.shards.get(shard.id) !== shard) return;
    this.waiting.add(shard.id);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves once no reopen is running. */
  async idle(): Promise<void> {
    await this.running;
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined || this.running !== undefined) return;
    const { minMs, maxMs } = this.env.options.reopenBackoff;
    const base = Math.min(maxMs, minMs * 2 ** Math.min(this.attempt, 30));
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.waiting.size > 0) this.schedule();
      });
    }, delay);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { env } = this;
    const log = env.logger;
    this.attempt++;
    if (this.bound.failed) {
      try {
        await this.bound.close().catch(() => undefined);
        this.bound = await ProcessBound.open(env.options.fs, this.serviceDir, (info) => env.metrics.synced('bound', info.ms));
        log.info({ attempt: this.attempt }, 'time bound reopened');
        // Every generator still open issues under the old, closed bound: reopen them all with the new one.
        const moved = new Error('the process time bound was reopened after a failure; the shard reopens with it');
        for (const s of this.shards.values()) s.fail(moved);
      } catch (err) {
        log.warn({ err, attempt: this.attempt, shards: this.waiting.size }, 'time bound still failing; retrying');
        return;
      }
    }
    // Shards whose generator failed with the old bound but that nobody has looked at yet.
    for (const s of this.shards.values()) if (s.status === 'open' && s.generator.failed !== undefined) s.fail(s.generator.failed);
    const ids = [...this.waiting];
    let back = 0;
    const gaveUp: number[] = [];
    let lastErr: unknown;
    for (const id of ids) {
      if (this.stopped) return;
      const old = this.shards.get(id)!;
      await old.close(env.def);
      try {
        const shard = await openShard(env, this.bound, id, false, true, old.generator.issuedBelowTicks);
        if (this.stopped) {
          await shard.close(env.def);
          return;
        }
        shard.onFail = (s) => this.failed(s);
        this.shards.set(id, shard);
        env.onReopened?.(shard);
        this.waiting.delete(id);
        env.metrics.shardReopened('ok');
        back++;
      } catch (err) {
        lastErr = err;
        const code = (err as { code?: unknown }).code;
        if (code === SERVER_ERROR_CODES.SHARD_LOCKED || code === SERVER_ERROR_CODES.SHARD_IDENTITY_MISMATCH) {
          this.waiting.delete(id);
          gaveUp.push(id);
          env.metrics.shardReopened('given_up');
          log.error({ err, shard: id }, `shard ${id} cannot be reopened (given up until restart)`);
        }
      }
    }
    if (this.waiting.size === 0) {
      this.attempt = 0;
      log.info({ reopened: back, gaveUp }, `reopened ${back} failed shard(s)`);
    } else {
      log.warn({ err: lastErr, reopened: back, stillFailed: this.waiting.size, attempt: this.attempt }, `reopen attempt ${this.attempt}: ${this.waiting.size} shard(s) still failing; retrying with backoff`);
    }
  }
}

function summarize<S>(def: HostedService<S>, opened: Map<number, HostedShard<S>>, firstOpens: number, spent: Map<number, number>): StartSummary {
  let replayedRecords = 0;
  for (const s of opened.values()) replayedRecords += (def.stats ? def.stats(s.handle.state).journal?.stats.recoveredRecords : undefined) ?? 0;
  let slowestShard: StartSummary['slowestShard'];
  for (const [shard, ms] of spent) if (slowestShard === undefined || ms > slowestShard.ms) slowestShard = { shard, ms: Math.round(ms * 10) / 10 };
  return { shards: opened.size, firstOpens, replayedRecords, slowestShard };
}
