import { TSO_LAYOUT } from '@pharaoh/snowflake';

/**
 * Collects every timestamp a test was given and checks the invariant: no ID
 * twice, every ID in the shard it was asked of, and per (observer, shard) each
 * answer above the one before (answers on one connection arrive in the order
 * the shard issued them).
 */
export class Ledger {
  readonly seen = new Set<bigint>();
  readonly violations: string[] = [];
  private readonly last = new Map<string, bigint>();
  readonly maxByShard = new Map<number, bigint>();

  add(observer: string, shard: number, first: bigint, count: number): void {
    if (typeof first !== 'bigint' || !Number.isInteger(count) || count < 1) {
      this.violations.push(`${observer}: malformed range ${String(first)} x ${count}`);
      return;
    }
    if (TSO_LAYOUT.shardOf(first) !== shard) this.violations.push(`${observer}: ${first} is not in shard ${shard}`);
    const key = `${observer}/${shard}`;
    const prev = this.last.get(key);
    if (prev !== undefined && first <= prev) this.violations.push(`${observer}: shard ${shard} went from ${prev} to ${first}`);
    const lastId = first + BigInt(count - 1);
    this.last.set(key, lastId);
    for (let id = first; id <= lastId; id++) {
      if (this.seen.has(id)) this.violations.push(`duplicate ${id}`);
      this.seen.add(id);
    }
    if ((this.maxByShard.get(shard) ?? -1n) < lastId) this.maxByShard.set(shard, lastId);
  }
}
