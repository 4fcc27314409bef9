import { describe, expect, it } from 'vitest';
import { SESSION_MGR, TXCOORD } from '@pharaoh/registry';
import { parseCallArgs, toJson } from '../src/call-command.js';

describe('pharaoh call: fields read by the op spec of the registry', () => {
  it('reads IDs as bigint, integers as numbers, names as strings, and leaves shard to the router', () => {
    expect(parseCallArgs(TXCOORD, 'tx.status', ['txId=18446744073709551615'])).toEqual({ txId: 2n ** 64n - 1n });
    expect(parseCallArgs(SESSION_MGR, 'session.open', ['producer=orders', 'timeoutMs=5000'])).toEqual({ producer: 'orders', timeoutMs: 5000 });
    expect(parseCallArgs(TXCOORD, 'tx.begin', [])).toEqual({});
  });

  it('refuses an unknown op, an unknown field, shard, a missing required field and a bad number, naming what is expected', () => {
    expect(() => parseCallArgs(TXCOORD, 'tx.nope', [])).toThrow(/txcoord has no op "tx.nope": expected one of tx.begin, tx.commit/);
    expect(() => parseCallArgs(TXCOORD, 'tx.status', ['txid=1'])).toThrow(/"txid=1" is not field=value with a field of txId/);
    expect(() => parseCallArgs(TXCOORD, 'tx.begin', ['shard=1'])).toThrow(/with a field of timeoutMs, after/);
    expect(() => parseCallArgs(TXCOORD, 'tx.status', [])).toThrow(/txId=<value> is required/);
    expect(() => parseCallArgs(TXCOORD, 'tx.status', ['txId=-1'])).toThrow(/txId "-1" is not an unsigned 64-bit integer/);
    expect(() => parseCallArgs(SESSION_MGR, 'session.validate', ['sessionId=1', 'epoch=x'])).toThrow(/epoch must be a non-negative integer, got "x"/);
  });

  it('prints IDs as decimal strings and bytes as base64', () => {
    expect(toJson({ txId: 2n ** 63n, timeoutMs: 5 })).toBe('{"txId":"9223372036854775808","timeoutMs":5}');
    expect(toJson({ meta: new Uint8Array([0, 1, 255]) })).toBe('{"meta":"AAH/"}');
  });

  it('reads names, text, base64 bytes, booleans and JSON lists by their kinds', () => {
    const spec = {
      ...TXCOORD,
      ops: {
        'g.x': {
          fields: [['group', 'name', false], ['meta', 'bytes', true], ['force', 'bool', true], ['offsets', { list: [['topic', 'name', false], ['offset', 'uint', false], ['at', 'id', true]], max: 9 }, true]],
          result: {},
          route: { id: 'at' },
          issues: 0,
        },
      },
    } as unknown as typeof TXCOORD;
    expect(parseCallArgs(spec, 'g.x', ['group=orders', 'meta=AAH/', 'force=true', 'offsets=[{"topic":"t","offset":5,"at":"18446744073709551615"}]'])).toEqual({
      group: 'orders',
      meta: new Uint8Array([0, 1, 255]),
      force: true,
      offsets: [{ topic: 't', offset: 5, at: 2n ** 64n - 1n }],
    });
    expect(() => parseCallArgs(spec, 'g.x', ['group=g', 'meta=%%'])).toThrow(/meta must be base64/);
    expect(() => parseCallArgs(spec, 'g.x', ['group=g', 'force=1'])).toThrow(/force must be true or false/);
    expect(() => parseCallArgs(spec, 'g.x', ['group=g', 'offsets={'])).toThrow(/offsets must be a JSON array of objects/);
    expect(() => parseCallArgs(spec, 'g.x', ['group=g', 'offsets=[{"topic":"t","offset":-1}]'])).toThrow(/offsets\[0\]\.offset must be a non-negative integer/);
  });
});
