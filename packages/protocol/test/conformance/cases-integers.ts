/**
 * Every integer field in every msgpack integer encoding it fits (accepted),
 * and floats, NaN, ±Infinity, out-of-range integers and other types (refused
 * with BAD_REQUEST naming the field).
 */
import type { VectorCase, VectorFile } from '../../src/testing.js';
import { bad, kase, ok, type StepDef } from './dsl.js';
import { arr, bin, f32, f64, formsOf, int, map, NIL, request, str, TRUE } from './wire.js';

/** Hex values an integer field in [min, max] must refuse, with a note each. */
function refusedFor(min: number, max: number): Array<[string, string]> {
  return [
    [f64(min + 1), `the float ${min + 1}.0`],
    [f32(min + 1), `the float32 ${min + 1}.0`],
    [f64(NaN), 'NaN'],
    [f64(Infinity), 'Infinity'],
    [min > 0 ? int(min - 1) : int(-1), `${min > 0 ? min - 1 : -1}: below the range`],
    [int(max + 1, max + 1 < 2 ** 32 ? 'u32' : 'u64'), `${max + 1}: above the range`],
    [int(2n ** 64n - 1n, 'u64'), '2^64 - 1'],
    [int(-(2n ** 63n), 'i64'), '-2^63'],
    [str(String(min + 1)), 'a string of digits'],
    [TRUE, 'a boolean'],
    [bin('01'), 'binary'],
    [arr([int(min + 1)]), 'an array'],
    [map([]), 'a map'],
  ];
}

function refusals(title: string, service: string, field: string, frame: (id: number, valueHex: string) => string, min: number, max: number): VectorCase {
  const steps: StepDef[] = refusedFor(min, max).map(([hex, note], i) => ({ send: frame(i + 1, hex), expect: bad(i + 1, field), note }));
  return kase(title, [service], steps);
}

const tsGet = (shard: string, count: string, extra: Array<[string, string]> = []) => (id: number): string =>
  request(id, 'ts.get', [['shard', shard], ['count', count], ...extra]);

export const integers: VectorFile = {
  title: 'Integer fields',
  description:
    'Every integer field accepts every msgpack integer encoding its value fits (fixint, uint8..uint64, int8..int64) and ' +
    'refuses floats (even 5.0), NaN, ±Infinity, out-of-range integers and other types with BAD_REQUEST naming the field.',
  cases: [
    kase('ts.get: shard 3 in every integer encoding', ['tso'], formsOf(3).map((form, i) => ({
      send: tsGet(int(3, form), int(1))(i + 1),
      expect: ok(i + 1, { first: '$u64', count: 1 }),
      note: form,
    }))),
    kase('ts.get: count 9 in every integer encoding', ['tso'], formsOf(9).map((form, i) => ({
      send: tsGet(int(1), int(9, form))(i + 1),
      expect: ok(i + 1, { first: '$u64', count: 9 }),
      note: form,
    }))),
    kase('ts.get: after 1 in every integer encoding (an ID written small is fine)', ['tso'], formsOf(1).map((form, i) => ({
      send: tsGet(int(1), int(1), [['after', int(1, form)]])(i + 1),
      expect: ok(i + 1, { first: '$u64', count: 1 }),
      note: form,
    }))),
    kase('ts.get: an after taken from an answer, sent back as uint64 and as int64', ['tso'], [
      { send: tsGet(int(2), int(1))(1), expect: ok(1, { first: '$u64', count: 1 }), capture: { a: 'first' } },
      { send: tsGet(int(2), int(1), [['after', '{a}']])(2), expect: ok(2, { first: { $gt: 'a' }, count: 1 }) },
      { send: tsGet(int(2), int(1), [['after', '{a:i64}']])(3), expect: ok(3, { first: { $gt: 'a' }, count: 1 }) },
    ]),
    refusals('ts.get: shard refuses floats, out-of-range integers and other types', 'tso', 'shard', (id, v) => tsGet(v, int(1))(id), 0, 1023),
    refusals('ts.get: count refuses floats, out-of-range integers and other types', 'tso', 'count', (id, v) => tsGet(int(1), v)(id), 1, 2147483647),
    kase('ts.get: count above limits.maxCount (65536) is refused, naming count', ['tso'], [{ send: tsGet(int(1), int(65537, 'u32'))(1), expect: bad(1, 'count') }]),
    kase('ts.get: after refuses floats, negative integers and other types; nil means absent', ['tso'], [
      { send: tsGet(int(1), int(1), [['after', f64(1)]])(1), expect: bad(1, 'after') },
      { send: tsGet(int(1), int(1), [['after', int(-1)]])(2), expect: bad(2, 'after') },
      { send: tsGet(int(1), int(1), [['after', int(-(2n ** 63n), 'i64')]])(3), expect: bad(3, 'after') },
      { send: tsGet(int(1), int(1), [['after', str('1')]])(4), expect: bad(4, 'after') },
      { send: tsGet(int(1), int(1), [['after', NIL]])(5), expect: ok(5, { first: '$u64', count: 1 }) },
    ]),
    kase('ts.get: a required field missing or nil is refused, naming it', ['tso'], [
      { send: request(1, 'ts.get', [['count', int(1)]]), expect: bad(1, 'shard') },
      { send: request(2, 'ts.get', [['shard', int(1)]]), expect: bad(2, 'count') },
      { send: request(3, 'ts.get', [['shard', NIL], ['count', int(1)]]), expect: bad(3, 'shard') },
    ]),
    kase('tx.begin: timeoutMs 1000 and shard 3 in every integer encoding', ['txcoord'], [
      ...formsOf(1000).flatMap((form, i): StepDef[] => [
        { send: request(2 * i + 1, 'tx.begin', [['shard', int(3)], ['timeoutMs', int(1000, form)]]), expect: ok(2 * i + 1, { txId: '$u64', startTs: '$u64', timeoutMs: 1000 }), capture: { t: 'txId' }, note: form },
        { send: request(2 * i + 2, 'tx.abort', [['txId', '{t}']]), expect: ok(2 * i + 2, {}) },
      ]),
      ...formsOf(3).flatMap((form, i): StepDef[] => [
        { send: request(100 + 2 * i, 'tx.begin', [['shard', int(3, form)]]), expect: ok(100 + 2 * i, { txId: '$u64', timeoutMs: 10000 }), capture: { t: 'txId' }, note: form },
        { send: request(101 + 2 * i, 'tx.abort', [['txId', '{t}']]), expect: ok(101 + 2 * i, {}) },
      ]),
    ]),
    refusals('tx.begin: timeoutMs refuses floats, out-of-range integers and other types', 'txcoord', 'timeoutMs', (id, v) => request(id, 'tx.begin', [['shard', int(3)], ['timeoutMs', v]]), 100, 3600000),
    kase('tx.commit: a txId sent as int64 is the same txId', ['txcoord'], [
      { send: request(1, 'tx.begin', [['shard', int(3)]]), expect: ok(1, { txId: '$u64' }), capture: { t: 'txId' } },
      { send: request(2, 'tx.commit', [['txId', '{t:i64}']]), expect: ok(2, { commitTs: '$u64' }) },
    ]),
    kase('tx.commit: txId refuses floats, negative integers, other types, and its absence', ['txcoord'], [
      { send: request(1, 'tx.commit', [['txId', f64(1)]]), expect: bad(1, 'txId') },
      { send: request(2, 'tx.commit', [['txId', int(-1)]]), expect: bad(2, 'txId') },
      { send: request(3, 'tx.commit', [['txId', str('1')]]), expect: bad(3, 'txId') },
      { send: request(4, 'tx.commit', [['txId', bin('0000000000000001')]]), expect: bad(4, 'txId') },
      { send: request(5, 'tx.commit'), expect: bad(5, 'txId') },
    ]),
    kase('session.validate: epoch 0 in every integer encoding, sessionId as uint64 and int64', ['session-mgr'], [
      { send: request(1, 'session.open', [['shard', int(3)]]), expect: ok(1, { sessionId: '$u64', epoch: 0 }), capture: { s: 'sessionId' } },
      ...formsOf(0).map((form, i): StepDef => ({
        send: request(10 + i, 'session.validate', [['sessionId', '{s}'], ['epoch', int(0, form)]]),
        expect: ok(10 + i, { status: 'OK' }),
        note: form,
      })),
      { send: request(30, 'session.validate', [['sessionId', '{s:i64}'], ['epoch', int(0)]]), expect: ok(30, { status: 'OK' }) },
      { send: request(31, 'session.close', [['sessionId', '{s}'], ['epoch', int(0)]]), expect: ok(31, {}) },
    ]),
    refusals('session.validate: epoch refuses floats, out-of-range integers and other types', 'session-mgr', 'epoch', (id, v) => request(id, 'session.validate', [['sessionId', int(1)], ['epoch', v]]), 0, 2147483647),
    kase('session.heartbeat: sessionId refuses a float; epoch is required', ['session-mgr'], [
      { send: request(1, 'session.heartbeat', [['sessionId', f64(1)], ['epoch', int(0)]]), expect: bad(1, 'sessionId') },
      { send: request(2, 'session.heartbeat', [['sessionId', int(1)]]), expect: bad(2, 'epoch') },
    ]),
  ],
};
