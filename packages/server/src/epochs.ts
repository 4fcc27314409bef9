/**
 * Time-based epochs with a bounded lead: the one rule for every number a
 * coordinator hands out that must never repeat or go back, across crashes
 * AND restores (session-mgr's epochs, group-coord's generations;
 * docs/DESIGN.md §9). A plain counter (n + 1) lives only on disk: a restore
 * would hand out again a value given after the backup and un-fence a zombie
 * fenced after it. Seconds since a layout's epoch live on the clock as well,
 * and because a value never runs more than MAX_EPOCH_LEAD_S ahead of the
 * clock, "the restore instant + that lead" is above every value the lost
 * process could have handed out.
 *
 * Pure: the clock, the layout and the restore facts are injected.
 */
import type { Layout } from '@pharaoh/snowflake';
import type { RestoreMark } from './shard-dir.js';

/**
 * How far (seconds) values may run ahead of the clock. The next value is
 * max(previous + 1, now in seconds), so more than one a second borrows
 * future seconds; this bounds the borrowing, which is what lets a restore
 * fence every value handed out before the loss with a floor of "restore time
 * + this lead". An hour absorbs a burst of 3,600 values of one key above its
 * long-run rate of one a second (a restart or rebalance loop is far slower),
 * and costs a restored shard a floor one hour ahead.
 */
export const MAX_EPOCH_LEAD_S = 3_600;

const MS_PER_S = 1_000;

/** Whole seconds from the layout's epoch to the instant `ms` (ms since 1970). */
export function secondsSince(layout: Pick<Layout, 'epochMs'>, ms: number): number {
  return Math.floor((ms - layout.epochMs) / MS_PER_S);
}

/**
 * The floor of a shard restored at `restored.restoredAt`: above every value
 * handed out before the loss, since each was at most MAX_EPOCH_LEAD_S ahead
 * of a clock that had not yet reached the restore.
 */
export function epochFloorAfter(layout: Pick<Layout, 'epochMs'>, restored: Pick<RestoreMark, 'restoredAt'>): number {
  return secondsSince(layout, restored.restoredAt) + MAX_EPOCH_LEAD_S + 1;
}

/**
 * The rule itself, for one shard: `next(reserved)` over an injected clock,
 * with the restore's floor. Invariant: every value it returns for a key is
 * above the `reserved` passed (the highest value of that key handed out or
 * being journaled), at least `floor`, and at most MAX_EPOCH_LEAD_S ahead of
 * the clock.
 */
export class TimeEpochs {
  /** Every value handed out takes at least this; 0 on a shard that was never restored. */
  readonly floor: number;

  constructor(
    protected readonly layout: Pick<Layout, 'epochMs'>,
    protected readonly clock: { now(): number },
    restored: Pick<RestoreMark, 'restoredAt'> | undefined,
  ) {
    this.floor = restored === undefined ? 0 : epochFloorAfter(layout, restored);
  }

  /** Seconds since the layout's epoch on the injected clock. */
  nowSec(): number {
    return secondsSince(this.layout, this.clock.now());
  }

  /**
   * The value that follows `reserved` (the highest handed out or being
   * journaled): max(reserved + 1, now in seconds, floor), so values of a key
   * strictly increase. `undefined` when reserved + 1 would run more than
   * MAX_EPOCH_LEAD_S ahead of the clock (the caller refuses; nothing changes).
   */
  next(reserved: number): number | undefined {
    const now = this.nowSec();
    if (reserved + 1 > now + MAX_EPOCH_LEAD_S) return undefined;
    return Math.max(reserved + 1, now, this.floor);
  }
}
