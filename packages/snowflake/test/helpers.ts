/**
 * Test doubles: a controllable clock and an in-memory durable bound.
 */
import type { Clock, DurableBound } from '../src/index.js';

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
      this.value = Math.max(this.value, v);
      return Promise.resolve(this.value);
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
