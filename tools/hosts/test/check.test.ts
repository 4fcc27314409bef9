import { describe, expect, it } from 'vitest';
import { checkAll, checkEpochs, checkOrder, HANG_SLACK_MS } from '../src/check.js';
import type { CallEvent, WorkerEvent } from '../src/events.js';
import { longestGap } from '../src/measure.js';

const call = (l: string, t0: number, t1: number, id?: bigint, code?: string): CallEvent =>
  id !== undefined ? { e: 'call', l, t0, t1, ok: true, id: id.toString(), shard: 0 } : { e: 'call', l, t0, t1, ok: false, code: code ?? 'TIMEOUT', msg: 'x' };

describe('the run-wide checks', () => {
  it('pass a history of unique IDs that grow across sequential calls', () => {
    const events: WorkerEvent[] = [call('free', 0, 1, 10n), call('key0', 2, 3, 20n), call('free', 4, 5, 30n), call('tx', 0, 5, 10n)];
    expect(checkAll(new Map([['c0', events]]), 1_000).violations).toEqual([]);
  });

  it('find an ID handed to two clients, per service only', () => {
    const r = checkAll(new Map([['c0', [call('free', 0, 1, 10n)]], ['c1', [call('free', 0, 1, 10n), call('tx', 2, 3, 10n)]]]), 1_000);
    expect(r.violations.map((v) => v.kind)).toEqual(['duplicate']);
  });

  it('find a call that got an ID not above one its client had already received', () => {
    const v = checkOrder('c0', [call('free', 0, 1, 50n), call('key1', 2, 3, 40n)]);
    expect(v).toHaveLength(1);
    expect(v[0]!.kind).toBe('order');
  });

  it('do not compare concurrent calls (the later answer may be smaller)', () => {
    expect(checkOrder('c0', [call('free', 0, 5, 50n), call('key1', 1, 3, 40n)])).toEqual([]);
  });

  it('find a call that outlived its budget, and an error without a code', () => {
    const events: WorkerEvent[] = [call('free', 0, 1_000 + HANG_SLACK_MS + 1, undefined), { e: 'call', l: 'free', t0: 0, t1: 1, ok: false, code: 'UNTYPED:Error', msg: 'boom' }];
    expect(checkAll(new Map([['c0', events]]), 1_000).violations.map((v) => v.kind).sort()).toEqual(['hang', 'untyped']);
  });

  it('find a well-formed call refused with BAD_REQUEST, once per loop and code, with the count and the first message', () => {
    const bad = (t: number, msg: string): CallEvent => ({ e: 'call', l: 'tx', t0: t, t1: t + 1, ok: false, code: 'BAD_REQUEST', msg });
    const events: WorkerEvent[] = [bad(0, 'after is too far ahead: 21000 units'), call('tx', 2, 3, undefined, 'TIMEOUT'), bad(4, 'again')];
    expect(checkAll(new Map([['c1', events]]), 1_000).violations).toEqual([
      { kind: 'refused', client: 'c1', detail: 'tx: BAD_REQUEST ×2, the first at t=1: after is too far ahead: 21000 units' },
    ]);
  });

  it('find a producer opened again whose epoch did not go up', () => {
    const open = (t: number, epoch: number): CallEvent => ({ e: 'call', l: 'prod', t0: t, t1: t + 1, ok: true, producer: 'p', epoch });
    expect(checkEpochs('c0', [open(0, 1), open(2, 2), open(4, 3)])).toEqual([]);
    expect(checkEpochs('c0', [open(0, 1), open(2, 3), open(4, 3)]).map((v) => v.kind)).toEqual(['epoch']);
  });

  it('report what a worker found reading commits back', () => {
    const r = checkAll(new Map([['c0', [{ e: 'verify', checked: 3, violations: ['lost-commit: tx 1 reads ABORTED'] } as WorkerEvent]]]), 1_000);
    expect(r.violations).toEqual([{ kind: 'lost-commit', client: 'c0', detail: 'lost-commit: tx 1 reads ABORTED' }]);
  });
});

describe('longestGap', () => {
  it('counts from the window start to the first success, between successes, and from the last to the end', () => {
    const calls = [call('free', 0, 100, 1n), call('free', 100, 150, undefined), call('free', 150, 700, 2n)];
    expect(longestGap(calls, 0, 800)).toBe(600);
    expect(longestGap([], 0, 800)).toBe(800);
  });
});
