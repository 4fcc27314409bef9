/**
 * Test entry of @pharaoh/server (not part of the production entry): open one
 * shard of a service exactly as a server start does — directories, identity,
 * lock, bound, generator, the app's state, the final directory fsync — without
 * a network listener, so crash tests can open, crash and reopen a whole shard
 * thousands of times on the crash simulator.
 */
import { pino } from 'pino';
import type { FileSystem } from '@pharaoh/storage';
import { ServerMetrics } from './metrics.js';
import { resolveServerOptions, type Clock } from './options.js';
import { openShards } from './shards.js';
import type { ServiceDefinition, ShardHandle } from './types.js';

export interface TestShardOptions {
  fs: FileSystem;
  dataDir: string;
  shard: number;
  clock?: Clock;
  windowMs?: number;
  maxLeadMs?: number;
  /** The app's own options (as `ServerOptions.app`). */
  app?: Record<string, unknown>;
}

export interface TestShard<S> {
  handle: ShardHandle<S>;
  /** Close it as a graceful shutdown does. */
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });
// One registry per service for every shard a test opens: building one registers default metrics, which is slow.
const metricsByService = new Map<string, ServerMetrics>();

/** Open shard `o.shard` of `def` on `o.fs` the way a server start does. */
export async function openTestShard<S>(def: ServiceDefinition<S>, o: TestShardOptions): Promise<TestShard<S>> {
  const options = resolveServerOptions({
    shards: String(o.shard),
    dataDir: o.dataDir,
    fs: o.fs,
    logger: silent,
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    ...(o.windowMs === undefined ? {} : { windowMs: o.windowMs }),
    ...(o.maxLeadMs === undefined ? {} : { maxLeadMs: o.maxLeadMs }),
    ...(o.app === undefined ? {} : { app: o.app }),
  });
  let metrics = metricsByService.get(def.name);
  if (metrics === undefined) {
    metrics = new ServerMetrics(def.name, () => ({ clockRegressions: 0, windowWaits: 0, leadWaits: 0 }));
    metricsByService.set(def.name, metrics);
  }
  const shards = await openShards({ def, options, metrics, logger: silent }, [o.shard]);
  const hosted = shards.get(o.shard)!;
  return { handle: hosted.handle, close: () => hosted.close(def) };
}
