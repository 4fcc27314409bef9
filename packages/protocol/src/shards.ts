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

/** One FNV-1a step: `h` is kept as an int32 between steps; the caller takes `>>> 0` at the end. */
function fnvByte(h: number, byte: number): number {
  return Math.imul(h ^ byte, FNV_PRIME);
}

/**
 * The documented key hash: 32-bit FNV-1a over the key's UTF-8 bytes.
 * Stable across versions and languages (it is part of the protocol): the
 * client router and session-mgr must agree on it, or producers could dodge
 * fencing by landing on another shard.
 *
 * The UTF-8 bytes are produced on the fly from the UTF-16 code units, exactly
 * as TextEncoder would (a lone surrogate becomes U+FFFD), without allocating
 * them: a keyed `tso.next()` hashes its key on every call.
 */
export function keyHash(key: string): number {
  let h = FNV_OFFSET;
  const n = key.length;
  for (let i = 0; i < n; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = fnvByte(h, c);
      continue;
    }
    if (c < 0x800) {
      h = fnvByte(fnvByte(h, 0xc0 | (c >> 6)), 0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? key.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        h = fnvByte(h, 0xf0 | (cp >> 18));
        h = fnvByte(h, 0x80 | ((cp >> 12) & 0x3f));
        h = fnvByte(h, 0x80 | ((cp >> 6) & 0x3f));
        h = fnvByte(h, 0x80 | (cp & 0x3f));
        continue;
      }
      c = 0xfffd; // a lone surrogate: TextEncoder writes U+FFFD
    }
    h = fnvByte(h, 0xe0 | (c >> 12));
    h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
    h = fnvByte(h, 0x80 | (c & 0x3f));
  }
  return h >>> 0;
}

/** The shard a key belongs to: `keyHash(key) % 1024`. */
export function shardForKey(key: string): number {
  return keyHash(key) % SHARD_COUNT;
}
