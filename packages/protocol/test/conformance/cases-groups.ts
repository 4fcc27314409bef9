/** group-coord: every group.* op, its answers, GROUP_* errors, ownership, limits. */
import { shardForKey } from '../../src/index.js';
import type { VectorFile } from '../../src/testing.js';
import { producerIn } from './cases-services.js';
import { bad, err, kase, ok } from './dsl.js';
import { arr, bin, int, map, request, str } from './wire.js';

const GROUP = producerIn(0, 7, 'orders-consumers-');
const SHARD = shardForKey(GROUP);
const BAD_GROUP = producerIn(0, 7, 'bad-input-group-');
const BAD_SHARD = shardForKey(BAD_GROUP);
const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
/** Built-in metadata: UTF-8 JSON of the subscribed topics and their partition counts. */
const SUB = hex('{"topics":{"t":2}}');

const proto = (name: string, metadataHex: string): string => map([['name', str(name)], ['metadata', bin(metadataHex)]]);
const join = (id: number, member: string, protocols = [proto('range', SUB)], shard = SHARD, group = GROUP): string =>
  request(id, 'group.join', [
    ['shard', int(shard)],
    ['group', str(group)],
    ['member', str(member)],
    ['protocols', arr(protocols)],
    ['sessionTimeoutMs', int(10000)],
    ['rebalanceTimeoutMs', int(10000)],
  ]);
/** `gen` is a literal or `{name}`: a generation an earlier step captured. */
const gen = (g: number | string): string => (typeof g === 'number' ? int(g) : g);
const ref = (id: number, op: string, member: string, g: number | string, extra: Array<[string, string]> = []): string =>
  request(id, op, [['shard', int(SHARD)], ['group', str(GROUP)], ['member', str(member)], ['generation', gen(g)], ...extra]);
const offsets = (items: Array<[string, number, number, string?]>): [string, string] => [
  'offsets',
  arr(items.map(([t, p, o, m]) => map([['topic', str(t)], ['partition', int(p)], ['offset', int(o)], ...(m === undefined ? [] : ([['metadata', str(m)]] as Array<[string, string]>))]))),
];
const A_META = { memberId: 'a', metadata: { $bin: SUB } };

export const groupCoord: VectorFile = {
  title: 'group-coord',
  description:
    'group.join, group.sync, group.heartbeat, group.leave, group.commitOffsets, group.fetchOffsets: generations and fencing, the built-in range assignor, ' +
    'PENDING long polls (setup: --join-wait-ms 200), GROUP_* errors, ownership, limits (setup: --max-members-per-group 2).',
  cases: [
    kase(`a group ("${GROUP}", shard ${SHARD}): join, sync, commit, a second member rebalances, the old generation is fenced`, ['group-coord'], [
      { send: join(1, 'a'), expect: ok(1, { status: 'JOINED', memberId: 'a', generation: '$uint', leader: 'a', protocol: 'range', members: [A_META] }), capture: { g1: 'generation' } },
      { send: ref(2, 'group.sync', 'a', '{g1}'), expect: ok(2, { status: 'ASSIGNED', protocol: 'range', assignment: { $bin: hex('{"t":[0,1]}') } }), note: 'range is built in: the coordinator assigned it' },
      { send: ref(3, 'group.heartbeat', 'a', '{g1}'), expect: ok(3, {}) },
      { send: ref(4, 'group.commitOffsets', 'a', '{g1}', [offsets([['t', 0, 42, 'm']])]), expect: ok(4, {}) },
      { send: request(5, 'group.fetchOffsets', [['shard', int(SHARD)], ['group', str(GROUP)]]), expect: ok(5, { offsets: [{ topic: 't', partition: 0, offset: 42, metadata: 'm' }] }) },
      { send: join(6, 'b'), expect: ok(6, { status: 'PENDING', memberId: 'b', generation: 0, leader: '', protocol: '', members: [] }), note: 'a must join again first: after --join-wait-ms the long poll answers PENDING' },
      { send: ref(7, 'group.heartbeat', 'a', '{g1}'), expect: err(7, 'GROUP_REBALANCE_IN_PROGRESS') },
      { send: ref(8, 'group.commitOffsets', 'a', '{g1}', [offsets([['t', 0, 43]])]), expect: ok(8, {}), note: 'commits are still taken while the group prepares' },
      {
        send: join(9, 'a'),
        expect: ok(9, { status: 'JOINED', memberId: 'a', generation: { $gt: 'g1' }, leader: 'a', protocol: 'range', members: [A_META, { memberId: 'b', metadata: { $bin: SUB } }] }),
        capture: { g2: 'generation' },
      },
      { send: ref(10, 'group.heartbeat', 'a', '{g1}'), expect: err(10, 'GROUP_ILLEGAL_GENERATION'), note: 'the old generation is fenced from every op' },
      { send: ref(11, 'group.commitOffsets', 'a', '{g1}', [offsets([['t', 0, 44]])]), expect: err(11, 'GROUP_ILLEGAL_GENERATION') },
      { send: ref(12, 'group.sync', 'a', '{g1}'), expect: err(12, 'GROUP_ILLEGAL_GENERATION') },
      { send: join(13, 'b'), expect: ok(13, { status: 'JOINED', memberId: 'b', leader: 'a', members: [] }), note: 'b joins again unchanged: the generation that formed, at once' },
      { send: ref(14, 'group.sync', 'b', '{g2}'), expect: ok(14, { status: 'ASSIGNED', assignment: { $bin: hex('{"t":[1]}') } }) },
      { send: ref(15, 'group.sync', 'a', '{g2}'), expect: ok(15, { status: 'ASSIGNED', assignment: { $bin: hex('{"t":[0]}') } }) },
      {
        send: request(16, 'group.fetchOffsets', [['shard', int(SHARD)], ['group', str(GROUP)], ['partitions', arr([map([['topic', str('t')], ['partition', int(0)]]), map([['topic', str('t')], ['partition', int(1)]])])]]),
        expect: ok(16, { offsets: [{ topic: 't', partition: 0, offset: 43, metadata: '' }] }),
        note: 'partitions never committed are absent',
      },
      { send: request(17, 'group.leave', [['shard', int(SHARD)], ['group', str(GROUP)], ['member', str('b')]]), expect: ok(17, {}) },
      { send: ref(18, 'group.heartbeat', 'b', '{g2}'), expect: err(18, 'GROUP_UNKNOWN_MEMBER') },
      { send: request(19, 'group.leave', [['shard', int(SHARD)], ['group', str(GROUP)], ['member', str('b')]]), expect: err(19, 'GROUP_UNKNOWN_MEMBER') },
      { send: join(20, 'c', [proto('other', '')]), expect: err(20, 'GROUP_INCONSISTENT_PROTOCOL'), note: 'a offered only range' },
      { send: join(21, 'c'), expect: ok(21, { status: 'PENDING', memberId: 'c' }) },
      { send: join(22, 'd'), expect: err(22, 'GROUP_FULL'), note: 'a and c: --max-members-per-group 2' },
      { send: request(23, 'group.leave', [['shard', int(SHARD)], ['group', str(GROUP)], ['member', str('c')]]), expect: ok(23, {}) },
      { send: request(24, 'group.leave', [['shard', int(SHARD)], ['group', str(GROUP)], ['member', str('a')]]), expect: ok(24, {}) },
    ]),
    kase('group ops refuse malformed and out-of-range fields with BAD_REQUEST naming the field (list items by index)', ['group-coord'], [
      { send: join(1, 'x', [], BAD_SHARD, BAD_GROUP), expect: bad(1, 'protocols') },
      { send: join(2, 'x', [map([['name', str('range')], ['metadata', str('not bin')]])], BAD_SHARD, BAD_GROUP), expect: bad(2, 'protocols[0].metadata') },
      { send: join(3, 'x', [proto('range', hex('{'))], BAD_SHARD, BAD_GROUP), expect: bad(3, 'protocols[range].metadata'), note: 'built-in metadata must be the documented JSON' },
      { send: join(4, 'x', [proto('p', ''), proto('p', '')], BAD_SHARD, BAD_GROUP), expect: bad(4, 'protocols') },
      {
        send: request(5, 'group.join', [['shard', int(BAD_SHARD)], ['group', str(BAD_GROUP)], ['protocols', arr([proto('p', '')])], ['sessionTimeoutMs', int(500)], ['rebalanceTimeoutMs', int(1000)]]),
        expect: bad(5, 'sessionTimeoutMs'),
        note: 'below the server minimum (--min-session-timeout-ms, 1000)',
      },
      { send: join(6, 'x', [proto('p', '')], BAD_SHARD, ''), expect: bad(6, 'group') },
      {
        send: request(7, 'group.commitOffsets', [['shard', int(BAD_SHARD)], ['group', str(BAD_GROUP)], ['member', str('x')], ['generation', int(1)], offsets([['t', 0, 1], ['t', -1, 1]])]),
        expect: bad(7, 'offsets[1].partition'),
      },
      { send: request(8, 'group.heartbeat', [['shard', int(BAD_SHARD)], ['group', str(BAD_GROUP)], ['member', str('x')], ['generation', int(-1)]]), expect: bad(8, 'generation') },
      { send: request(9, 'group.heartbeat', [['shard', int(BAD_SHARD)], ['group', str(BAD_GROUP)], ['member', str('x')], ['generation', int(1)]]), expect: err(9, 'GROUP_UNKNOWN_MEMBER') },
      { send: request(10, 'group.fetchOffsets', [['shard', int(BAD_SHARD)], ['group', str(BAD_GROUP)]]), expect: ok(10, { offsets: [] }), note: 'an unknown group has no offsets' },
    ]),
    kase('a group sent to another shard gets NOT_OWNER naming its shard, with the hosted ranges', ['group-coord'], [
      { send: join(1, 'x', [proto('p', '')], (SHARD + 1) % 8), expect: err(1, 'NOT_OWNER', { shard: SHARD, shards: [[0, 7]] }) },
      { send: join(2, 'x', [proto('p', '')], 100), expect: err(2, 'NOT_OWNER', { shard: 100, shards: [[0, 7]] }) },
    ]),
    kase('group-coord answers UNKNOWN_OP to session.open', ['group-coord'], [{ send: request(1, 'session.open', [['shard', int(0)]]), expect: err(1, 'UNKNOWN_OP') }]),
    kase('the hello of group-coord', ['group-coord'], [], {
      hello: {
        t: 'hello',
        v: 1,
        service: 'group-coord',
        shards: [[0, 7]],
        layout: { name: 'group', timeBits: 42, shardBits: 10, seqBits: 12, epochMs: 1735689600000, unitMs: 1 },
        limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
        server: '$string',
      },
    }),
  ],
};
