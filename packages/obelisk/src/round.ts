import type { ObeliskError } from './errors.js';

/** A durable range of values: every value in `first..last` (inclusive) is yours. */
export interface Range {
  first: number;
  last: number;
}

/** What a call resolves with: its own value or range; `undefined` (advanceTo) means the counter's value at release. */
type Result = number | Range | undefined;

/**
 * The calls one sync will release. Each call keeps its own promise (every
 * caller gets its own value), but nothing else per call: no waiter record and
 * no closure, which at a thousand callers per sync was most of the CPU an
 * increment cost. The round keeps each call's resolve, reject and result in
 * flat arrays and settles them in call order, so callers see values in the
 * order they were handed out.
 */
export class Round {
  private readonly resolves: ((result: number | Range) => void)[] = [];
  private readonly rejects: ((err: ObeliskError) => void)[] = [];
  private readonly results: Result[] = [];
  /** One executor for all the round's promises (`new Promise` runs it synchronously). */
  private readonly capture = (resolve: (result: number | Range) => void, reject: (err: ObeliskError) => void): void => {
    this.resolves.push(resolve);
    this.rejects.push(reject);
  };

  /** How many calls wait for this round. */
  get size(): number {
    return this.results.length;
  }

  /** A call resolving `result` when the round is released (`undefined`: the value at release). */
  add(result: number | undefined): Promise<number>;
  add(result: Range): Promise<Range>;
  add(result: Result): Promise<number | Range> {
    this.results.push(result);
    return new Promise(this.capture);
  }

  /** Resolve every call, in call order; `value` is what an `advanceTo` call gets. */
  release(value: number): void {
    const { resolves, results } = this;
    for (let i = 0; i < resolves.length; i++) resolves[i]!(results[i] ?? value);
  }

  fail(err: ObeliskError): void {
    for (const reject of this.rejects) reject(err);
  }
}
