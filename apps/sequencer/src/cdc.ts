/**
 * `cdc.next {shard, table, count?}` → `{first, count}`: CDC event ids of one
 * table from its shard's generator (CDC layout: 41 ms | 10 shard | 13 seq).
 *
 * Every table belongs to one shard (`shardForKey(table)`, refused elsewhere
 * with NOT_OWNER), and a shard's generator issues each ID above every ID it
 * issued before, also before a crash or a restore (time-based, durable bound):
 * so a table's event ids strictly increase, and they are unique across the
 * fleet (the shard is in their bits). No per-table state: nothing to journal,
 * no limit on tables.
 */
import { shardForKey } from '@pharaoh/protocol';
import type { IdGenerator, IdRange } from '@pharaoh/snowflake';
import { wrongShard } from './errors.js';

/** A call that asks for no count gets one ID. */
export const DEFAULT_CDC_COUNT = 1;

/** The last table checked and its shard: a producer usually sends the same table again and again. */
let lastTable: string | undefined;
let lastTableShard = 0;

/** Throw NOT_OWNER unless `table` belongs to `shard`. */
export function checkTableShard(table: string, shard: number): void {
  if (table !== lastTable) {
    lastTableShard = shardForKey(table);
    lastTable = table;
  }
  if (lastTableShard !== shard) throw wrongShard('table', table, lastTableShard, shard);
}

/**
 * Up to `count` consecutive IDs in one millisecond (fewer when the unit runs
 * out: ask again); synchronously while the generator's durable window has
 * room, like `ts.get`.
 */
export function nextCdcRange(generator: IdGenerator, shard: number, table: string, count = DEFAULT_CDC_COUNT): IdRange | Promise<IdRange> {
  checkTableShard(table, shard);
  return generator.tryNextRangeSync(count) ?? generator.nextRange(count);
}
