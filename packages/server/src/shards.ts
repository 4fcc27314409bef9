import { join } from 'node:path';
import type { FileHandle } from '@pharaoh/storage';
import { IdGenerator } from '@pharaoh/snowflake';
import type { GeneratorEvent } from '@pharaoh/snowflake';
import type { Logger } from 'pino';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { ShardOpStats } from './hot-metrics.js';
import type { ResolvedServerOptions } from './options.js';
import { BOUND_COUNTER, claimShard, createShardDirs, shardDir } from './shard-dir.js';
import { toWireLayout } from './hello.js';
import { ProcessBound, ShardBound } from './time-bound.js';
import type { ServiceDefinition, ShardHandle } from './types.js';

export { BOUND_COUNTER };

export type ShardStatus = 'open' | 'failed' | 'closing' | 'closed';

/** One hosted shard: its lock, counter, generator and app state. */
export class HostedShard<S> {
  status: ShardStatus = 'open';
  failure: Error | undefined;
  /** Request counters per op, created on first use. */
  readonly opMetrics = new Map<string, ShardOpStats>();
  handle!: ShardHandle<S>;
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

  /** Mark the shard failed: later requests answer SHARD_UNAVAILABLE; other shards are unaffected. */
  fail(err: Error): void {
    if (this.status !== 'open') return;
    this.status = 'failed';
    this.failure = err;
    this.metrics.shardUp.set({ shard: String(this.id) }, 0);
    this.logger.error({ err }, `shard ${this.id} failed and stops serving until restart`);
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

  /** Stop every periodic task (runs already started finish on their own). */
  stopTasks(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /**
   * Stop periodic tasks, then close app state, then the generator, then its counter, then release the lock.
   * Errors are logged, not thrown: one broken shard must not keep the others from closing.
   */
  async close(def: ServiceDefinition<S>): Promise<void> {
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
    // Leave the shard carrying the bound its IDs were issued under, so a host
    // in another data dir resumes above them (see ProcessBound).
    const carry = this.processBound.value;
    if (carry > this.bound.value) await step('carry the time bound', () => this.bound.raise(carry));
    await step('unlock', () => this.lock.close());
    this.status = 'closed';
  }
}

export interface ShardOpenEnv<S> {
  def: ServiceDefinition<S>;
  options: ResolvedServerOptions;
  metrics: ServerMetrics;
  logger: Logger;
}

/** The shards a process hosts and its one time bound; `close` closes the shards, then the bound. */
export interface HostedShards<S> {
  shards: Map<number, HostedShard<S>>;
  bound: ProcessBound;
  close(): Promise<void>;
}

/**
 * Open one shard (its dir exists: see createShardDirs): lock and check its identity, open its bound
 * counter and generator, then the app's state. On failure everything opened so
 * far is closed again (so its lock is released) and a ServerError names the shard and dir.
 */
export async function openShard<S>(env: ShardOpenEnv<S>, processBound: ProcessBound, id: number, newDir = false): Promise<HostedShard<S>> {
  const { def, options, metrics } = env;
  const dir = shardDir(options.dataDir, def.name, id);
  const logger = env.logger.child({ shard: id });
  const undo: Array<() => Promise<unknown>> = [];
  try {
    const { lock, written } = await claimShard(options.fs, dir, { service: def.name, shard: id, layout: toWireLayout(def.layout) }, newDir, (what) => logger.warn(what));
    undo.push(() => lock.close());
    const bound = await ShardBound.read(options.fs, join(dir, BOUND_COUNTER));
    // The shard's own bound becomes > 0 only once an open completed (below), so
    // its app state (a journal) was created durably before it could serve.
    const servedBefore = bound.value > 0;
    // A shard not yet opened completely may have an identity whose bytes or entry
    // only the page cache holds (its creator died): make both durable before the
    // app or the mark adds data files, or a power cut could keep those without it.
    // Once a previous open completed (bound > 0), it did this before the mark.
    if (!servedBefore) {
      if (!written) await lock.datasync();
      await options.fs.syncDir(dir);
    }
    let shard: HostedShard<S> | undefined;
    const floorTicks = Math.max(processBound.floor, bound.value);
    const generator = await IdGenerator.open({
      layout: def.layout,
      shard: id,
      bound: processBound.shared,
      floorTicks,
      clock: options.clock,
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
      ...(options.maxLeadMs === undefined ? {} : { maxLeadMs: options.maxLeadMs }),
      ...(options.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: options.maxClockSkewMs }),
      onEvent: (e) => onGeneratorEvent(e, logger, () => shard),
    });
    undo.push(() => generator.close());
    shard = new HostedShard<S>(id, dir, lock, bound, generator, logger, metrics, processBound);
    const hosted = shard;
    undo.push(async () => hosted.stopTasks());
    const ctx = {
      id,
      dir,
      generator,
      logger,
      fs: options.fs,
      servedBefore,
      clock: options.clock,
      options,
      fail: (err: Error) => hosted.fail(err),
      every: (intervalMs: number, task: () => Promise<unknown>) => hosted.every(intervalMs, task),
      onJournalSync: (info: { ms: number }) => metrics.synced('journal', info.ms),
    };
    const state = def.openShard ? await def.openShard(ctx) : (undefined as S);
    if (def.closeShard) undo.push(() => def.closeShard!(state, ctx));
    // Mark the shard as opened completely once (see servedBefore): from now on
    // its app state must exist. Costs one fdatasync, once in a shard's life.
    if (!servedBefore) {
      await bound.raise(Math.max(1, floorTicks));
      // The mark's new entry. (Were it lost after all, the next open would only
      // redo the first-open steps: the identity and the app's state are durable.)
      await options.fs.syncDir(dir);
    }
    shard.handle = { ...ctx, state };
    return shard;
  } catch (err) {
    for (const fn of undo.reverse()) await fn().catch(() => undefined);
    if (err instanceof ServerError) throw err;
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `${def.name} shard ${id} (${dir}) could not be opened: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
      shard: id,
      dir,
    });
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
 * Open the process's time bound, then every shard with at most
 * `options.openConcurrency` opens in flight (fds and fsyncs stay bounded). If
 * any fails, the ones opened are closed again and the first error is thrown,
 * with how many others failed.
 */
export async function openShards<S>(env: ShardOpenEnv<S>, ids: number[]): Promise<HostedShards<S>> {
  let created: Set<number>;
  try {
    created = await createShardDirs(env.options.fs, env.options.dataDir, env.def.name, ids);
  } catch (err) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `cannot create shard directories under ${env.options.dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const serviceDir = join(env.options.dataDir, env.def.name);
  let processBound: ProcessBound;
  try {
    processBound = await ProcessBound.open(env.options.fs, serviceDir, (info) => env.metrics.synced('bound', info.ms));
  } catch (err) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `cannot open the time bound in ${serviceDir}: ${(err as Error).message}`, { cause: err });
  }
  const opened = new Map<number, HostedShard<S>>();
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length && errors.length === 0) {
      const id = ids[next++]!;
      try {
        opened.set(id, await openShard(env, processBound, id, created.has(id)));
      } catch (err) {
        errors.push(err);
      }
    }
  };
  const workers = Math.min(env.options.openConcurrency, ids.length);
  await Promise.all(Array.from({ length: workers }, worker));
  const close = async (): Promise<void> => {
    await Promise.all([...opened.values()].map((s) => s.close(env.def)));
    await processBound.close().catch((err: unknown) => env.logger.warn({ err }, 'closing the time bound failed'));
  };
  if (errors.length > 0) {
    await close();
    const first = errors[0] as Error;
    if (errors.length > 1) first.message += ` (and ${errors.length - 1} more shard(s) failed to open)`;
    throw first;
  }
  return { shards: opened, bound: processBound, close };
}
