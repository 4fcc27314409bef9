/**
 * The monotonic ID generator for one shard.
 *
 * In memory it keeps the next free (unit, seq) position; on disk, through a
 * DurableBound, a coarse upper bound on every unit it may issue. The hot path
 * is synchronous: read the clock, pick a position, OR one bigint. It only goes
 * async when the durable bound must move first (window used up) or when
 * borrowing from the future would run too far ahead of the clock.
 */
import { AfterTooFarAheadError, GeneratorClosedError, InvalidOptionError, TimeExhaustedError } from './errors.js';
import { BoundWindow } from './bound-window.js';
import type { Layout } from './layout.js';
import { minPositionAfter } from './position.js';
import {
  parseGeneratorOptions,
  type GeneratorStats,
  type IdRange,
  type Clock,
  type GeneratorEvent,
  type GeneratorOptions,
  type ParsedOptions,
} from './options.js';

// reserve() results below 1: why nothing could be issued right now.
const BLOCK_BOUND = -1;
const BLOCK_LEAD = -2;
const BLOCK_AFTER = -3;
const BLOCK_EXHAUSTED = -4;
/** Lead waits re-check the clock at least this often (a stepped clock gives no signal). */
const MAX_LEAD_POLL_MS = 50;
/** `minUnit` meaning "no `after` constraint". */
const NO_MIN = -1;

interface Waiter {
  n: number;
  minUnit: number;
  minSeq: number;
  single: boolean;
  resolve: (v: bigint | IdRange) => void;
  reject: (e: Error) => void;
  waitedBound: boolean;
  waitedLead: boolean;
}

export type { GeneratorStats, IdRange };

export class IdGenerator {
  readonly layout: Layout;
  readonly shard: number;
  private readonly clock: Clock;
  private readonly onEvent: ((e: GeneratorEvent) => void) | undefined;
  private readonly epochMs: number;
  private readonly unitMs: number;
  private readonly maxSeq: number;
  private readonly maxTime: number;
  private readonly timeShift: bigint;
  private readonly shardBase: bigint;
  private readonly marginUnits: number;
  private readonly unitsPerTick: number;
  private readonly maxLeadUnits: number;
  /** `after` may lead the clock by maxLeadUnits + skewUnits + 1 (waiting past the lead); further is refused. */
  private readonly maxAfterLeadUnits: number;

  /** Unit of the last issued ID (or the resume point after open). */
  private unit: number;
  /** Next free sequence number in `unit`; > maxSeq when the unit is used up. */
  private seq = 0;
  /** `unit` and `shard` already shifted into place: computed once per unit. */
  private base: bigint;
  /** First ID of the last successful reserve(). */
  private first = 0n;
  /** ID at (unit, seq): saves re-encoding while a unit lasts. */
  private nextId: bigint;
  /** No queued callers, not failed, not closed: the synchronous fast path may run. */
  private ready = true;
  /** The durable bound: no unit >= window.units is ever issued. */
  private readonly window: BoundWindow;
  private lastNowMs = -Infinity;
  /** Highest clock reading seen, in units: the lead is measured against it. */
  private highUnit = -Infinity;
  private blockedUnit = 0;
  /**
   * Clock reading (ms) at which `unit` ends; below it the clock cannot move us to
   * a new unit. -Infinity until `unit` has been checked against the bound.
   */
  private unitEndMs: number;
  private readonly queue: Waiter[] = [];
  private leadTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly counters: GeneratorStats = {
    issued: 0,
    clockRegressions: 0,
    seqOverflows: 0,
    boundWaits: 0,
    leadWaits: 0,
    boundAdvances: 0,
  };

  private constructor(p: ParsedOptions) {
    const { layout } = p;
    this.layout = layout;
    this.shard = p.shard;
    this.clock = p.clock;
    this.onEvent = p.onEvent;
    this.epochMs = layout.epochMs;
    this.unitMs = layout.unitMs;
    this.maxSeq = layout.maxSeq;
    this.maxTime = Number(layout.maxTime);
    this.timeShift = layout.timeShift;
    this.shardBase = BigInt(p.shard) << layout.shardShift;
    this.marginUnits = Math.ceil(p.windowUnits / 2);
    this.maxLeadUnits = p.maxLeadUnits;
    this.maxAfterLeadUnits = p.maxLeadUnits + p.skewUnits + 1;
    this.window = new BoundWindow(p.bound, p.unitsPerTick, p.windowUnits, {
      advanced: (ticks) => this.advanced(ticks),
      failed: (e) => this.fail(e),
      clockUnit: () => this.highUnit,
    });
    // Every ID issued before a crash had a unit < the durable bound (or below the
    // floor another bound covered), so resuming there keeps every new ID above
    // them, whatever the clock says. On a shared bound the caller says where
    // (resumeTicks): the bound's value is where the other shards' windows reach.
    this.unitsPerTick = p.unitsPerTick;
    this.unit = Math.max(p.resumeTicks ?? this.window.ticks, p.floorTicks) * p.unitsPerTick;
    this.base = this.baseOf(this.unit);
    this.nextId = this.base;
    // The resume unit has not been checked against the bound yet: keep reserveOne() off it.
    this.unitEndMs = -Infinity;
  }

  /**
   * Open a generator for `shard`, resuming at the durable bound. Does not touch
   * the disk: the bound is first advanced when the first ID is asked for, so
   * idle shards cost no fsyncs.
   */
  static async open(options: GeneratorOptions): Promise<IdGenerator> {
    return new IdGenerator(parseGeneratorOptions(options));
  }

  /**
   * Ticks below which every ID this generator issued lies, and at or above
   * its resume point: where a successor of the same shard resumes
   * (`resumeTicks`), less than one tick above its last ID. Not moved by
   * opening and closing without issuing (no creep ahead of the clock).
   */
  get issuedBelowTicks(): number {
    // seq > 0: IDs were issued in `unit`; seq === 0 only at the resume point, where nothing was.
    const end = this.seq > 0 ? this.unit + 1 : this.unit;
    return Math.ceil(end / this.unitsPerTick);
  }

  /** How far (ms) the next ID's time lies ahead of the clock now: 0 when it is at or behind it. */
  get aheadOfClockMs(): number {
    const nowUnit = Math.floor((this.clock.now() - this.epochMs) / this.unitMs);
    return Math.max(0, (this.unit - nowUnit) * this.unitMs);
  }

  /** The error that stopped this generator (the bound's advanceTo rejected), if any. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** A snapshot of the counters. */
  get stats(): GeneratorStats {
    return { ...this.counters };
  }

  /**
   * One ID, strictly greater than every ID this generator issued before (also
   * before a crash) and than `after` if given. Its unit is below the durable
   * bound when the promise resolves.
   */
  next(after?: bigint): Promise<bigint> {
    if (after === undefined && this.ready && this.reserveOne()) return Promise.resolve(this.first);
    return this.request(1, after, true) as Promise<bigint>;
  }

  /**
   * Up to `n` consecutive IDs in one time unit (count >= 1; ask again for more),
   * all strictly greater than every ID issued before and than `after`.
   */
  nextRange(n: number, after?: bigint): Promise<IdRange> {
    if (after === undefined && this.ready && Number.isSafeInteger(n) && n >= 1) {
      const r = this.reserve(n, NO_MIN, 0, this.clock.now());
      if (r > 0) return Promise.resolve({ first: this.first, count: r });
    }
    return this.request(n, after, false) as Promise<IdRange>;
  }

  /**
   * Synchronous variant of nextRange: the range, or undefined when the caller
   * must use the async path (bound or lead wait, queued callers, failure,
   * closed, or an `after` that is refused).
   */
  tryNextRangeSync(n: number, after?: bigint): IdRange | undefined {
    checkCount(n);
    if (!this.ready) return undefined;
    let r: number;
    if (after === undefined) r = this.reserve(n, NO_MIN, 0, this.clock.now());
    else {
      const [minUnit, minSeq] = minPositionAfter(this.layout, this.shard, after);
      r = this.reserve(n, minUnit, minSeq, this.clock.now());
    }
    return r > 0 ? { first: this.first, count: r } : undefined;
  }

  /**
   * Stop: pending and later calls reject with GeneratorClosedError and no new
   * bound advance starts. Does not close the bound. Resolves once an advance
   * already in flight has settled, so the caller may then close the bound.
   */
  close(): Promise<void> {
    this.closed = true;
    this.ready = false;
    this.window.stopped = true;
    this.clearLeadTimer();
    this.rejectAll(new GeneratorClosedError());
    return this.window.settled();
  }

  private request(n: number, after: bigint | undefined, single: boolean): Promise<bigint | IdRange> {
    try {
      checkCount(n);
      const [minUnit, minSeq] = after === undefined ? [NO_MIN, 0] : minPositionAfter(this.layout, this.shard, after);
      if (this.failure) return Promise.reject(this.failure);
      if (this.closed) return Promise.reject(new GeneratorClosedError());
      return new Promise((resolve, reject) => {
        this.queue.push({ n, minUnit, minSeq, single, resolve, reject, waitedBound: false, waitedLead: false });
        this.ready = false;
        this.pump();
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The hottest path, for next(): the clock has not passed the current unit and
   * the unit has room, so the ID is the previous one plus one. Otherwise falls
   * back to reserve(). Returns whether an ID was issued (in `this.first`).
   */
  private reserveOne(): boolean {
    const now = this.clock.now();
    if (now >= this.lastNowMs && now < this.unitEndMs && this.seq <= this.maxSeq) {
      this.lastNowMs = now;
      const id = this.nextId;
      this.first = id;
      this.nextId = id + 1n;
      this.seq += 1;
      this.counters.issued += 1;
      return true;
    }
    return this.reserve(1, NO_MIN, 0, now) > 0;
  }

  /**
   * The hot path. Picks the next position and commits it, returning the count
   * issued (first ID in `this.first`), or a BLOCK_* code leaving state as is.
   * Invariants: (unit, seq) only grows; no unit >= boundUnits is issued.
   */
  private reserve(n: number, minUnit: number, minSeq: number, now: number): number {
    if (now < this.lastNowMs) {
      // reserveOne() does not track highUnit; the reading before the step may be the highest.
      const before = Math.floor((this.lastNowMs - this.epochMs) / this.unitMs);
      if (before > this.highUnit) this.highUnit = before;
      this.regression(now);
    }
    this.lastNowMs = now;
    const nowUnit = Math.floor((now - this.epochMs) / this.unitMs);
    if (nowUnit > this.highUnit) this.highUnit = nowUnit;
    let unit = this.unit;
    let seq = this.seq;
    if (nowUnit > unit) {
      unit = nowUnit;
      seq = 0;
    }
    if (minUnit > unit) {
      if (minUnit > this.highUnit + this.maxLeadUnits) {
        // Another shard (its clock ahead by up to the skew, borrowing up to its lead) may have
        // issued `after`: wait until our clock allows it. Only further than that is refused.
        return this.block(minUnit > this.highUnit + this.maxAfterLeadUnits ? BLOCK_AFTER : BLOCK_LEAD, minUnit);
      }
      unit = minUnit;
      seq = minSeq;
    } else if (minUnit === unit && minSeq > seq) {
      seq = minSeq;
    }
    let borrowed = false;
    if (seq > this.maxSeq) {
      // The unit is used up: borrow the next one, but not too far ahead of the clock.
      unit += 1;
      seq = 0;
      borrowed = true;
      if (unit > this.highUnit + this.maxLeadUnits) return this.block(BLOCK_LEAD, unit);
    }
    if (unit > this.maxTime) return this.block(BLOCK_EXHAUSTED, unit);
    if (unit >= this.window.units && !(this.window.refresh() && unit < this.window.units)) {
      this.window.ensure(unit);
      return this.block(BLOCK_BOUND, unit);
    }
    if (unit !== this.unit) {
      this.unit = unit;
      this.base = this.baseOf(unit);
      this.nextId = this.base;
      this.seq = 0;
      if (borrowed) this.overflow(unit);
      // Push the bound ahead before the window is used up, so callers never wait on disk.
      if (unit + this.marginUnits >= this.window.units && !(this.window.refresh() && unit + this.marginUnits < this.window.units)) this.window.ensure(unit);
    }
    // `unit` passed the bound and lead checks: reserveOne() may now issue in it directly.
    this.unitEndMs = this.epochMs + (unit + 1) * this.unitMs;
    const room = this.maxSeq + 1 - seq;
    const count = n < room ? n : room;
    const first = seq === this.seq ? this.nextId : this.base | BigInt(seq);
    this.first = first;
    this.nextId = count === 1 ? first + 1n : first + BigInt(count);
    this.seq = seq + count;
    this.counters.issued += count;
    return count;
  }

  private block(code: number, unit: number): number {
    this.blockedUnit = unit;
    return code;
  }

  private baseOf(unit: number): bigint {
    return (BigInt(unit) << this.timeShift) | this.shardBase;
  }

  private advanced(ticks: number): void {
    this.counters.boundAdvances += 1;
    this.emit({ type: 'bound-advanced', ticks });
    if (!this.closed) this.pump();
  }

  /** Serve queued callers in order until one has to wait. */
  private pump(): void {
    while (this.queue.length > 0) {
      if (this.leadTimer !== undefined) return; // a lead poll is scheduled and will pump
      if (this.failure) return this.rejectAll(this.failure);
      const w = this.queue[0]!;
      const r = this.reserve(w.n, w.minUnit, w.minSeq, this.clock.now());
      if (r > 0) {
        this.queue.shift();
        if (this.queue.length === 0) this.ready = this.failure === undefined && !this.closed;
        w.resolve(w.single ? this.first : { first: this.first, count: r });
      } else if (r === BLOCK_BOUND) {
        if (!w.waitedBound) {
          w.waitedBound = true;
          this.counters.boundWaits += 1;
          this.emit({ type: 'bound-wait', unit: this.blockedUnit });
        }
        return; // advanced() pumps again
      } else if (r === BLOCK_LEAD) {
        this.leadWait(w);
        return;
      } else {
        this.queue.shift();
        if (this.queue.length === 0) this.ready = this.failure === undefined && !this.closed;
        w.reject(
          r === BLOCK_AFTER
            ? new AfterTooFarAheadError(this.blockedUnit, this.highUnit + this.maxAfterLeadUnits, this.highUnit)
            : new TimeExhaustedError(this.layout.name, this.layout.exhaustsAt),
        );
      }
    }
  }

  private leadWait(w: Waiter): void {
    const clockUnit = this.highUnit;
    if (!w.waitedLead) {
      w.waitedLead = true;
      this.counters.leadWaits += 1;
      this.emit({ type: 'lead-wait', unit: this.blockedUnit, clockUnit });
    }
    const excessMs = (this.blockedUnit - (clockUnit + this.maxLeadUnits)) * this.unitMs;
    const delay = Math.min(Math.max(excessMs, 1), MAX_LEAD_POLL_MS);
    this.leadTimer = setTimeout(() => {
      this.leadTimer = undefined;
      this.pump();
    }, delay);
  }

  private clearLeadTimer(): void {
    if (this.leadTimer !== undefined) clearTimeout(this.leadTimer);
    this.leadTimer = undefined;
  }

  /** The bound could not be made durable: nothing more may be issued. */
  private fail(e: unknown): void {
    if (this.failure) return;
    this.window.stopped = true;
    this.failure = e instanceof Error ? e : new Error(String(e));
    this.ready = false;
    this.clearLeadTimer();
    this.rejectAll(this.failure);
    this.emit({ type: 'failed', error: this.failure });
  }

  private rejectAll(e: Error): void {
    const waiters = this.queue.splice(0);
    for (const w of waiters) w.reject(e);
  }

  private regression(now: number): void {
    this.counters.clockRegressions += 1;
    this.emit({ type: 'clock-regression', fromMs: this.lastNowMs, toMs: now });
  }

  private overflow(unit: number): void {
    this.counters.seqOverflows += 1;
    if (this.onEvent) this.emit({ type: 'seq-overflow', unit });
  }

  private emit(e: GeneratorEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(e);
    } catch {
      // A faulty listener must not break ID generation.
    }
  }
}

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidOptionError('n', `must be a positive integer, got ${String(n)}`);
  }
}
