/**
 * A service's part of the crash test, as one plug-in: the client calls one
 * loop step makes, the events it logs, what it reads back after the run, and
 * what it checks. The harness (kills, restarts, moves, the final crash and
 * restart of every process) and the shared ID checks are the same for all.
 *
 * A plug-in is one file in this folder, listed in `./index.ts`. Its service
 * joins the chaos fleet (`procsPerService` processes over the first
 * `shardsPerService` shards), every worker loop spends `weight` of its steps
 * on `step`, and after the run:
 * - `issues(events)`: the fresh IDs its answers carried, checked by the shared
 *   checks exactly like timestamps and TxIds — never issued twice, per shard
 *   strictly increasing in real-time order, above every ID received before a
 *   kill of the owning process (`space` is the plug-in's service name);
 * - `readBack(client, events)`: what the fleet answers after the final crash
 *   and restart (its own retries: see `ask`);
 * - `check(...)`: its own invariants, pushing `Violation`s; returns its counts
 *   for the summary (`{ 'generations checked': 120 }`).
 *
 * Events are plain JSON objects written with `ctx.log` (which adds the
 * plug-in's service as `svc` and the worker as `w`); time them with
 * `ctx.timed()`/`ctx.done()` when the checks need their order. Errors go
 * through `ctx.fail(op, err)` (counted per call and code in the summary;
 * errors are expected under crashes, violations are not).
 */
import type { PharaohClient } from '@pharaoh/client';
import { shardForKey } from '@pharaoh/protocol';
import type { HarnessEvent } from '../events.js';
import type { Issue, Violation } from '../check.js';

/** When a call was made: worker, wall clock, logical clock (see events.ts). */
export interface CallStart {
  w: number;
  s: number;
  ls: number;
}
/** A call's times: made (`s`, `ls`) and answered (`r`, `lr`). */
export interface CallTimes extends CallStart {
  r: number;
  lr: number;
}

/** A plug-in's event in the worker log: its own fields plus `k` (the kind, unique across plug-ins), `svc` and `w`. */
export interface PluginEvent {
  k: string;
  svc: string;
  w: number;
  [field: string]: unknown;
}

export interface StepContext {
  client: PharaohClient;
  /** Worker number and loop number inside the worker: a loop's own keys are touched by that loop only, so its answers are ordered. */
  w: number;
  loop: number;
  /** The worker's seeded random source. */
  rnd: () => number;
  /** Shards 0..shards−1 of every service are served (a keyed call must hash into them: use `servedKey`). */
  shards: number;
  /** `base` plus a suffix so that `shardForKey(result) < shards`; the same base gives the same key in every process. */
  servedKey(base: string): string;
  /** Append an event (`svc` and `w` are added). */
  log(e: { k: string; [field: string]: unknown }): void;
  timed(): CallStart;
  done<T extends object>(start: CallStart, rest: T): T & CallTimes;
  /** Log a failed call (`k: 'err'`) and pause briefly. */
  fail(op: string, err: unknown): Promise<void>;
  /** True once the worker was asked to stop: long loops inside a step end early. */
  stopping(): boolean;
}

export interface CheckContext<F> {
  /** This plug-in's events, in log order per worker. */
  events: PluginEvent[];
  harness: HarnessEvent[];
  /** Process label hosting each shard of the plug-in's service. */
  owners: Map<number, string>;
  /** What `readBack` returned (undefined if the plug-in has none). */
  final: F | undefined;
  violations: Violation[];
}

export interface ChaosPlugin<F = unknown> {
  /** The registry name of the service it drives (started in the chaos fleet). */
  readonly service: string;
  /** Fraction of each worker loop's steps spent here (all plug-ins together well under 1: the rest drives tso, txcoord and session-mgr). */
  readonly weight: number;
  step(ctx: StepContext): Promise<void>;
  /** The fresh IDs the plug-in's answers carried, for the shared checks (`space` must be the service name). */
  issues?(events: PluginEvent[]): Issue[];
  readBack?(client: PharaohClient, events: PluginEvent[]): Promise<F>;
  /** Push violations; return counts for the summary. */
  check(ctx: CheckContext<F>): Record<string, number>;
}

/** `base` plus the first salt that hashes into shards 0..shards−1 (deterministic: every process finds the same key). */
export function servedKey(base: string, shards: number): string {
  for (let salt = 0; ; salt++) {
    const key = `${base}-${salt}`;
    if (shardForKey(key) < shards) return key;
  }
}

/** Domain answers are final; only transport trouble is worth retrying while reading back. */
export const RETRIED_CODES: readonly string[] = ['TIMEOUT', 'CONNECTION_LOST', 'SHARD_UNAVAILABLE', 'OVERLOADED', 'SHUTTING_DOWN', 'ERROR'];

/** `call`'s answer, or the error code after `attempts` transport failures (or at once for a domain error code). */
export async function ask<T>(call: () => Promise<T>, attempts = 5): Promise<T | { error: string }> {
  let last = 'ERROR';
  for (let i = 0; i < attempts; i++) {
    try {
      return await call();
    } catch (err) {
      last = (err as { code?: string }).code ?? 'ERROR';
      if (!RETRIED_CODES.includes(last)) return { error: last };
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { error: last };
}

/** Run `fn` over `items` with at most `concurrency` calls in flight. */
export async function pool<T>(items: readonly T[], fn: (t: T) => Promise<void>, concurrency = 64): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
