/**
 * Test doubles: a controllable clock and an in-memory durable bound.
 */
import { IdGenerator, TSO_LAYOUT, type Clock, type DurableBound, type GeneratorEvent, type GeneratorOptions } from '../src/index.js';

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}

interface Pending {
  v: number;
  resolve: (v: number) => void;
  reject: (e: Error) => void;
}

/**
 * In-memory DurableBound. By default advanceTo resolves on the next microtask;
 * with `manual = true` each call waits until the test calls `release()`.
 * `failWith` makes later advanceTo calls reject, as a poisoned Obelisk would.
 */
export class MemoryBound implements DurableBound {
  value: number;
  manual = false;
  failWith: Error | undefined;
  readonly calls: number[] = [];
  private readonly pending: Pending[] = [];

  constructor(value = 0) {
    this.value = value;
  }

  advanceTo(v: number): Promise<number> {
    this.calls.push(v);
    if (this.failWith) return Promise.reject(this.failWith);
    if (v < this.value) return Promise.reject(new Error(`lowering advanceTo(${v}) below ${this.value}`));
    if (!this.manual) {
      // Like Obelisk: the value becomes durable (visible) when the advance completes, not when it is asked.
      return Promise.resolve().then(() => {
        this.value = Math.max(this.value, v);
        return this.value;
      });
    }
    return new Promise((resolve, reject) => this.pending.push({ v, resolve, reject }));
  }

  get waiting(): number {
    return this.pending.length;
  }

  /** Make every pending advance durable. */
  release(): void {
    for (const p of this.pending.splice(0)) {
      this.value = Math.max(this.value, p.v);
      p.resolve(this.value);
    }
  }

  /** Fail every pending advance. */
  failPending(e: Error): void {
    for (const p of this.pending.splice(0)) p.reject(e);
  }
}

/** Let queued promise callbacks and zero-delay work run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export const L = TSO_LAYOUT;
export const T0 = Date.UTC(2026, 0, 1);
export const U0 = L.unitAt(T0);
export const HOUR = 3_600_000;
/** Default bound tick (1 s) in TSO units (1 ms). */
export const UNITS_PER_TICK = 1000;

/** A TSO generator for shard 7 on a fake clock at T0 and an in-memory bound (both overridable). */
export async function setup(extra: Partial<GeneratorOptions> & { bound?: MemoryBound; clock?: FakeClock } = {}) {
  const clock = extra.clock ?? new FakeClock(T0);
  const bound = extra.bound ?? new MemoryBound();
  const events: GeneratorEvent[] = [];
  const gen = await IdGenerator.open({ layout: L, shard: 7, onEvent: (e) => events.push(e), ...extra, bound, clock });
  return { clock, bound, gen, events };
}

/** Asserts the invariants on every ID it sees: strictly increasing, unit below the durable bound. */
export class Checker {
  last = -1n;
  count = 0;
  constructor(private readonly bound: { readonly value: number }) {}
  add(id: bigint, count = 1): void {
    if (!(id > this.last)) throw new Error(`ID ${id} is not above ${this.last}`);
    const unit = L.timeOf(id);
    if (unit >= this.bound.value * UNITS_PER_TICK) throw new Error(`unit ${unit} reached the bound ${this.bound.value}`);
    this.last = id + BigInt(count - 1);
    this.count += count;
  }
}

