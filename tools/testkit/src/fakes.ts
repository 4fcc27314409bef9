/**
 * Test doubles for the dependencies of the coordinator tables (txcoord,
 * session-mgr): a settable clock and an ID source that behaves like the real
 * generator where a table relies on it (strictly increasing across
 * "restarts", above `after`, ranges of up to n in one unit).
 */
import { Journal, SimulatedJournalFs } from '@pharaoh/journal';
import type { Layout } from '@pharaoh/snowflake';

export class FakeClock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Survives a simulated crash like the real generator does (its bound is durable): keep one per shard for the whole test. */
export class FakeIds {
  last = 0n;
  issued: bigint[] = [];
  constructor(
    private readonly layout: Layout,
    private readonly shard: number,
    private readonly clock: FakeClock,
  ) {}

  private lowest(after?: bigint): bigint {
    const unit = Math.max(0, this.layout.unitAt(this.clock.now()));
    let id = this.layout.encode({ time: unit, shard: this.shard, seq: 0 });
    if (id <= this.last) id = this.last + 1n;
    if (after !== undefined && id <= after) id = after + 1n;
    return id;
  }

  async next(after?: bigint): Promise<bigint> {
    await Promise.resolve();
    const id = this.lowest(after);
    this.last = id;
    this.issued.push(id);
    return id;
  }

  async nextRange(n: number, after?: bigint): Promise<{ first: bigint; count: number }> {
    await Promise.resolve();
    const first = this.lowest(after);
    // Stay inside the unit, as the real generator does (this may give fewer than n).
    const room = Number(this.layout.seqMask - (first & this.layout.seqMask)) + 1;
    const count = Math.min(n, room);
    for (let i = 0; i < count; i++) this.issued.push(first + BigInt(i));
    this.last = first + BigInt(count - 1);
    return { first, count };
  }
}

/** A simulated disk plus a helper to open a journal on it as one "process lifetime". */
export class SimDisk {
  readonly fs = new SimulatedJournalFs();
  journals: Array<Journal<unknown>> = [];

  open<R>(hooks: { onRecord(rec: unknown): void; snapshot(): R[] }, compactAtBytes?: number): Promise<Journal<R>> {
    const p = Journal.open<R>('/data/shard/journal', {
      fs: this.fs.process(),
      onRecord: hooks.onRecord as (rec: R) => void,
      snapshot: hooks.snapshot,
      ...(compactAtBytes === undefined ? {} : { compactAtBytes }),
    });
    return p.then((j) => {
      this.journals.push(j as Journal<unknown>);
      return j;
    });
  }

  get current(): Journal<unknown> {
    const j = this.journals[this.journals.length - 1];
    if (!j) throw new Error('no journal open');
    return j;
  }
}

/** The code a promise rejects with ('resolved' if it does not). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return 'resolved';
}
