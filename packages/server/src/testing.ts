/**
 * Test entry of @pharaoh/server (not part of the production entry): open one
 * shard of a service exactly as a server start does — directories, identity,
 * lock, bound, generator, the app's state, the final directory fsync — without
 * a network listener, so crash tests can open, crash and reopen a whole shard
 * thousands of times on the crash simulator.
 */
import { pino } from 'pino';
import type { FileSystem } from '@pharaoh/storage';
import { exploreSchedules, type ExploreReport, type Schedule, type SimulatedFs } from '@pharaoh/storage/testing';
import { ServerMetrics } from './metrics.js';
import { resolveServerOptions, type Clock } from './options.js';
import { parseAppOptions } from './server.js';
import { openShards, type HostedShard } from './shards.js';
import { ShardMoves } from './moves.js';
import { SHARD_COUNT } from '@pharaoh/protocol';
import type { ServiceSpec } from '@pharaoh/registry';
import type { HostedService, ServiceDefinition, ShardHandle } from './types.js';

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

export interface TestShard<S, O = unknown> {
  handle: ShardHandle<S, O>;
  /** Close it as a graceful shutdown does. */
  close(): Promise<void>;
  /** Its process died: stop its timers, touch nothing on disk. */
  abandon(): void;
}

const silent = pino({ level: 'silent' });
// One registry per service for every shard a test opens: building one registers default metrics, which is slow.
const metricsByService = new Map<string, ServerMetrics>();

/** What a server start on the simulated disk opens shards with: its options (silent), the service's metrics and app options. */
function simulatedStart<S>(def: HostedService<S>, o: Omit<TestShardOptions, 'shard'>, shards: string) {
  const options = resolveServerOptions({
    shards,
    dataDir: o.dataDir,
    fs: o.fs,
    logger: silent,
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    ...(o.windowMs === undefined ? {} : { windowMs: o.windowMs }),
    ...(o.maxLeadMs === undefined ? {} : { maxLeadMs: o.maxLeadMs }),
    ...(o.app === undefined ? {} : { app: o.app }),
  });
  let metrics = metricsByService.get(def.spec.name);
  if (metrics === undefined) {
    metrics = new ServerMetrics(def.spec.name);
    metricsByService.set(def.spec.name, metrics);
  }
  return { def, app: parseAppOptions(def, options.app), options, metrics, logger: silent };
}

/** Open shard `o.shard` of `def` on `o.fs` the way a server start does. */
export async function openTestShard<Spec extends ServiceSpec, S, O>(definition: ServiceDefinition<Spec, S, O>, o: TestShardOptions): Promise<TestShard<S, O>> {
  const def = definition;
  const env = simulatedStart(def, o, String(o.shard));
  const opened = await openShards(env, [o.shard]);
  const hosted = opened.shards.get(o.shard)!;
  return { handle: hosted.handle as ShardHandle<S, O>, close: () => opened.close(), abandon: () => hosted.stopTasks() };
}

/** Several shards hosted by one simulated process, with the host's shard-move ops (see moves.ts). */
export interface TestProcess<S, O = unknown> {
  /** The handle of a shard this process serves now (undefined if it does not). */
  handle(id: number): ShardHandle<S, O> | undefined;
  /** Run one shard-move admin op (`admin.shards.release`, `.claim`, `.forward`) as the host would answer it. */
  move(op: string, frame: Record<string, unknown>): Promise<unknown>;
  /** What it hosts now. */
  hosted(): number[];
  /** Close it as a graceful shutdown does. */
  close(): Promise<void>;
  /** Its process died: stop its timers, touch nothing on disk. */
  abandon(): void;
}

/** Open shards `o.shards` of `def` on `o.fs` as one server start does (a process of the data dir), with its move ops. */
export async function openTestProcess<Spec extends ServiceSpec, S, O>(
  definition: ServiceDefinition<Spec, S, O>,
  o: Omit<TestShardOptions, 'shard'> & { shards: number[] },
): Promise<TestProcess<S, O>> {
  const def: HostedService<S> = definition;
  const env = simulatedStart(def, o, o.shards.join(','));
  const { options } = env;
  const opened = await openShards(env, options.shardIds);
  const byId: Array<HostedShard<S> | undefined> = new Array<HostedShard<S> | undefined>(SHARD_COUNT).fill(undefined);
  for (const [id, s] of opened.shards) byId[id] = s;
  const moves = new ShardMoves<S>(def, opened, byId, silent, options.fs, options.shardIds, () => undefined);
  return {
    handle: (id) => (byId[id]?.status === 'open' ? (byId[id]!.handle as ShardHandle<S, O>) : undefined),
    move: (op, frame) => moves.run(op, frame),
    hosted: () => [...moves.hosted].sort((a, b) => a - b),
    close: () => opened.close(),
    abandon: () => {
      for (const s of opened.shards.values()) s.stopTasks();
      for (const s of byId) s?.stopTasks();
    },
  };
}

/** One process lifetime of a shard in a crash exploration. */
export interface ShardLife<S, O = unknown> {
  handle: ShardHandle<S, O>;
  /** 0 for the first life of a schedule; the last life (after every fault) has `final` set. */
  index: number;
  final: boolean;
  /** False once a fault ended this life: answers obtained after that were never given to anyone. */
  alive(): boolean;
  schedule: Schedule;
}

export interface ShardExploration<Spec extends ServiceSpec, S, O> {
  def: ServiceDefinition<Spec, S, O>;
  schedules: number;
  /** A scheduled fault strikes within this many file operations of a life's start (open included). */
  opsPerLife: number;
  /**
   * The clock of life `index`. Default: frozen within a life (so only durable
   * state can keep IDs increasing, not the clock moving on), stepping back or
   * forward by up to 50 ms per life between lives.
   */
  clock?(schedule: Schedule, index: number): Clock;
  app?: Record<string, unknown>;
  /** Check every invariant against what earlier lives acknowledged; throw to report a violation. */
  check(life: ShardLife<S, O>): Promise<void>;
  /** Serve requests; record as acknowledged only answers that arrived while `life.alive()`. */
  workload(life: ShardLife<S, O>): Promise<void>;
}

const DATA = '/data';
const T0 = Date.UTC(2026, 11, 3);

function steppingFrozenClock(schedule: Schedule, index: number): Clock {
  const ms = T0 + index * Math.floor(schedule.rng() * 100 - 50);
  return { now: () => ms };
}

/**
 * Crash exploration of a whole shard (identity, bound, generator, the app's
 * state), half the schedules with the file system's `syncAll` and half
 * without (both ways a start makes new shards durable): per schedule, each fault of its chain strikes a life at a random
 * file operation (during open, check or workload) or after its workload; the
 * next life reopens the shard from what the simulated disk kept and checks
 * the invariants. After the last fault the shard must open (it is always safe
 * to) and pass `check` once more.
 */
export function exploreShardCrashes<Spec extends ServiceSpec, S, O>(o: ShardExploration<Spec, S, O>): Promise<ExploreReport> {
  return exploreSchedules({
    schedules: o.schedules,
    fs: { dirs: [DATA] },
    run: async (schedule) => {
      const fs = schedule.fs;
      const faults = (): number => fs.stats.processDeaths + fs.stats.powerLosses;
      // Half the schedules open without syncAll (a file system without
      // syncfs): shard by shard fdatasyncs and directory fsyncs instead.
      const perFile = schedule.rng() < 0.5;
      const view = (): FileSystem => {
        const v = fs.forProcess();
        if (!perFile) return v;
        const { syncAll: _none, ...rest } = v;
        return rest;
      };
      const open = (index: number): Promise<TestShard<S, O>> =>
        openTestShard(o.def, { fs: view(), dataDir: DATA, shard: 0, ...(o.app ? { app: o.app } : {}), clock: (o.clock ?? steppingFrozenClock)(schedule, index) });
      for (const [index, kind] of schedule.chain.entries()) {
        fs.crashAfterOps(schedule.crashPoint(o.opsPerLife), kind);
        const before = faults();
        const alive = (): boolean => faults() === before;
        const shard = await open(index).catch((err: unknown) => {
          if (alive()) throw err;
          return undefined;
        });
        if (shard === undefined) continue;
        const life: ShardLife<S, O> = { handle: shard.handle, index, final: false, alive, schedule };
        try {
          await o.check(life);
          await o.workload(life);
        } catch (err) {
          if (alive()) throw err;
        }
        if (alive()) strike(fs, kind);
        shard.abandon();
      }
      fs.cancelCrash();
      const last = await open(schedule.chain.length);
      await o.check({ handle: last.handle, index: schedule.chain.length, final: true, alive: () => true, schedule });
      await last.close();
    },
  });
}

function strike(fs: SimulatedFs, kind: 'process' | 'power'): void {
  fs.cancelCrash();
  if (kind === 'power') fs.powerLoss();
  else fs.killProcess();
}
