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

/** offsets.assign with its idempotency token (`producerId`, `seq`), either half left out when undefined. */
const assignTok = (id: number, shard: number, partition: string, count: number, producerId: number | bigint | undefined, seq: number | bigint | undefined): string =>
  request(id, 'offsets.assign', [
    ['shard', int(shard)],
    ['partition', str(partition)],
    ['count', int(count)],
    ...(producerId === undefined ? [] : ([['producerId', int(producerId)]] as Array<[string, string]>)),
    ...(seq === undefined ? [] : ([['seq', int(seq)]] as Array<[string, string]>)),
  ]);

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
/** A partition for the idempotency cases, on a hosted shard. */
const IDEM = producerIn(0, 7, 'idem-p');
const IDEM_SHARD = shardForKey(IDEM);

export const sequencer: VectorFile = {
  title: 'sequencer',
  description: 'cdc.next and offsets.assign: ranges, density, idempotency tokens (same range for a retry, OFFSETS_STALE_SEQ), key ownership (NOT_OWNER), bad keys, counts and tokens, OVERLOADED at --max-partitions.',
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
    kase(`offsets.assign with an idempotency token ("${IDEM}", shard ${IDEM_SHARD}): a retry gets the same range, an older seq OFFSETS_STALE_SEQ, no token works as before`, ['sequencer'], [
      { send: assignTok(1, IDEM_SHARD, IDEM, 5, 9, 1), expect: ok(1, { first: 0, count: 5 }) },
      { send: assignTok(2, IDEM_SHARD, IDEM, 5, 9, 1), expect: ok(2, { first: 0, count: 5 }), note: 'the same token again (a retry whose answer was lost): the same range, nothing new taken' },
      { send: assignTok(3, IDEM_SHARD, IDEM, 2, 9, 2), expect: ok(3, { first: 5, count: 2 }), note: 'the next seq: the next range' },
      { send: assignTok(4, IDEM_SHARD, IDEM, 5, 9, 1), expect: err(4, 'OFFSETS_STALE_SEQ'), note: 'seq 1 is older than seq 2, the last this partition answered for producerId 9' },
      { send: assignTok(5, IDEM_SHARD, IDEM, 3, 9, 2), expect: bad(5, 'count'), note: 'a retry of seq 2 must ask its count (2)' },
      { send: assign(6, IDEM_SHARD, IDEM, 1), expect: ok(6, { first: 7, count: 1 }), note: 'no token: a new range, as before tokens' },
      { send: assignTok(7, IDEM_SHARD, IDEM, 1, 10, 1), expect: ok(7, { first: 8, count: 1 }), note: 'another producer has its own seqs' },
      { send: assignTok(8, IDEM_SHARD, IDEM, 2, 9, 2), expect: ok(8, { first: 5, count: 2 }), note: 'producerId 9 still gets its last range' },
    ]),
    kase('an idempotency token is both producerId and seq, each an integer in 0..2^53-1', ['sequencer'], [
      { send: assignTok(1, IDEM_SHARD, IDEM, 1, 9, undefined), expect: bad(1, 'seq') },
      { send: assignTok(2, IDEM_SHARD, IDEM, 1, undefined, 1), expect: bad(2, 'producerId') },
      { send: assignTok(3, IDEM_SHARD, IDEM, 1, -1, 1), expect: bad(3, 'producerId') },
      { send: assignTok(4, IDEM_SHARD, IDEM, 1, 9, 2n ** 53n), expect: bad(4, 'seq') },
      { send: request(5, 'offsets.assign', [['shard', int(IDEM_SHARD)], ['partition', str(IDEM)], ['count', int(1)], ['producerId', str('p')], ['seq', int(1)]]), expect: bad(5, 'producerId') },
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
