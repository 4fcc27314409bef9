/**
 * Keeps a DurableBound ahead of the units a generator issues: at most one
 * advanceTo() in flight; requests arriving meanwhile are merged into one
 * follow-up advance. The bound may be shared by every generator of a process:
 * `refresh()` then picks up, without waiting, a durable value that another
 * generator's advance made, so an idle shard in a busy process never waits
 * on disk.
 */
import type { DurableBound } from './options.js';

export interface BoundWindowHooks {
  /** A larger durable value is known (in ticks). */
  advanced(ticks: number): void;
  /** advanceTo() rejected, or resolved below what was asked. */
  failed(error: unknown): void;
  /** The newest clock reading, in units: the window is measured from it when the issued unit is not ahead. */
  clockUnit(): number;
}

export class BoundWindow {
  /** Durable bound in ticks, as last confirmed by the bound. */
  ticks: number;
  /** The same in units: no unit >= `units` may be issued. */
  units: number;
  /** Set by the owner on close or failure: no new advance starts. */
  stopped = false;
  private inFlight: Promise<void> | undefined;
  /** Highest unit asked for while an advance was in flight, or -1. */
  private pendingUnit = -1;

  constructor(
    private readonly bound: DurableBound,
    private readonly unitsPerTick: number,
    private readonly windowUnits: number,
    private readonly hooks: BoundWindowHooks,
  ) {
    this.ticks = bound.value;
    this.units = this.ticks * unitsPerTick;
  }

  /**
   * Take the bound's durable value if it moved past ours (another user of a
   * shared bound advanced it). Synchronous; true if `units` grew.
   */
  refresh(): boolean {
    const v = this.bound.value;
    if (v <= this.ticks) return false;
    this.ticks = v;
    this.units = v * this.unitsPerTick;
    return true;
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /**
   * Make the durable bound cover `unit` plus the window. Nothing is durable
   * until hooks.advanced() reports the new value; `units` never decreases.
   */
  ensure(unit: number): void {
    if (this.inFlight !== undefined) {
      if (unit > this.pendingUnit) this.pendingUnit = unit;
      return;
    }
    // The window runs ahead of the clock, not of a unit that is itself ahead of
    // it (a resume point after a restart, borrowed time): then one tick of room
    // past the unit is enough. Measuring from such a unit would push the bound a
    // window further at every restart, and the IDs after the next one with it.
    const target = Math.max(unit + this.unitsPerTick, this.hooks.clockUnit() + this.windowUnits);
    const ticks = Math.floor(target / this.unitsPerTick) + 1;
    // Never ask for less than is durable: Obelisk refuses a lowering advanceTo.
    if (ticks <= this.ticks || this.stopped) return;
    this.inFlight = this.bound.advanceTo(ticks).then(
      (v) => this.done(v, ticks),
      (e: unknown) => {
        this.inFlight = undefined;
        this.hooks.failed(e);
      },
    );
  }

  /** Resolves once no advance is in flight (never rejects). */
  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  private done(v: number, asked: number): void {
    this.inFlight = undefined;
    if (!(typeof v === 'number' && v >= asked)) {
      this.hooks.failed(new Error(`bound.advanceTo(${asked}) resolved with ${String(v)}, below the asked value`));
      return;
    }
    if (v > this.ticks) {
      this.ticks = v;
      this.units = v * this.unitsPerTick;
    }
    const pending = this.pendingUnit;
    this.pendingUnit = -1;
    if (pending >= 0) this.ensure(pending);
    this.hooks.advanced(v);
  }
}

/**
 * A view of `bound` that several generators can share (one durable time bound
 * per process): an advance to a value already durable resolves at once with
 * the durable value instead of being refused as "lowering"; a larger one goes
 * to the bound, where concurrent advances share one fdatasync (Obelisk's
 * group commit).
 */
export function sharedBound(bound: DurableBound): DurableBound {
  return {
    get value() {
      return bound.value;
    },
    advanceTo(v: number): Promise<number> {
      const durable = bound.value;
      return v <= durable ? Promise.resolve(durable) : bound.advanceTo(v);
    },
  };
}
