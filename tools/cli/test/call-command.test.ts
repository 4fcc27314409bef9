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

  it('prints IDs as decimal strings', () => {
    expect(toJson({ txId: 2n ** 63n, timeoutMs: 5 })).toBe('{"txId":"9223372036854775808","timeoutMs":5}');
  });
});
