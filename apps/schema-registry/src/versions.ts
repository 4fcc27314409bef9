/**
 * The version rule of schema-registry: a subject's versions count 1, 2, 3, …
 * until the shard is restored from a backup; from then on they continue
 * above a time-based floor, so a version number handed out before the loss
 * (and lost with it) never comes to mean a different schema (docs/DESIGN.md
 * §9). A plain counter lives only on disk: restoring an older journal would
 * hand version 4 out again, for whatever schema is registered next.
 *
 * Why the floor is above every lost version:
 * - on a shard never restored before, versions are consecutive from 1 and a
 *   subject holds at most MAX_VERSIONS_LIMIT of them, and the floor is above
 *   that limit;
 * - on a shard restored before, a version is either that restore's floor or
 *   at most MAX_VERSION_LEAD_S ahead of the clock that handed it out (checked
 *   below), and the new floor is the new restore instant in seconds since the
 *   SCHEMA layout's epoch + MAX_VERSION_LEAD_S + 1: above both, as long as the
 *   two restores are at least a second apart (a restore, a start, a
 *   registration and another restore within one second are not possible with
 *   `pharaoh restore`).
 *
 * Pure: the clock, the layout and the restore facts are injected.
 */
import type { RestoreMark } from '@pharaoh/server';
import type { Layout } from '@pharaoh/snowflake';

/** The most versions a subject may ever hold (the bound of `--max-versions`); a restore floor is always above it. */
export const MAX_VERSIONS_LIMIT = 10_000;

/**
 * How far (seconds) a restored shard's versions may run ahead of the clock:
 * after a restore a subject's first new version takes the floor (the restore
 * instant + this lead + 1), and each further one needs the clock to have
 * moved on by a second or the subject to be behind it. An hour, like
 * session-mgr's epochs: a floor one hour ahead, and room for 3,600 versions
 * of one subject registered faster than one a second.
 */
export const MAX_VERSION_LEAD_S = 3_600;

const MS_PER_S = 1_000;

/** The restore facts the rule uses (a `RestoreMark` of @pharaoh/server fits). */
export type VersionRestore = Pick<RestoreMark, 'restoredAt' | 'issuedBeforeMs'>;

/** The version floor of a shard restored at `restoredAt`: above every version handed out before the loss. */
export function versionFloorAfter(layout: Pick<Layout, 'epochMs'>, restored: Pick<RestoreMark, 'restoredAt'>): number {
  const sec = Math.floor((restored.restoredAt - layout.epochMs) / MS_PER_S);
  return Math.max(sec + MAX_VERSION_LEAD_S + 1, MAX_VERSIONS_LIMIT + 1);
}

export class SubjectVersions {
  /** Every version handed out from now on is at least this; 0 on a shard that was never restored. */
  readonly floor: number;

  constructor(
    private readonly layout: Pick<Layout, 'epochMs'>,
    private readonly clock: { now(): number },
    readonly restored: VersionRestore | undefined,
  ) {
    this.floor = restored === undefined ? 0 : versionFloorAfter(layout, restored);
  }

  /** Seconds since the layout's epoch on the injected clock. */
  nowSec(): number {
    return Math.floor((this.clock.now() - this.layout.epochMs) / MS_PER_S);
  }

  /**
   * The version that follows `latest` (0 for a new subject): latest + 1, or
   * the floor if that is higher. `undefined` on a restored shard when the
   * answer is above the floor and more than MAX_VERSION_LEAD_S ahead of the
   * clock (the caller refuses; nothing changes).
   */
  next(latest: number): number | undefined {
    const v = Math.max(latest + 1, this.floor);
    if (this.floor > 0 && v > this.floor && v > this.nowSec() + MAX_VERSION_LEAD_S) return undefined;
    return v;
  }
}
