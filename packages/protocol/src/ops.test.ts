import { describe, expect, it } from 'vitest';
import { refusal } from '../test/refusal.js';
import fc from 'fast-check';
import { decodeFrame, encodeFrame } from './codec.js';
import { ERROR_CODES, ProtocolError } from './errors.js';
import { MAX_REQUEST_ID, MAX_SHARD } from './limits.js';
import { WireFloat } from './msgpack/decode.js';
import { REGISTRY } from '@pharaoh/registry';
import { HOST_OPS, isAdminOp, isHostOp, parseArgs as parseWithSpec, parseEnvelope, readResult, type OpSpec } from './ops.js';

/** Every op of every registered service: the field specs the checks below run against. */
const OPS: Record<string, OpSpec> = Object.fromEntries(REGISTRY.services.flatMap((s) => Object.entries(s.ops)));
const OP_FIELDS = Object.fromEntries(Object.entries(OPS).map(([op, spec]) => [op, spec.fields]));
type OpName = string;
const parseArgs = (op: OpName, frame: Record<string, unknown>): Record<string, unknown> => parseWithSpec(op, OPS[op]!, frame);


/** Words of the implementation that must never reach a client. */
const JS_INTERNALS = /bigint|Buffer|Uint8Array|C1Type|undefined|\bobject\b|\[object|TypeError|zod|received|NaN\b(?! *\))/;

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

describe('request envelope', () => {
  it('accepts a map with a uint32 id and a string op', () => {
    expect(parseEnvelope({ id: 9, op: 'ts.get', shard: 1 })).toMatchObject({ id: 9, op: 'ts.get' });
  });

  it('accepts an id written in any integer encoding, 64-bit ones included', () => {
    // {"id": uint64 9, "op": "ping"} and {"id": int64 9, ...}
    for (const idHex of ['cf0000000000000009', 'd30000000000000009', 'ce00000009', '09']) {
      const frame = decodeFrame(hex(`82 a2 6964 ${idHex} a2 6f70 a4 70696e67`));
      expect(parseEnvelope(frame).id).toBe(9);
    }
    expect(parseEnvelope({ id: 9n, op: 'ping' }).id).toBe(9);
  });

  it.each([
    ['a non-map', [1, 2], undefined],
    ['bytes', new Uint8Array(3), undefined],
    ['nil', null, undefined],
    ['a negative id', { id: -1, op: 'ping' }, 'id'],
    ['an id above uint32', { id: MAX_REQUEST_ID + 1, op: 'ping' }, 'id'],
    ['a float id', { id: new WireFloat(1), op: 'ping' }, 'id'],
    ['a string id', { id: '1', op: 'ping' }, 'id'],
    ['a missing op', { id: 1 }, 'op'],
    ['an op that is not a string', { id: 1, op: 7 }, 'op'],
    ['an empty op', { id: 1, op: '' }, 'op'],
    ['an op longer than 64 bytes', { id: 1, op: 'x'.repeat(65) }, 'op'],
    ['an op of 22 three-byte characters (66 bytes)', { id: 1, op: '€'.repeat(22) }, 'op'],
  ])('answers BAD_REQUEST for %s, naming the field', (_name, frame, field) => {
    const e = refusal(() => parseEnvelope(frame));
    expect(e.code).toBe(ERROR_CODES.BAD_REQUEST);
    expect(e.details.field).toBe(field);
    expect(e.message).not.toMatch(JS_INTERNALS);
  });

  it('answers UNSUPPORTED_VERSION for an integer version it does not speak, listing the supported ones', () => {
    for (const v of [0, 2, 99, 2n ** 64n - 1n]) {
      const e = refusal(() => parseEnvelope({ id: 1, op: 'ping', v }));
      expect(e.code).toBe(ERROR_CODES.UNSUPPORTED_VERSION);
      expect(e.details.supported).toEqual([1]);
      expect(e.message).toContain(`protocol version ${v} is not supported`);
    }
  });

  it('accepts v = 1 in every integer encoding, and v absent or nil', () => {
    for (const vHex of ['01', 'cc01', 'cf0000000000000001', 'd30000000000000001', 'c0']) {
      const frame = decodeFrame(hex(`83 a2 6964 01 a2 6f70 a4 70696e67 a1 76 ${vHex}`));
      expect(() => parseEnvelope(frame)).not.toThrow();
    }
    expect(parseEnvelope({ id: 1, op: 'ping' }).v).toBeUndefined();
  });

  it.each([
    ['a string', '1'],
    ['an array', [1]],
    ['a map with a toString key', { toString: 'x' }],
    ['a map with a valueOf key', { valueOf: 1 }],
    ['a float', new WireFloat(1)],
    ['a boolean', true],
    ['binary data', Uint8Array.of(1)],
  ])('answers BAD_REQUEST (field v) for a version that is %s, never an internal error', (_name, v) => {
    const e = refusal(() => parseEnvelope({ id: 1, op: 'ping', v }));
    expect(e.code).toBe(ERROR_CODES.BAD_REQUEST);
    expect(e.details.field).toBe('v');
    expect(e.message).toMatch(/^v must be an integer/);
    expect(e.message).not.toMatch(JS_INTERNALS);
  });

  it('survives a version nested thousands of levels deep (as an in-process caller could pass)', () => {
    let v: unknown = 1;
    for (let i = 0; i < 5000; i++) v = [v];
    expect(refusal(() => parseEnvelope({ id: 1, op: 'ping', v })).code).toBe(ERROR_CODES.BAD_REQUEST);
  });
});

describe('request arguments', () => {
  it('converts ID fields to bigint whatever their encoding', () => {
    expect(parseArgs('tx.commit', { txId: 5n }).txId).toBe(5n);
    expect(parseArgs('tx.commit', { txId: 5 }).txId).toBe(5n);
    expect(parseArgs('ts.get', { shard: 3, count: 10, after: 2n ** 64n - 1n }).after).toBe(2n ** 64n - 1n);
  });

  it('accepts every msgpack integer encoding for every integer field', () => {
    const encodings = (n: number): string[] => {
      const out = [
        `cd${n.toString(16).padStart(4, '0')}`,
        `ce${n.toString(16).padStart(8, '0')}`,
        `cf${n.toString(16).padStart(16, '0')}`,
        `d2${n.toString(16).padStart(8, '0')}`,
        `d3${n.toString(16).padStart(16, '0')}`,
      ];
      if (n < 0x80) out.push(n.toString(16).padStart(2, '0'), `d0${n.toString(16).padStart(2, '0')}`);
      if (n < 0x100) out.push(`cc${n.toString(16).padStart(2, '0')}`);
      if (n < 0x8000) out.push(`d1${n.toString(16).padStart(4, '0')}`);
      return out;
    };
    const cases: Array<[OpName, string, number]> = [
      ['ts.get', 'shard', 9],
      ['ts.get', 'count', 9],
      ['tx.begin', 'timeoutMs', 1000],
      ['session.validate', 'epoch', 9],
      ['tx.commit', 'txId', 9],
    ];
    const base: Record<string, Record<string, unknown>> = {
      'ts.get': { shard: 1, count: 1 },
      'tx.begin': { shard: 1 },
      'session.validate': { sessionId: 1n, epoch: 0 },
      'tx.commit': { txId: 1n },
    };
    for (const [op, field, n] of cases) {
      for (const enc of encodings(n)) {
        const value = decodeFrame(hex(enc));
        const args = parseArgs(op, { ...base[op], [field]: value }) as Record<string, unknown>;
        expect(args[field], `${op} ${field} ${enc}`).toBe(field === 'txId' ? BigInt(n) : n);
      }
    }
  });

  it.each([
    ['ts.get', { shard: -1, count: 1 }, 'shard', 'an integer in 0..1023; got -1'],
    ['ts.get', { shard: MAX_SHARD + 1, count: 1 }, 'shard', 'got 1024'],
    ['ts.get', { shard: 2n ** 63n, count: 1 }, 'shard', 'got 9223372036854775808'],
    ['ts.get', { shard: '1', count: 1 }, 'shard', 'got a string ("1")'],
    ['ts.get', { shard: Uint8Array.of(1), count: 1 }, 'shard', 'got binary data (1 bytes)'],
    ['ts.get', { shard: 1, count: 0 }, 'count', 'an integer in 1..2147483647'],
    ['ts.get', { shard: 1, count: new WireFloat(5) }, 'count', 'got a float (5)'],
    ['ts.get', { shard: 1, count: new WireFloat(NaN) }, 'count', 'got a float (NaN)'],
    ['ts.get', { shard: 1, count: 1, after: -1 }, 'after', 'an unsigned 64-bit integer'],
    ['ts.get', { shard: 1, count: 1, after: 2n ** 64n }, 'after', 'an unsigned 64-bit integer'],
    ['ts.get', { shard: 1, count: 1, after: new WireFloat(1e18) }, 'after', 'got a float'],
    ['ts.get', { shard: 1 }, 'count', 'it is missing'],
    ['ts.get', { shard: null, count: 1 }, 'shard', 'got nil'],
    ['tx.commit', { txId: new WireFloat(1.5) }, 'txId', 'got a float (1.5)'],
    ['tx.commit', {}, 'txId', 'it is missing'],
    ['tx.begin', { shard: 1, timeoutMs: 99 }, 'timeoutMs', 'an integer in 100..3600000'],
    ['session.open', { shard: 1, producer: '' }, 'producer', 'a string of 1..256 bytes of UTF-8'],
    ['session.open', { shard: 1, producer: 'x'.repeat(257) }, 'producer', 'got a string of 257 bytes'],
    ['session.open', { shard: 1, producer: 'é'.repeat(129) }, 'producer', 'got a string of 258 bytes'],
    ['session.open', { shard: 1, producer: { a: 1 } }, 'producer', 'got a map'],
    ['session.validate', { sessionId: 1n, epoch: -1 }, 'epoch', 'an integer in 0..2147483647'],
    ['session.validate', { sessionId: 1n, epoch: [1] }, 'epoch', 'got an array (1 elements)'],
  ] as const)('%s refuses a bad field, naming it and what it must be (case %#)', (op, frame, field, says) => {
    const e = refusal(() => parseArgs(op, frame as Record<string, unknown>));
    expect(e.code).toBe(ERROR_CODES.BAD_REQUEST);
    expect(e.details.field).toBe(field);
    expect(e.message).toContain(`${op}: ${field} must be`);
    expect(e.message).toContain(says);
    expect(e.message).not.toMatch(JS_INTERNALS);
  });

  it('counts producer names in UTF-8 bytes: 128 two-byte characters fit, 256 ASCII fit', () => {
    expect(parseArgs('session.open', { shard: 1, producer: 'é'.repeat(128) }).producer).toBe('é'.repeat(128));
    expect(parseArgs('session.open', { shard: 1, producer: 'x'.repeat(256) }).producer).toHaveLength(256);
  });

  it('treats an optional field sent as nil as absent', () => {
    expect(parseArgs('ts.get', { shard: 1, count: 1, after: null })).toEqual({ shard: 1, count: 1 });
    expect(parseArgs('session.open', { shard: 1, producer: null, timeoutMs: null })).toEqual({ shard: 1 });
  });

  it('refuses wrong types with BAD_REQUEST naming a field, for every op and any value (property)', () => {
    const junk = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      fc.double().map((d) => new WireFloat(d)),
      fc.string(),
      fc.uint8Array({ maxLength: 4 }),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    );
    const ops = Object.keys(OP_FIELDS) as OpName[];
    fc.assert(
      fc.property(fc.constantFrom(...ops), fc.dictionary(fc.constantFrom('shard', 'count', 'after', 'txId', 'sessionId', 'epoch', 'producer', 'timeoutMs'), junk), (op, frame) => {
        try {
          parseArgs(op, frame);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          const pe = e as ProtocolError;
          expect(pe.code).toBe(ERROR_CODES.BAD_REQUEST);
          expect(OP_FIELDS[op]!.map((f) => f[0] as string)).toContain(pe.details.field);
          expect(pe.message).not.toMatch(JS_INTERNALS);
        }
      }),
      { numRuns: 3000, seed: 11 },
    );
  });

  it('serves ping and admin.info from the host for every service, and reserves admin.info to the admin role', () => {
    expect(isHostOp('ping')).toBe(true);
    expect(isHostOp('admin.info')).toBe(true);
    expect(isHostOp('ts.get')).toBe(false);
    for (const s of REGISTRY.services) for (const op of HOST_OPS) expect(op in s.ops).toBe(false);
    expect(isAdminOp('admin.info')).toBe(true);
    for (const op of ['ping', 'ts.get', 'tx.begin', 'session.open']) expect(isAdminOp(op)).toBe(false);
  });

  it('reads answers by their result spec: IDs as bigint whatever their encoding, enums and counts checked', () => {
    const spec = { fields: [], result: { first: 'id', count: 'uint', status: ['OK', 'FENCED'] }, route: 'shard', issues: 'count' } as const satisfies OpSpec;
    expect(readResult('x.get', spec, { first: 5, count: 2, status: 'OK', extra: 1 })).toEqual({ first: 5n, count: 2, status: 'OK' });
    expect(readResult('x.get', spec, { first: 2n ** 64n - 1n, count: 0, status: 'FENCED' }).first).toBe(2n ** 64n - 1n);
    expect(() => readResult('x.get', spec, { first: -1, count: 2, status: 'OK' })).toThrow(/first must be an unsigned 64-bit integer/);
    expect(() => readResult('x.get', spec, { first: 1, count: 1.5, status: 'OK' })).toThrow(/count must be a non-negative integer/);
    expect(() => readResult('x.get', spec, { first: 1, count: 1, status: 'LOST' })).toThrow(/status must be one of OK, FENCED/);
    expect(() => readResult('x.get', spec, [1])).toThrow(/not a map/);
  });

  it('writes requests that decode back to the same arguments', () => {
    const args = parseArgs('ts.get', decodeFrame(encodeFrame({ shard: 3, count: 9, after: 2n ** 60n })) as Record<string, unknown>);
    expect(args).toEqual({ shard: 3, count: 9, after: 2n ** 60n });
  });
});
