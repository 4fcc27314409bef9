/** Every op of the three services: answers, domain errors, ownership, limits. */
import { shardForKey } from '../../src/index.js';
import type { VectorFile } from '../../src/testing.js';
import { bad, err, kase, ok, type StepDef } from './dsl.js';
import { FALSE, TRUE, int, request, str } from './wire.js';

/** A name (of exactly `bytes` bytes of UTF-8 when given) whose shardForKey is in `lo..hi`. */
export function producerIn(lo: number, hi: number, stem: string, bytes?: number): string {
  for (let i = 0; ; i++) {
    const tail = String(i);
    const room = bytes === undefined ? 0 : bytes - Buffer.byteLength(stem, 'utf8') - tail.length;
    if (room < 0) throw new Error(`stem too long for ${bytes} bytes`);
    const name = stem + 'x'.repeat(room) + tail;
    const s = shardForKey(name);
    if (s >= lo && s <= hi) return name;
  }
}

/** A TX/SESSION-layout ID (42|10|12) with the given fields: `time << 22 | shard << 12 | seq`. */
function id42(time: bigint, shard: number, seq = 0): bigint {
  return (time << 22n) | (BigInt(shard) << 12n) | BigInt(seq);
}

const u64 = (n: bigint): string => int(n, 'u64');
/** The largest time field of the TX and SESSION layouts (42 bits). */
const TX_TIME_MAX = 2n ** 42n - 1n;
const SESSION_LAYOUT_NAME = 'session';
const NOT_HOSTED = 100;
/** Far in the future on hosted shard 0: never issued, so unknown. */
const FUTURE_TX = id42(TX_TIME_MAX, 0);
const FUTURE_SESSION = id42(TX_TIME_MAX, 0);

const tsGet = (id: number, shard: number, count: number, after?: string): string =>
  request(id, 'ts.get', [['shard', int(shard)], ['count', int(count)], ...(after === undefined ? [] : ([['after', after]] as Array<[string, string]>))]);

export const tso: VectorFile = {
  title: 'tso',
  description: 'ts.get: ranges, after, ownership, limits.',
  cases: [
    kase('ts.get answers a range of IDs of the asked shard', ['tso'], [
      { send: tsGet(1, 5, 100), expect: ok(1, { first: '$u64', count: 100 }), capture: { a: 'first' } },
      { send: tsGet(2, 5, 1), expect: ok(2, { first: { $gt: 'a' }, count: 1 }), note: 'per shard, every ID is above every earlier one' },
    ]),
    kase('ts.get with count = limits.maxCount answers at most one time unit (8192), never more than asked', ['tso'], [
      { send: tsGet(1, 0, 65536), expect: ok(1, { first: '$u64', count: '$uint' }) },
    ]),
    kase('ts.get answers above an after taken from another shard', ['tso'], [
      { send: tsGet(1, 7, 1), expect: ok(1, { first: '$u64', count: 1 }), capture: { a: 'first' } },
      { send: tsGet(2, 0, 3, '{a}'), expect: ok(2, { first: { $gt: 'a' }, count: 3 }) },
    ]),
    kase('ts.get refuses an after far beyond any shard\'s clock (AFTER_TOO_FAR_AHEAD is a BAD_REQUEST naming after)', ['tso'], [
      { send: tsGet(1, 0, 1, u64(2n ** 64n - 1n)), expect: bad(1, 'after') },
      { send: tsGet(2, 0, 1), expect: ok(2, { first: '$u64', count: 1 }), note: 'the shard keeps serving' },
    ]),
    kase('ts.get for a shard this process does not host gets NOT_OWNER with the hosted ranges', ['tso'], [
      { send: tsGet(1, NOT_HOSTED, 1), expect: err(1, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
      { send: tsGet(2, 1023, 1), expect: err(2, 'NOT_OWNER', { shard: 1023, shards: [[0, 7]] }) },
    ]),
    kase('tso answers UNKNOWN_OP to the ops of other services', ['tso'], [
      { send: request(1, 'tx.begin', [['shard', int(0)]]), expect: err(1, 'UNKNOWN_OP') },
      { send: request(2, 'session.open', [['shard', int(0)]]), expect: err(2, 'UNKNOWN_OP') },
    ]),
    kase('the hello of tso', ['tso'], [], {
      hello: {
        t: 'hello',
        v: 1,
        service: 'tso',
        shards: [[0, 7]],
        layout: { name: 'tso', timeBits: 41, shardBits: 10, seqBits: 13, epochMs: 1735689600000, unitMs: 1 },
        limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
        server: '$string',
      },
    }),
  ],
};

const begin = (id: number, shard = 1, extra: Array<[string, string]> = []): string => request(id, 'tx.begin', [['shard', int(shard)], ...extra]);
const tx = (id: number, op: string, v = '{t}'): string => request(id, op, [['txId', v]]);

export const txcoord: VectorFile = {
  title: 'txcoord',
  description: 'tx.begin, tx.commit, tx.abort, tx.status, tx.heartbeat, tx.resolve: answers, idempotence, TX_* errors, expiry, ownership, OVERLOADED.',
  cases: [
    kase('begin, heartbeat, status ACTIVE, commit, commit again (same commitTs), status COMMITTED', ['txcoord'], [
      { send: begin(1), expect: ok(1, { txId: '$u64', startTs: '$u64', timeoutMs: 10000 }), capture: { t: 'txId' } },
      { send: tx(2, 'tx.heartbeat'), expect: ok(2, { timeoutMs: 10000 }) },
      { send: tx(3, 'tx.status'), expect: ok(3, { status: 'ACTIVE' }) },
      { send: tx(4, 'tx.commit'), expect: ok(4, { commitTs: '$u64' }), capture: { c: 'commitTs' } },
      { send: tx(5, 'tx.commit'), expect: ok(5, { commitTs: { $var: 'c' } }) },
      { send: tx(6, 'tx.status'), expect: ok(6, { status: 'COMMITTED' }) },
      { send: tx(7, 'tx.abort'), expect: err(7, 'TX_COMMITTED') },
      { send: tx(8, 'tx.heartbeat'), expect: err(8, 'TX_COMMITTED') },
    ]),
    kase('begin, abort, abort again ({}), then commit is TX_ABORTED and status ABORTED', ['txcoord'], [
      { send: begin(1, 2, [['timeoutMs', int(5000, 'u16')]]), expect: ok(1, { txId: '$u64', timeoutMs: 5000 }), capture: { t: 'txId' } },
      { send: tx(2, 'tx.abort'), expect: ok(2, {}) },
      { send: tx(3, 'tx.abort'), expect: ok(3, {}) },
      { send: tx(4, 'tx.commit'), expect: err(4, 'TX_ABORTED') },
      { send: tx(5, 'tx.heartbeat'), expect: err(5, 'TX_ABORTED') },
      { send: tx(6, 'tx.status'), expect: ok(6, { status: 'ABORTED' }) },
    ]),
    kase('a transaction past its timeout is aborted: commit is TX_ABORTED', ['txcoord'], [
      { send: begin(1, 4, [['timeoutMs', int(100)]]), expect: ok(1, { txId: '$u64', timeoutMs: 100 }), capture: { t: 'txId' } },
      { send: tx(2, 'tx.commit'), waitMs: 400, expect: err(2, 'TX_ABORTED') },
      { send: tx(3, 'tx.status'), expect: ok(3, { status: 'ABORTED' }) },
    ]),
    kase('a txId never issued on a hosted shard: status UNKNOWN, the others TX_NOT_FOUND', ['txcoord'], [
      { send: tx(1, 'tx.status', u64(FUTURE_TX)), expect: ok(1, { status: 'UNKNOWN' }) },
      { send: tx(2, 'tx.commit', u64(FUTURE_TX)), expect: err(2, 'TX_NOT_FOUND') },
      { send: tx(3, 'tx.abort', u64(FUTURE_TX)), expect: err(3, 'TX_NOT_FOUND') },
      { send: tx(4, 'tx.heartbeat', u64(FUTURE_TX)), expect: err(4, 'TX_NOT_FOUND') },
      { send: tx(5, 'tx.status', int(0)), expect: ok(5, { status: 'UNKNOWN' }), note: 'txId 0: shard 0, older than any retention' },
      { send: tx(6, 'tx.commit', int(0)), expect: err(6, 'TX_NOT_FOUND') },
    ]),
    kase('a txId of a shard this process does not host gets NOT_OWNER naming that shard', ['txcoord'], [
      { send: tx(1, 'tx.commit', u64(id42(TX_TIME_MAX, NOT_HOSTED))), expect: err(1, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
      { send: begin(2, NOT_HOSTED), expect: err(2, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
    ]),
    kase('tx.begin answers above an after', ['txcoord'], [
      { send: begin(1, 5), expect: ok(1, { txId: '$u64' }), capture: { t: 'txId' } },
      { send: begin(2, 0, [['after', '{t}']]), expect: ok(2, { txId: { $gt: 't' } }), capture: { u: 'txId' } },
      { send: tx(3, 'tx.abort'), expect: ok(3, {}) },
      { send: tx(4, 'tx.abort', '{u}'), expect: ok(4, {}) },
    ]),
    kase('tx.begin beyond the open transactions of a shard (setup: --max-open-tx 3) gets OVERLOADED', ['txcoord'], [
      { send: begin(1, 6), expect: ok(1, { txId: '$u64' }), capture: { a: 'txId' } },
      { send: begin(2, 6), expect: ok(2, { txId: '$u64' }), capture: { b: 'txId' } },
      { send: begin(3, 6), expect: ok(3, { txId: '$u64' }), capture: { c: 'txId' } },
      { send: begin(4, 6), expect: err(4, 'OVERLOADED') },
      { send: tx(5, 'tx.abort', '{a}'), expect: ok(5, {}) },
      { send: begin(6, 6), expect: ok(6, { txId: '$u64' }), capture: { d: 'txId' }, note: 'room again after an abort' },
      { send: tx(7, 'tx.abort', '{b}'), expect: ok(7, {}) },
      { send: tx(8, 'tx.abort', '{c}'), expect: ok(8, {}) },
      { send: tx(9, 'tx.abort', '{d}'), expect: ok(9, {}) },
    ]),
    kase('tx.resolve (admin; no tokens here) refuses what is not in doubt, and checks commit and commitTs', ['txcoord'], [
      { send: begin(1, 3), expect: ok(1, { txId: '$u64' }), capture: { t: 'txId' } },
      { send: request(2, 'tx.resolve', [['txId', '{t}'], ['commit', FALSE]]), expect: err(2, 'TX_NOT_IN_DOUBT'), note: 'ACTIVE: decide it with tx.abort' },
      { send: request(3, 'tx.resolve', [['txId', '{t}'], ['commit', TRUE]]), expect: bad(3, 'commitTs'), note: 'a commit needs the commitTs the participants saw' },
      { send: request(4, 'tx.resolve', [['txId', '{t}'], ['commit', int(1)]]), expect: bad(4, 'commit'), note: 'a boolean, not 1' },
      { send: request(5, 'tx.resolve', [['txId', u64(FUTURE_TX)], ['commit', FALSE]]), expect: err(5, 'TX_NOT_IN_DOUBT'), note: 'never issued' },
      { send: tx(6, 'tx.abort'), expect: ok(6, {}) },
    ]),
    kase('txcoord answers UNKNOWN_OP to ts.get', ['txcoord'], [{ send: tsGet(1, 0, 1), expect: err(1, 'UNKNOWN_OP') }]),
    kase('the hello of txcoord', ['txcoord'], [], {
      hello: {
        t: 'hello',
        v: 1,
        service: 'txcoord',
        shards: [[0, 7]],
        layout: { name: 'tx', timeBits: 42, shardBits: 10, seqBits: 12, epochMs: 1735689600000, unitMs: 1 },
        limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
        server: '$string',
      },
    }),
  ],
};

const open = (id: number, shard: number, extra: Array<[string, string]> = []): string => request(id, 'session.open', [['shard', int(shard)], ...extra]);
// An epoch is a literal, or `{name}`: one an earlier step captured (reopens give seconds-based epochs, not epoch + 1).
const sess = (id: number, op: string, epoch: number | string, sid = '{s}'): string =>
  request(id, op, [['sessionId', sid], ['epoch', typeof epoch === 'number' ? int(epoch) : epoch]]);
/** An epoch no session reaches for decades (MAX_EPOCH): "not opened yet". */
const FAR_EPOCH = 0x7fff_ffff;

const NAMED = producerIn(0, 7, 'orders-');
const NAMED_SHARD = shardForKey(NAMED);
const WIDE = producerIn(0, 7, 'é'.repeat(126), 256);
const EXPIRING = producerIn(0, 7, 'expiring-');

function namedSteps(): StepDef[] {
  return [
    { send: open(1, NAMED_SHARD, [['producer', str(NAMED)]]), expect: ok(1, { sessionId: '$u64', epoch: 0, timeoutMs: 30000 }), capture: { s: 'sessionId' } },
    { send: open(2, NAMED_SHARD, [['producer', str(NAMED)]]), expect: ok(2, { sessionId: { $var: 's' }, epoch: '$uint' }), capture: { e1: 'epoch' }, note: 'same producer: same session, a higher epoch (seconds-based)' },
    { send: sess(3, 'session.validate', 0), expect: ok(3, { status: 'FENCED' }) },
    { send: sess(4, 'session.heartbeat', 0), expect: err(4, 'SESSION_FENCED') },
    { send: sess(5, 'session.close', 0), expect: err(5, 'SESSION_FENCED') },
    { send: sess(6, 'session.validate', '{e1}'), expect: ok(6, { status: 'OK' }) },
    { send: sess(7, 'session.validate', FAR_EPOCH), expect: ok(7, { status: 'UNKNOWN' }), note: 'an epoch not yet opened' },
    { send: sess(8, 'session.heartbeat', FAR_EPOCH), expect: err(8, 'SESSION_UNKNOWN') },
    { send: sess(9, 'session.close', '{e1}'), expect: ok(9, {}) },
    { send: open(10, NAMED_SHARD, [['producer', str(NAMED)]]), expect: ok(10, { sessionId: { $var: 's' }, epoch: { $gt: 'e1' } }), capture: { e2: 'epoch' }, note: 'a closed named session reopens at a higher epoch' },
    { send: sess(11, 'session.close', '{e2}'), expect: ok(11, {}) },
  ];
}

export const sessionMgr: VectorFile = {
  title: 'session-mgr',
  description: 'session.open, session.heartbeat, session.close, session.validate: epochs and fencing, SESSION_* errors, expiry, producer names, ownership, OVERLOADED.',
  cases: [
    kase('an anonymous session: open, validate OK, heartbeat, close, close again ({}), then UNKNOWN', ['session-mgr'], [
      { send: open(1, 1), expect: ok(1, { sessionId: '$u64', epoch: 0, timeoutMs: 30000 }), capture: { s: 'sessionId' } },
      { send: sess(2, 'session.validate', 0), expect: ok(2, { status: 'OK' }) },
      { send: sess(3, 'session.heartbeat', 0), expect: ok(3, { timeoutMs: 30000 }) },
      { send: sess(4, 'session.close', 0), expect: ok(4, {}) },
      { send: sess(5, 'session.close', 0), expect: ok(5, {}), note: 'idempotent' },
      { send: sess(6, 'session.validate', 0), expect: ok(6, { status: 'UNKNOWN' }) },
      { send: sess(7, 'session.heartbeat', 0), expect: err(7, 'SESSION_UNKNOWN') },
    ]),
    kase(`a named producer ("${NAMED}", shard ${NAMED_SHARD}): reopening fences the old epoch`, ['session-mgr'], namedSteps()),
    kase('a session past its timeout expires: heartbeat SESSION_EXPIRED, validate EXPIRED; the producer reopens at a higher epoch', ['session-mgr'], [
      { send: open(1, shardForKey(EXPIRING), [['producer', str(EXPIRING)], ['timeoutMs', int(100)]]), expect: ok(1, { epoch: 0, timeoutMs: 100 }), capture: { s: 'sessionId' } },
      { send: sess(2, 'session.heartbeat', 0), waitMs: 400, expect: err(2, 'SESSION_EXPIRED') },
      { send: sess(3, 'session.validate', 0), expect: ok(3, { status: 'EXPIRED' }) },
      { send: open(4, shardForKey(EXPIRING), [['producer', str(EXPIRING)]]), expect: ok(4, { sessionId: { $var: 's' }, epoch: '$uint' }), capture: { e1: 'epoch' } },
      { send: sess(5, 'session.close', '{e1}'), expect: ok(5, {}) },
    ]),
    kase('a producer name is counted in UTF-8 bytes: 256 bytes are accepted, 257 refused', ['session-mgr'], [
      { send: open(1, shardForKey(WIDE), [['producer', str(WIDE)]]), expect: ok(1, { epoch: 0 }), capture: { s: 'sessionId' }, note: `${[...WIDE].length} characters, 256 bytes` },
      { send: sess(2, 'session.close', 0), expect: ok(2, {}) },
      { send: open(3, 0, [['producer', str('é'.repeat(128) + 'x')]]), expect: bad(3, 'producer'), note: '129 characters, 257 bytes' },
      { send: open(4, 0, [['producer', str('')]]), expect: bad(4, 'producer') },
      { send: open(5, 0, [['producer', int(7)]]), expect: bad(5, 'producer') },
    ]),
    kase('a named producer sent to another shard gets NOT_OWNER naming its shard, with the hosted ranges', ['session-mgr'], [
      { send: open(1, (NAMED_SHARD + 1) % 8, [['producer', str(NAMED)]]), expect: err(1, 'NOT_OWNER', { shard: NAMED_SHARD, shards: [[0, 7]] }) },
    ]),
    kase('a sessionId never issued on a hosted shard: validate UNKNOWN, heartbeat and close SESSION_UNKNOWN', ['session-mgr'], [
      { send: sess(1, 'session.validate', 0, u64(FUTURE_SESSION)), expect: ok(1, { status: 'UNKNOWN' }) },
      { send: sess(2, 'session.heartbeat', 0, u64(FUTURE_SESSION)), expect: err(2, 'SESSION_UNKNOWN') },
      { send: sess(3, 'session.close', 0, u64(FUTURE_SESSION)), expect: err(3, 'SESSION_UNKNOWN') },
    ]),
    kase('a sessionId of a shard this process does not host, or an open there, gets NOT_OWNER', ['session-mgr'], [
      { send: sess(1, 'session.validate', 0, u64(id42(TX_TIME_MAX, NOT_HOSTED))), expect: err(1, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
      { send: open(2, NOT_HOSTED), expect: err(2, 'NOT_OWNER', { shard: NOT_HOSTED, shards: [[0, 7]] }) },
    ]),
    kase('session.open answers above an after', ['session-mgr'], [
      { send: open(1, 5), expect: ok(1, { sessionId: '$u64' }), capture: { s: 'sessionId' } },
      { send: open(2, 0, [['after', '{s}']]), expect: ok(2, { sessionId: { $gt: 's' } }), capture: { u: 'sessionId' } },
      { send: sess(3, 'session.close', 0), expect: ok(3, {}) },
      { send: sess(4, 'session.close', 0, '{u}'), expect: ok(4, {}) },
    ]),
    kase('session.open beyond the live sessions of a shard (setup: --max-sessions 3) gets OVERLOADED', ['session-mgr'], [
      { send: open(1, 6), expect: ok(1, { sessionId: '$u64' }), capture: { a: 'sessionId' } },
      { send: open(2, 6), expect: ok(2, { sessionId: '$u64' }), capture: { b: 'sessionId' } },
      { send: open(3, 6), expect: ok(3, { sessionId: '$u64' }), capture: { c: 'sessionId' } },
      { send: open(4, 6), expect: err(4, 'OVERLOADED') },
      { send: sess(5, 'session.close', 0, '{a}'), expect: ok(5, {}) },
      { send: sess(6, 'session.close', 0, '{b}'), expect: ok(6, {}) },
      { send: sess(7, 'session.close', 0, '{c}'), expect: ok(7, {}) },
    ]),
    kase('session-mgr answers UNKNOWN_OP to tx.begin', ['session-mgr'], [{ send: request(1, 'tx.begin', [['shard', int(0)]]), expect: err(1, 'UNKNOWN_OP') }]),
    kase('the hello of session-mgr', ['session-mgr'], [], {
      hello: {
        t: 'hello',
        v: 1,
        service: 'session-mgr',
        shards: [[0, 7]],
        layout: { name: SESSION_LAYOUT_NAME, timeBits: 42, shardBits: 10, seqBits: 12, epochMs: 1735689600000, unitMs: 1 },
        limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
        server: '$string',
      },
    }),
  ],
};
