import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ProtocolError } from './errors.js';
import { MAX_REQUEST_ID, MAX_SHARD } from './limits.js';
import { isAdminOp, isServiceOp, parseArgs, parseEnvelope, SERVICE_OPS } from './ops.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('request envelope', () => {
  it('accepts a map with a uint32 id and a string op', () => {
    expect(parseEnvelope({ id: 9, op: 'ts.get', shard: 1 })).toMatchObject({ id: 9, op: 'ts.get' });
  });

  it.each([
    ['a non-map', [1, 2]],
    ['bytes', new Uint8Array(3)],
    ['null', null],
    ['a negative id', { id: -1, op: 'ping' }],
    ['an id above uint32', { id: MAX_REQUEST_ID + 1, op: 'ping' }],
    ['a fractional id', { id: 1.5, op: 'ping' }],
    ['a bigint id', { id: 1n, op: 'ping' }],
    ['a missing op', { id: 1 }],
    ['an op that is not a string', { id: 1, op: 7 }],
  ])('answers BAD_REQUEST for %s', (_name, frame) => {
    expect(codeOf(() => parseEnvelope(frame))).toBe(ERROR_CODES.BAD_REQUEST);
  });

  it('answers UNSUPPORTED_VERSION for an unknown protocol version and lists the supported ones', () => {
    try {
      parseEnvelope({ id: 1, op: 'ping', v: 99 });
      expect.unreachable();
    } catch (e) {
      expect((e as ProtocolError).code).toBe(ERROR_CODES.UNSUPPORTED_VERSION);
      expect((e as ProtocolError).details.supported).toEqual([1]);
    }
  });
});

describe('request arguments', () => {
  it('converts ID fields to bigint whether sent as int64 or as a small integer', () => {
    expect(parseArgs('tx.commit', { txId: 5n }).txId).toBe(5n);
    expect(parseArgs('tx.commit', { txId: 5 }).txId).toBe(5n);
    expect(parseArgs('ts.get', { shard: 3, count: 10, after: 2n ** 64n - 1n }).after).toBe(2n ** 64n - 1n);
  });

  it.each([
    ['ts.get', { shard: -1, count: 1 }, 'shard'],
    ['ts.get', { shard: MAX_SHARD + 1, count: 1 }, 'shard'],
    ['ts.get', { shard: '1', count: 1 }, 'shard'],
    ['ts.get', { shard: 1, count: 0 }, 'count'],
    ['ts.get', { shard: 1, count: 1e12 }, 'count'],
    ['ts.get', { shard: 1, count: 1, after: -1n }, 'after'],
    ['ts.get', { shard: 1, count: 1, after: 2n ** 64n }, 'after'],
    ['tx.commit', { txId: 1.5 }, 'txId'],
    ['tx.commit', {}, 'txId'],
    ['session.open', { shard: 1, producer: '' }, 'producer'],
    ['session.open', { shard: 1, producer: 'x'.repeat(10_000) }, 'producer'],
    ['session.validate', { sessionId: 1n, epoch: -1 }, 'epoch'],
  ] as const)('%s refuses a frame with a bad field (case %#)', (op, frame, field) => {
    try {
      parseArgs(op, frame as Record<string, unknown>);
      expect.unreachable();
    } catch (e) {
      expect((e as ProtocolError).code).toBe(ERROR_CODES.BAD_REQUEST);
      expect((e as ProtocolError).details.field).toBe(field);
    }
  });

  it('knows which ops each service answers', () => {
    expect(isServiceOp('tso', 'ts.get')).toBe(true);
    expect(isServiceOp('tso', 'tx.begin')).toBe(false);
    expect(isServiceOp('txcoord', 'tx.commit')).toBe(true);
    expect(isServiceOp('session-mgr', 'session.validate')).toBe(true);
    for (const ops of Object.values(SERVICE_OPS)) expect(ops).toContain('ping');
  });

  it('reserves admin.info to the admin role and offers it on every service', () => {
    expect(isAdminOp('admin.info')).toBe(true);
    for (const op of ['ping', 'ts.get', 'tx.begin', 'session.open']) expect(isAdminOp(op)).toBe(false);
    for (const ops of Object.values(SERVICE_OPS)) expect(ops).toContain('admin.info');
  });
});
