/**
 * A latency histogram for benchmarks that make millions of calls: recording
 * one value is a few integer operations into a preallocated array, so the
 * measuring loop neither allocates nor grows an array of samples (which, at
 * millions of calls per second, costs the process it measures tens of MB and
 * garbage-collector time of its own).
 *
 * Buckets are log-linear in microseconds: 1 µs wide below 128 µs, then 64 per
 * power of two (each at most 1/64 ≈ 1.6 % wide) up to 2^31 µs. A percentile is
 * reported as the middle of its bucket.
 */

/** Values below this many µs get 1-µs buckets. */
const LINEAR = 128;
/** Sub-buckets per power of two above LINEAR (log2 = SUB_BITS). */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** 2^7 .. 2^31 µs: 25 powers of two. */
const POWERS = 31 - 7 + 1;

export class LatencyHistogram {
  private readonly counts = new Float64Array(LINEAR + POWERS * SUB);
  count = 0;

  /** Record one latency in µs (negative or NaN values count as 0, values past 2^31 µs as 2^31 µs). */
  record(us: number): void {
    this.counts[bucketOf(us)]!++;
    this.count++;
  }

  /** Record a latency given in milliseconds. */
  recordMs(ms: number): void {
    this.record(ms * 1000);
  }

  /** Add another histogram's counts to this one. */
  add(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
  }

  /** The p-th percentile (0..100) in µs, nearest rank, as the middle of its bucket; NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return middleOf(i);
    }
    return middleOf(this.counts.length - 1);
  }
}

function bucketOf(us: number): number {
  const v = us > 0 ? (us < 2 ** 31 ? Math.floor(us) : 2 ** 31 - 1) : 0;
  if (v < LINEAR) return v;
  const e = 31 - Math.clz32(v); // 7..30
  const sub = (v >>> (e - SUB_BITS)) - SUB; // 0..63
  return LINEAR + (e - 7) * SUB + sub;
}

function middleOf(i: number): number {
  if (i < LINEAR) return i + 0.5;
  const e = 7 + Math.floor((i - LINEAR) / SUB);
  const sub = (i - LINEAR) % SUB;
  const width = 2 ** (e - SUB_BITS);
  return (SUB + sub) * width + width / 2;
}
