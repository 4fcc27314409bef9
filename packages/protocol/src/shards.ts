import { MAX_SHARD, SHARD_COUNT } from './limits.js';

/** Inclusive shard id ranges, sorted and non-overlapping: `[[0, 255], [512, 512]]`. */
export type ShardRanges = Array<[number, number]>;

/**
 * Parse a shard list like `0-255,512,600-601` into sorted, merged ranges.
 * Throws RangeError naming the bad part: ids outside 0..1023, reversed ranges,
 * empty parts, or duplicates.
 */
export function parseShardRanges(text: string): ShardRanges {
  const parts = text.split(',').map((p) => p.trim());
  const ranges: ShardRanges = [];
  for (const part of parts) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part);
    if (!m) throw new RangeError(`shards: "${part}" is not an id or a range like 0-255 (in "${text}")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > MAX_SHARD || hi > MAX_SHARD) throw new RangeError(`shards: "${part}" is outside 0..${MAX_SHARD}`);
    if (hi < lo) throw new RangeError(`shards: "${part}" is a reversed range`);
    ranges.push([lo, hi]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] <= ranges[i - 1]![1]) {
      throw new RangeError(`shards: ranges overlap near ${ranges[i]![0]} in "${text}"`);
    }
  }
  return mergeRanges(ranges);
}

/** Merge adjacent sorted ranges: [[0,1],[2,3]] → [[0,3]]. */
function mergeRanges(sorted: ShardRanges): ShardRanges {
  const out: ShardRanges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo === last[1] + 1) last[1] = hi;
    else out.push([lo, hi]);
  }
  return out;
}

/** The shard ids in `ranges`, ascending. */
export function expandShardRanges(ranges: ShardRanges): number[] {
  const ids: number[] = [];
  for (const [lo, hi] of ranges) for (let s = lo; s <= hi; s++) ids.push(s);
  return ids;
}

/** Compress a set of shard ids into sorted ranges. */
export function toShardRanges(ids: Iterable<number>): ShardRanges {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  return mergeRanges(sorted.map((s) => [s, s] as [number, number]));
}

/** `[[0,255],[512,512]]` → `0-255,512`. */
export function formatShardRanges(ranges: ShardRanges): string {
  return ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/**
 * The documented key hash: 32-bit FNV-1a over the key's UTF-8 bytes.
 * Stable across versions and languages (it is part of the protocol): the
 * client router and session-mgr must agree on it, or producers could dodge
 * fencing by landing on another shard.
 */
export function keyHash(key: string): number {
  let h = FNV_OFFSET;
  for (const byte of utf8.encode(key)) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/** The shard a key belongs to: `keyHash(key) % 1024`. */
export function shardForKey(key: string): number {
  return keyHash(key) % SHARD_COUNT;
}
