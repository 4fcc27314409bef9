import { ObeliskError } from '../src/index.js';

/** Let every pending microtask and simulated operation run. */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** The ObeliskError code a promise rejects with (fails the test if it resolves or throws something else). */
export async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ObeliskError) return err.code;
    throw err;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Tracks issued values: no value twice, each above everything released before the last crash. */
export class ReleasedLedger {
  private readonly seen = new Set<number>();
  /** Highest value released or acknowledged durable so far. */
  max = 0;
  /** `max` as of the last crash: everything issued afterwards must exceed it. */
  floor = 0;

  issue(v: number, where: string): void {
    if (this.seen.has(v)) throw new Error(`${where}: value ${v} issued twice`);
    if (v <= this.floor) throw new Error(`${where}: value ${v} issued again after a crash (floor ${this.floor})`);
    this.seen.add(v);
    if (v > this.max) this.max = v;
  }

  acknowledge(durable: number): void {
    if (durable > this.max) this.max = durable;
  }

  crashed(): void {
    this.floor = this.max;
  }
}
