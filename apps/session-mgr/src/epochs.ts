/**
 * The epoch rule of session-mgr: epochs are time-based with a bounded lead,
 * so that restoring an older copy of a shard's journal cannot roll them back
 * (docs/DESIGN.md §9). The rule itself (max(previous + 1, seconds since the
 * SESSION layout's epoch, the restore floor), at most MAX_EPOCH_LEAD_S ahead
 * of the clock) is @pharaoh/server's TimeEpochs, shared with group-coord's
 * generations; this file adds what is particular to sessions: the int32
 * limit and which session IDs a restore fences.
 *
 * Pure: the clock, the layout and the restore facts are injected.
 */
import { MAX_EPOCH_LEAD_S, TimeEpochs, epochFloorAfter, secondsSince, type RestoreMark } from '@pharaoh/server';
import type { Layout } from '@pharaoh/snowflake';

export { MAX_EPOCH_LEAD_S, epochFloorAfter, secondsSince };

/**
 * The largest epoch the protocol carries (int32). Epochs count seconds since
 * the SESSION layout's epoch (2025-01-01T00:00:00Z), and 2^31 − 1 seconds
 * from then reach 2093-01-19: until then the clock alone never pushes an
 * epoch past it. Past it a producer moves to a new session.
 */
export const MAX_EPOCH = 0x7fff_ffff;

/** What the rule needs of the SESSION layout: its epoch (epochs count seconds from it) and the time field of a sessionId. */
export type EpochLayout = Pick<Layout, 'epochMs' | 'timeOf' | 'unitAt'>;

/** The restore facts the rule uses (a `RestoreMark` of @pharaoh/server fits). */
export type EpochRestore = Pick<RestoreMark, 'restoredAt' | 'issuedBeforeMs'>;

export class SessionEpochs extends TimeEpochs {
  /** Session IDs whose time field is below this unit were issued before the restore (none when not restored). */
  private readonly restoredBeforeUnit: number;

  constructor(
    private readonly sessionLayout: EpochLayout,
    clock: { now(): number },
    readonly restored: EpochRestore | undefined,
  ) {
    super(sessionLayout, clock, restored);
    this.restoredBeforeUnit = restored === undefined ? 0 : sessionLayout.unitAt(restored.issuedBeforeMs);
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
    return epoch < this.floor && this.sessionLayout.timeOf(id) < this.restoredBeforeUnit;
  }
}
