/** The sequencer's ops: cdc.next (CDC event ids) and offsets.assign (dense per-partition offsets). */
import { shardForKey } from '../../src/index.js';
import type { VectorFile } from '../../src/testing.js';
import { producerIn } from './cases-services.js';
import { bad, err, kase, ok } from './dsl.js';
import { int, request, str } from './wire.js';

const cdc = (id: number, shard: number, table: string, count?: number): string =>
  request(id, 'cdc.next', [['shard', int(shard)], ['table', str(table)], ...(count === undefined ? [] : ([['count', int(count)]] as Array<[string, string]>))]);
const assign = (id: number, shard: number, partition: string, count?: number): string =>
  request(id, 'offsets.assign', [['shard', int(shard)], ['partition', str(partition)], ...(count === undefined ? [] : ([['count', int(count)]] as Array<[string, string]>))]);

/** Keys owned by hosted shards (0..7), each with its shard. */
const TABLE = producerIn(0, 7, 'orders-');
const TABLE_SHARD = shardForKey(TABLE);
const PART = producerIn(0, 7, 'events-p');
const PART_SHARD = shardForKey(PART);
/** A partition name of exactly 255 bytes (accepted) on a hosted shard. */
const WIDE = producerIn(0, 7, 'w', 255);
/** Four partitions of shard 6 (setup: --max-partitions 3). */
const CROWD = ['a', 'b', 'c', 'd'].map((s) => producerIn(6, 6, `crowd-${s}-`));
const NOT_HOSTED = 100;

export const sequencer: VectorFile = {
  title: 'sequencer',
  description: 'cdc.next and offsets.assign: ranges, density, key ownership (NOT_OWNER), bad keys and counts, OVERLOADED at --max-partitions.',
  cases: [
    kase(`cdc.next answers a range of CDC ids of the table's shard ("${TABLE}", shard ${TABLE_SHARD}), each above the one before`, ['sequencer'], [
      { send: cdc(1, TABLE_SHARD, TABLE, 100), expect: ok(1, { first: '$u64', count: '$uint' }), capture: { a: 'first' }, note: 'count may be less than asked (one ms holds 8192)' },
      { send: cdc(2, TABLE_SHARD, TABLE), expect: ok(2, { first: { $gt: 'a' }, count: 1 }), note: 'no count: one id' },
    ]),
    kase(`offsets.assign hands out dense offsets per partition ("${PART}", shard ${PART_SHARD}), from 0`, ['sequencer'], [
      { send: assign(1, PART_SHARD, PART, 5), expect: ok(1, { first: 0, count: 5 }) },
      { send: assign(2, PART_SHARD, PART, 1), expect: ok(2, { first: 5, count: 1 }) },
      { send: assign(3, PART_SHARD, PART, 65536), expect: ok(3, { first: 6, count: 65536 }), note: 'exactly the count asked, up to limits.maxCount' },
      { send: assign(4, PART_SHARD, PART, 1), expect: ok(4, { first: 65542, count: 1 }) },
    ]),
    kase('a table or partition sent to another shard gets NOT_OWNER naming its shard, with the hosted ranges', ['sequencer'], [
      { send: cdc(1, (TABLE_SHARD + 1) % 8, TABLE), expect: err(1, 'NOT_OWNER', { shard: TABLE_SHARD, shards: [[0, 7]] }) },
      { send: assign(2, (PART_SHARD + 1) % 8, PART, 1), expect: err(2, 'NOT_OWNER', { shard: PART_SHARD, shards: [[0, 7]] }) },
      { send: cdc(3, NOT_HOSTED, TABLE), expect: err(3, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
    ]),
    kase('a key is counted in UTF-8 bytes: 255 bytes are accepted, 256 refused; an empty or non-string key is refused', ['sequencer'], [
      { send: assign(1, shardForKey(WIDE), WIDE, 1), expect: ok(1, { first: 0, count: 1 }), note: '255 bytes' },
      { send: assign(2, 0, 'é'.repeat(128), 1), expect: bad(2, 'partition'), note: '128 characters, 256 bytes' },
      { send: assign(3, 0, '', 1), expect: bad(3, 'partition') },
      { send: request(4, 'offsets.assign', [['shard', int(0)], ['partition', int(7)], ['count', int(1)]]), expect: bad(4, 'partition') },
      { send: cdc(5, 0, ''), expect: bad(5, 'table') },
      { send: request(6, 'cdc.next', [['shard', int(0)]]), expect: bad(6, 'table') },
    ]),
    kase('offsets.assign needs a count in 1..limits.maxCount; cdc.next\'s count is optional, in the same range', ['sequencer'], [
      { send: request(1, 'offsets.assign', [['shard', int(PART_SHARD)], ['partition', str(PART)]]), expect: bad(1, 'count') },
      { send: assign(2, PART_SHARD, PART, 0), expect: bad(2, 'count') },
      { send: assign(3, PART_SHARD, PART, 65537), expect: bad(3, 'count') },
      { send: cdc(4, TABLE_SHARD, TABLE, 0), expect: bad(4, 'count') },
    ]),
    kase('offsets.assign beyond the partitions of a shard (setup: --max-partitions 3) gets OVERLOADED; known partitions keep their offsets', ['sequencer'], [
      { send: assign(1, 6, CROWD[0]!, 1), expect: ok(1, { first: 0, count: 1 }) },
      { send: assign(2, 6, CROWD[1]!, 1), expect: ok(2, { first: 0, count: 1 }) },
      { send: assign(3, 6, CROWD[2]!, 1), expect: ok(3, { first: 0, count: 1 }) },
      { send: assign(4, 6, CROWD[3]!, 1), expect: err(4, 'OVERLOADED') },
      { send: assign(5, 6, CROWD[0]!, 2), expect: ok(5, { first: 1, count: 2 }) },
    ]),
    kase('sequencer answers UNKNOWN_OP to ts.get', ['sequencer'], [{ send: request(1, 'ts.get', [['shard', int(0)], ['count', int(1)]]), expect: err(1, 'UNKNOWN_OP') }]),
    kase('the hello of sequencer', ['sequencer'], [], {
      hello: {
        t: 'hello',
        v: 1,
        service: 'sequencer',
        shards: [[0, 7]],
        layout: { name: 'cdc', timeBits: 41, shardBits: 10, seqBits: 13, epochMs: 1735689600000, unitMs: 1 },
        limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
        server: '$string',
      },
    }),
  ],
};
