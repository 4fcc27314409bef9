/**
 * Where a shard's next ID must start so that it is greater than an ID the
 * caller has seen (possibly from another shard).
 */
import { checkId, type Layout } from './layout.js';

/**
 * Smallest (unit, seq) of `shard` whose ID is > `after`. IDs order by
 * (time, shard, seq): in after's own unit a higher shard is already greater,
 * the same shard needs a higher seq, and a lower shard needs the next unit.
 * Throws IdRangeError unless `after` is an unsigned 64-bit bigint.
 */
export function minPositionAfter(layout: Layout, shard: number, after: bigint): [unit: number, seq: number] {
  checkId('after', after);
  const time = Number(after >> layout.timeShift);
  const afterShard = Number((after >> layout.shardShift) & layout.shardMask);
  const seq = Number(after & layout.seqMask);
  if (shard > afterShard) return [time, 0];
  if (shard === afterShard && seq < layout.maxSeq) return [time, seq + 1];
  return [time + 1, 0];
}
