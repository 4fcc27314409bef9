/**
 * The time rule that makes dense offsets safe after a restore
 * (docs/DESIGN.md §9). A dense counter lives only on disk, so a shard put back
 * from an older backup cannot know how far each partition got after it. The
 * rule bounds that from the clock instead: a partition's offsets never run
 * past `ceilingAt(now)` = OFFSET_RATE_PER_MS × (now + OFFSET_LEAD_MS − layout
 * epoch), so everything the lost process handed out lies below
 * `ceilingAt(issuedBeforeMs)` of the restore mark, and a restored shard starts
 * every partition there: one documented jump per restore, dense before and after.
 *
 * Pure: the clock reading and the restore facts are passed in.
 */
import type { RestoreMark } from '@pharaoh/server';

/**
 * Offsets a partition may take per millisecond over the long run (1 M/s):
 * far above what one log partition appends (Kafka partitions top out around
 * a few hundred thousand records a second), and small enough that the
 * ceiling reaches 2^53 only in the year 2310.
 */
export const OFFSET_RATE_PER_MS = 1_000;
/**
 * How far (ms) a partition may borrow from the future: a burst of
 * 3.6 × 10^9 offsets above the long-run rate. Only a restored partition, which
 * starts at the ceiling, ever meets it; every other partition starts at 0,
 * some 6 × 10^13 below it.
 */
export const OFFSET_LEAD_MS = 3_600_000;
/** The largest offset end the wire carries exactly (`first` and `count` are `uint`: 0..2^53 − 1). */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/** The restore facts the rule reads (a `RestoreMark` of @pharaoh/server fits). */
export type OffsetRestore = Pick<RestoreMark, 'issuedBeforeMs'>;

/**
 * Offsets handed out up to the instant `ms` (ms since 1970) end at or below
 * this: OFFSET_RATE_PER_MS per ms from `epochMs` (the CDC layout's epoch,
 * 2025-01-01), plus the lead. Never above MAX_OFFSET; 0 before the epoch.
 */
export function ceilingAt(epochMs: number, ms: number): number {
  const c = Math.floor(ms + OFFSET_LEAD_MS - epochMs) * OFFSET_RATE_PER_MS;
  return Math.min(MAX_OFFSET, Math.max(0, c));
}

/**
 * Where every partition of a restored shard resumes: above every offset the
 * lost process could have handed out, since it assigned each below
 * `ceilingAt(t)` at a time t before the loss, and the loss (plus the bound
 * window, the lead and the clock skew) lies before `issuedBeforeMs`.
 * 0 on a shard that was never restored.
 */
export function restoreFloor(epochMs: number, restored: OffsetRestore | undefined): number {
  return restored === undefined ? 0 : ceilingAt(epochMs, restored.issuedBeforeMs);
}
