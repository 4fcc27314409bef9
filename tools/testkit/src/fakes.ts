/**
 * Test doubles for the dependencies of the coordinator tables (txcoord,
 * session-mgr): a settable clock and an ID source that behaves like the real
 * generator where a table relies on it (strictly increasing across
 * "restarts", above `after`, ranges of up to n in one unit).
 */
import { Journal } from '@pharaoh/journal';
import { SimulatedFs } from '@pharaoh/storage/testing';
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

/** The shard directory of a SimDisk; its journal lives in `journal/` inside it. */
const SIM_SHARD_DIR = '/data/shard';

/**
 * The storage layer's crash simulator as one shard's disk, plus a helper to
 * open the shard's journal on it as one "process lifetime". End a lifetime
 * with `fs.killProcess()`, `fs.powerLoss()` or `fs.crashAfterOps(n, kind)`.
 * Once a journal has opened, later opens pass `mustExist` (as the server does
 * for a shard that has served): a journal lost to a fault is refused, never
 * silently recreated.
 */
export class SimDisk {
  readonly fs: SimulatedFs;
  journals: Array<Journal<unknown>> = [];

  /** `seed` drives what a power loss keeps (and the simulator's operation delays). */
  constructor(seed = 1) {
    this.fs = new SimulatedFs({ seed, dirs: [SIM_SHARD_DIR] });
  }

  open<R>(hooks: { onRecord(rec: unknown): void; snapshot(): R[] }, compactAtBytes?: number): Promise<Journal<R>> {
    const p = Journal.open<R>(`${SIM_SHARD_DIR}/journal`, {
      fs: this.fs,
      mustExist: this.journals.length > 0,
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

  /** Faults taken so far (process deaths and power losses, scheduled or not). */
  get faults(): number {
    return this.fs.stats.processDeaths + this.fs.stats.powerLosses;
  }

  /**
   * Start `work`, let its journal write reach the page cache, and kill the
   * process while the fdatasync that would acknowledge it is still running.
   * Resolves once `work` has failed; throws if it was acknowledged anyway.
   */
  async killBeforeSync(work: () => Promise<unknown>): Promise<void> {
    const before = this.fs.stats.ops.datasync;
    const release = this.fs.hold('datasync');
    const settled = work().then(
      () => 'acknowledged',
      () => 'failed',
    );
    for (let i = 0; i < 1_000 && this.fs.stats.ops.datasync === before; i++) await new Promise((r) => setImmediate(r));
    const started = this.fs.stats.ops.datasync > before;
    this.fs.killProcess();
    release();
    if (!started) throw new Error('killBeforeSync: the work never reached an fdatasync');
    if ((await settled) === 'acknowledged') throw new Error('killBeforeSync: the work was acknowledged although its fdatasync never completed');
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
