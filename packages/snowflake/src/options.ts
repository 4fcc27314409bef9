/**
 * Generator options: exported defaults and the one validating parser.
 */
import { InvalidOptionError } from './errors.js';
import type { Layout } from './layout.js';

/**
 * A durable, monotonic store of the time bound, counted in coarse ticks since
 * the layout epoch. `@pharaoh/obelisk`'s `Obelisk` satisfies it structurally.
 */
export interface DurableBound {
  /** The highest value known durable. */
  readonly value: number;
  /**
   * Make the durable value >= v and resolve with the durable value. A bound
   * shared by several generators must resolve at once with its value when it
   * is already >= v (see `sharedBound`).
   */
  advanceTo(v: number): Promise<number>;
}

/** Wall clock in ms since the Unix epoch. The default is `Date.now`. */
export interface Clock {
  now(): number;
}

/** Consecutive IDs `first, first + 1, ..., first + count - 1`, all in one time unit. */
export interface IdRange {
  first: bigint;
  count: number;
}

/** Monotonic counters, for metrics. */
export interface GeneratorStats {
  /** IDs handed out (a range counts its size). */
  issued: number;
  /** Times a clock reading was lower than the one before it. */
  clockRegressions: number;
  /** Times a unit's sequence ran out and the next unit was borrowed. */
  seqOverflows: number;
  /** Calls that had to wait for the durable bound to advance. */
  boundWaits: number;
  /** Calls that had to wait because borrowing ran more than maxLeadMs ahead. */
  leadWaits: number;
  /** Completed advanceTo() calls on the bound (each one is an fdatasync for Obelisk). */
  boundAdvances: number;
}

export type GeneratorEvent =
  | { type: 'clock-regression'; fromMs: number; toMs: number }
  | { type: 'seq-overflow'; unit: number }
  | { type: 'bound-wait'; unit: number }
  | { type: 'lead-wait'; unit: number; clockUnit: number }
  | { type: 'bound-advanced'; ticks: number }
  | { type: 'failed'; error: Error };

export interface GeneratorOptions {
  layout: Layout;
  shard: number;
  bound: DurableBound;
  /**
   * Ticks below which no unit may be issued, besides the bound's own value: the
   * resume point of a shard whose earlier IDs another bound covered (a bound
   * it carried when it left another process, or the other bounds of a data
   * dir). The generator resumes at max(resumeTicks ?? bound.value, floorTicks). Default 0.
   */
  floorTicks?: number;
  /**
   * Where to resume, in ticks, instead of the bound's value: every ID this
   * shard issued before has a unit below `resumeTicks * tick` (or below
   * `floorTicks`). For a bound shared by a process's shards: its value has
   * been pushed a window ahead of the clock by the other shards' advances, and
   * resuming there would put this shard's IDs up to a window ahead of the
   * clock — and its own first advance a window further, for the next shard to
   * resume at (see the server's ProcessBound). The generator resumes at
   * max(resumeTicks, floorTicks). Default: the bound's value (a bound of its own).
   */
  resumeTicks?: number;
  clock?: Clock;
  /** How far ahead of the issued unit the durable bound is pushed. */
  windowMs?: number;
  /** How far borrowing may run ahead of the newest clock reading. */
  maxLeadMs?: number;
  /**
   * How far another shard's clock may be ahead of this one's (the fleet's
   * documented clock skew). An `after` up to `maxLeadMs + maxClockSkewMs` ahead
   * of this clock is served (waiting for the clock past the lead); only one
   * further ahead is refused.
   */
  maxClockSkewMs?: number;
  /** Size of one bound tick. Must be a multiple of the layout's unit. */
  boundTickMs?: number;
  /** Called synchronously on rare events (never throws into the generator). */
  onEvent?: (event: GeneratorEvent) => void;
}

/**
 * ~3 s: one fdatasync per active shard every ~1.5 s, and a crash wastes at
 * most ~4 s of time space (window + one tick of rounding).
 */
export const DEFAULT_WINDOW_MS = 3_000;
/**
 * 5 s: above window + tick, so that after a restart (which resumes at the
 * bound, up to ~4 s ahead of the clock) bursts do not stall on the lead check.
 */
export const DEFAULT_MAX_LEAD_MS = 5_000;
/**
 * 1 s: fleet hosts keep their clocks within a few ms of each other (NTP,
 * chrony); 1 s leaves two orders of magnitude of room. An `after` that another
 * shard legitimately issued lies at most maxLeadMs + this skew (+ one unit)
 * ahead of this shard's clock.
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 1_000;
/** 1 s ticks: the bound file grows ~31.5 M bytes (apparent, sparse) per year. */
export const DEFAULT_BOUND_TICK_MS = 1_000;

export const SYSTEM_CLOCK: Clock = { now: Date.now };

export interface ParsedOptions {
  layout: Layout;
  shard: number;
  bound: DurableBound;
  floorTicks: number;
  /** undefined: resume at the bound's value. */
  resumeTicks: number | undefined;
  clock: Clock;
  windowUnits: number;
  maxLeadUnits: number;
  skewUnits: number;
  unitsPerTick: number;
  onEvent: ((event: GeneratorEvent) => void) | undefined;
}

export function parseGeneratorOptions(o: GeneratorOptions): ParsedOptions {
  if (o === null || typeof o !== 'object') throw new InvalidOptionError('options', 'must be an object');
  const { layout, shard, bound } = o;
  if (!layout || typeof layout.encode !== 'function' || typeof layout.unitMs !== 'number') {
    throw new InvalidOptionError('layout', 'must be a Layout from defineLayout()');
  }
  if (!Number.isInteger(shard) || shard < 0 || shard > layout.maxShard) {
    throw new InvalidOptionError('shard', `must be an integer in [0, ${layout.maxShard}], got ${String(shard)}`);
  }
  if (!bound || typeof bound.advanceTo !== 'function') {
    throw new InvalidOptionError('bound', 'must have value and advanceTo()');
  }
  if (!Number.isSafeInteger(bound.value) || bound.value < 0) {
    throw new InvalidOptionError('bound', `value must be a non-negative safe integer, got ${String(bound.value)}`);
  }
  const floorTicks = o.floorTicks ?? 0;
  if (!Number.isSafeInteger(floorTicks) || floorTicks < 0) {
    throw new InvalidOptionError('floorTicks', `must be a non-negative safe integer, got ${String(floorTicks)}`);
  }
  const resumeTicks = o.resumeTicks;
  if (resumeTicks !== undefined && (!Number.isSafeInteger(resumeTicks) || resumeTicks < 0)) {
    throw new InvalidOptionError('resumeTicks', `must be a non-negative safe integer, got ${String(resumeTicks)}`);
  }
  const clock = o.clock ?? SYSTEM_CLOCK;
  if (typeof clock.now !== 'function') throw new InvalidOptionError('clock', 'must have now()');
  const unit = layout.unitMs;
  const windowMs = intOption('windowMs', o.windowMs ?? DEFAULT_WINDOW_MS, unit);
  const maxLeadMs = intOption('maxLeadMs', o.maxLeadMs ?? DEFAULT_MAX_LEAD_MS, 0);
  const maxClockSkewMs = intOption('maxClockSkewMs', o.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS, 0);
  const boundTickMs = intOption('boundTickMs', o.boundTickMs ?? DEFAULT_BOUND_TICK_MS, unit);
  if (boundTickMs % unit !== 0) {
    throw new InvalidOptionError('boundTickMs', `must be a multiple of the layout's unit (${unit} ms)`);
  }
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') {
    throw new InvalidOptionError('onEvent', 'must be a function');
  }
  return {
    layout,
    shard,
    bound,
    floorTicks,
    resumeTicks,
    clock,
    windowUnits: Math.ceil(windowMs / unit),
    maxLeadUnits: Math.floor(maxLeadMs / unit),
    skewUnits: Math.ceil(maxClockSkewMs / unit),
    unitsPerTick: boundTickMs / unit,
    onEvent: o.onEvent,
  };
}

function intOption(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new InvalidOptionError(name, `must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}
