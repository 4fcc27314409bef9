/**
 * The epoch rule of session-mgr: epochs are time-based with a bounded lead,
 * so that restoring an older copy of a shard's journal cannot roll them back
 * (docs/DESIGN.md §9). A plain counter (epoch + 1) lives only on disk: a
 * restore would hand out again an epoch given after the backup and un-fence a
 * producer fenced after it. Seconds since the SESSION layout's epoch live on
 * the clock as well, and because a reopen never runs more than
 * MAX_EPOCH_LEAD_S ahead of the clock, "the restore instant + that lead" is
 * above every epoch the lost process could have handed out.
 *
 * Pure: the clock, the layout and the restore facts are injected.
 */
import type { RestoreMark } from '@pharaoh/server';
import type { Layout } from '@pharaoh/snowflake';

/**
 * The largest epoch the protocol carries (int32). Epochs count seconds since
 * the SESSION layout's epoch (2025-01-01T00:00:00Z), and 2^31 − 1 seconds
 * from then reach 2093-01-19: until then the clock alone never pushes an
 * epoch past it. Past it a producer moves to a new session.
 */
export const MAX_EPOCH = 0x7fff_ffff;

/**
 * How far (seconds) a producer's epochs may run ahead of the clock. A reopen
 * takes max(previous + 1, now in seconds), so more than one reopen a second
 * borrows future seconds; this bounds the borrowing, which is what lets a
 * restore fence every epoch handed out before the loss with a floor of
 * "restore time + this lead". An hour absorbs a burst of 3,600 reopens of one
 * producer above its long-run rate of one a second (a restart loop is far
 * slower), and costs a restored shard an epoch floor one hour ahead.
 */
export const MAX_EPOCH_LEAD_S = 3_600;

const MS_PER_S = 1_000;

/** What the rule needs of the SESSION layout: its epoch (epochs count seconds from it) and the time field of a sessionId. */
export type EpochLayout = Pick<Layout, 'epochMs' | 'timeOf' | 'unitAt'>;

/** The restore facts the rule uses (a `RestoreMark` of @pharaoh/server fits). */
export type EpochRestore = Pick<RestoreMark, 'restoredAt' | 'issuedBeforeMs'>;

/** Whole seconds from the layout's epoch to the instant `ms` (ms since 1970). */
export function secondsSince(layout: Pick<Layout, 'epochMs'>, ms: number): number {
  return Math.floor((ms - layout.epochMs) / MS_PER_S);
}

/**
 * The epoch floor of a shard restored at `restored.restoredAt`: above every
 * epoch handed out before the loss, since each was at most
 * MAX_EPOCH_LEAD_S ahead of a clock that had not yet reached the restore.
 */
export function epochFloorAfter(layout: Pick<Layout, 'epochMs'>, restored: Pick<RestoreMark, 'restoredAt'>): number {
  return secondsSince(layout, restored.restoredAt) + MAX_EPOCH_LEAD_S + 1;
}

export class SessionEpochs {
  /** Every reopen takes at least this epoch; 0 on a shard that was never restored. */
  readonly floor: number;
  /** Session IDs whose time field is below this unit were issued before the restore (none when not restored). */
  private readonly restoredBeforeUnit: number;

  constructor(
    private readonly layout: EpochLayout,
    private readonly clock: { now(): number },
    readonly restored: EpochRestore | undefined,
  ) {
    this.floor = restored === undefined ? 0 : epochFloorAfter(layout, restored);
    this.restoredBeforeUnit = restored === undefined ? 0 : layout.unitAt(restored.issuedBeforeMs);
  }

  /** Seconds since the layout's epoch on the injected clock. */
  nowSec(): number {
    return secondsSince(this.layout, this.clock.now());
  }

  /**
   * The epoch a reopen takes when `reserved` is the highest epoch handed out
   * (or being journaled): max(reserved + 1, now in seconds, floor), so epochs
   * of a session strictly increase. `undefined` when reserved + 1 would run
   * more than MAX_EPOCH_LEAD_S ahead of the clock (the caller refuses; nothing
   * changes). May exceed MAX_EPOCH (after 2093, or on a floor beyond it).
   */
  next(reserved: number): number | undefined {
    const now = this.nowSec();
    if (reserved + 1 > now + MAX_EPOCH_LEAD_S) return undefined;
    return Math.max(reserved + 1, now, this.floor);
  }

  /**
   * True when (id, epoch) may have been handed out before the restore: the
   * session's ID predates `issuedBeforeMs` and the epoch is below the floor.
   * The journal put back may lack every reopen after the backup, so such an
   * epoch may already be fenced: all of them answer FENCED, and the producer
   * reopens at an epoch ≥ floor. Sessions issued after the restore are not
   * affected.
   */
  fencedByRestore(id: bigint, epoch: number): boolean {
    return epoch < this.floor && this.layout.timeOf(id) < this.restoredBeforeUnit;
  }
}
