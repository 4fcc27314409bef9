import { join } from 'node:path';
import { Obelisk } from '@pharaoh/obelisk';
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
    readonly bound: Obelisk,
    readonly generator: IdGenerator,
    private readonly logger: Logger,
    private readonly metrics: ServerMetrics,
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
    await step('counter close', () => this.bound.close());
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

/**
 * Open one shard (its dir exists: see createShardDirs): lock and check its identity, open its bound
 * counter and generator, then the app's state. On failure everything opened so
 * far is closed again (so its lock is released) and a ServerError names the shard and dir.
 */
export async function openShard<S>(env: ShardOpenEnv<S>, id: number, newDir = false): Promise<HostedShard<S>> {
  const { def, options, metrics } = env;
  const dir = shardDir(options.dataDir, def.name, id);
  const logger = env.logger.child({ shard: id });
  const undo: Array<() => Promise<unknown>> = [];
  try {
    const { lock } = await claimShard(options.fs, dir, { service: def.name, shard: id, layout: toWireLayout(def.layout) }, newDir, (what) => logger.warn(what));
    undo.push(() => lock.close());
    const bound = await Obelisk.open(join(dir, BOUND_COUNTER), {
      fs: options.fs,
      onSync: (info) => metrics.fsync.observe(info.ms / 1000),
    });
    undo.push(() => bound.close());
    // Read before the generator exists: only a request for an ID moves the bound.
    const servedBefore = bound.value > 0;
    let shard: HostedShard<S> | undefined;
    const generator = await IdGenerator.open({
      layout: def.layout,
      shard: id,
      bound,
      clock: options.clock,
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
      ...(options.maxLeadMs === undefined ? {} : { maxLeadMs: options.maxLeadMs }),
      onEvent: (e) => onGeneratorEvent(e, logger, () => shard),
    });
    undo.push(() => generator.close());
    shard = new HostedShard<S>(id, dir, lock, bound, generator, logger, metrics);
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
    };
    const state = def.openShard ? await def.openShard(ctx) : (undefined as S);
    if (def.closeShard) undo.push(() => def.closeShard!(state, ctx));
    // The entries this open read or made (identity, bound, the app's files) may
    // be in the page cache only, left by a process that died before syncing:
    // make them durable before the shard serves anything read from them.
    await options.fs.syncDir(dir);
    shard.handle = { ...ctx, state };
    return shard;
  } catch (err) {
    for (const fn of undo.reverse()) await fn().catch(() => undefined);
    if (err instanceof ServerError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'LOCKED') {
      throw new ServerError(SERVER_ERROR_CODES.SHARD_LOCKED, `${def.name} shard ${id}: its counter in ${dir} is owned by another process`, { cause: err, shard: id, dir });
    }
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
 * Open every shard with at most `options.openConcurrency` opens in flight (fds
 * and fsyncs stay bounded). If any fails, the ones opened are closed again and
 * the first error is thrown, with how many others failed.
 */
export async function openShards<S>(env: ShardOpenEnv<S>, ids: number[]): Promise<Map<number, HostedShard<S>>> {
  let created: Set<number>;
  try {
    created = await createShardDirs(env.options.fs, env.options.dataDir, env.def.name, ids);
  } catch (err) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `cannot create shard directories under ${env.options.dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const opened = new Map<number, HostedShard<S>>();
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length && errors.length === 0) {
      const id = ids[next++]!;
      try {
        opened.set(id, await openShard(env, id, created.has(id)));
      } catch (err) {
        errors.push(err);
      }
    }
  };
  const workers = Math.min(env.options.openConcurrency, ids.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (errors.length > 0) {
    await Promise.all([...opened.values()].map((s) => s.close(env.def)));
    const first = errors[0] as Error;
    if (errors.length > 1) first.message += ` (and ${errors.length - 1} more shard(s) failed to open)`;
    throw first;
  }
  return opened;
}
