import { describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { CDC_LAYOUT } from '@pharaoh/snowflake';
import type { HarnessEvent } from '../src/chaos/events.js';
import type { PluginEvent } from '../src/chaos/services/plugin.js';
import { sequencerPlugin } from '../src/chaos/services/sequencer.js';
import type { Violation } from '../src/chaos/check.js';

const P = 'seq-p-0-0-0-0';
const T = 'seq-t-0-0-0-0';
const OWNER = 'sequencer:1';
const owners = new Map([[shardForKey(P), OWNER], [shardForKey(T), OWNER]]);
const at = (s: number, r: number) => ({ s, r, ls: s * 10, lr: r * 10 + 1 });
const ev = (e: Record<string, unknown>): PluginEvent => ({ svc: 'sequencer', w: 0, ...e }) as PluginEvent;
const tryOff = (n: number) => ev({ k: 'seq.try', key: P, n });
const off = (first: number, n: number, s: number, r: number) => ev({ k: 'seq.off', key: P, first, n, ...at(s, r) });
const cdc = (time: number, seq: number, n: number, s: number, r: number) =>
  ev({ k: 'seq.cdc', key: T, first: CDC_LAYOUT.encode({ time, shard: shardForKey(T), seq }).toString(), n, ...at(s, r) });

function check(events: PluginEvent[], harness: HarnessEvent[] = [], final?: { offsets: Map<string, number | string>; cdc: Map<string, bigint | string> }): string[] {
  const violations: Violation[] = [];
  sequencerPlugin.check({ events, harness, owners, final, violations });
  return violations.map((v) => v.check);
}

describe('the sequencer chaos plug-in checks', () => {
  it('pass dense offsets and increasing cdc ids, and count them', () => {
    const violations: Violation[] = [];
    const counts = sequencerPlugin.check({
      events: [tryOff(3), off(0, 3, 1, 2), tryOff(2), off(3, 2, 3, 4), ev({ k: 'seq.try', key: T, n: 2 }), cdc(100, 0, 2, 5, 6), ev({ k: 'seq.try', key: T, n: 1 }), cdc(100, 2, 1, 7, 8)],
      harness: [],
      owners,
      final: { offsets: new Map([[P, 5]]), cdc: new Map([[T, CDC_LAYOUT.encode({ time: 101, shard: shardForKey(T), seq: 0 })]]) },
      violations,
    });
    expect(violations).toEqual([]);
    expect(counts).toEqual({ 'offset ranges checked': 2, 'cdc ranges checked': 2, 'keys read back': 2 });
  });

  it('catch an acknowledged offset handed out again', () => {
    expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), off(2, 2, 3, 4)])).toEqual(['offsets-reissued']);
  });

  it('catch a gap with no failed call and no restore in between — a kill is no excuse (the retry carries its token) — and allow one after either', () => {
    expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), off(5, 2, 3, 4)])).toEqual(['offsets-gap']);
    expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), tryOff(2), off(5, 2, 3, 4)])).toEqual([]);
    expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), off(5, 2, 3, 40)], [{ k: 'kill', label: OWNER, t: 10 }, { k: 'start', label: OWNER, t: 20 }])).toEqual(['offsets-gap']);
    const restore = (shard: number, tStart: number): HarnessEvent => ({ k: 'restore', label: OWNER, service: 'sequencer', shards: [shard], t: tStart - 5, backupAt: 1, tStart });
    expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), off(5, 2, 3, 40)], [{ k: 'kill', label: OWNER, t: 10 }, restore(shardForKey(P), 20)])).toEqual([]);
    expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), off(5, 2, 3, 40)], [restore((shardForKey(P) + 1) % 1024, 20)])).toEqual(['offsets-gap']);
    expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), off(5, 2, 3, 40)], [restore(shardForKey(P), 500)])).toEqual(['offsets-gap']);
    // Only as wide as some of the failed calls: two failed calls of 2 and 4 may leave 2, 4 or 6, nothing else.
    for (const gap of [2, 4, 6]) expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), tryOff(4), tryOff(1), off(3 + gap, 1, 3, 4)])).toEqual([]);
    for (const gap of [1, 3, 5, 7]) expect(check([tryOff(3), off(0, 3, 1, 2), tryOff(2), tryOff(4), tryOff(1), off(3 + gap, 1, 3, 4)])).toEqual(['offsets-gap']);
    // A failure before the previous acknowledged range explains nothing after it.
    expect(check([tryOff(3), tryOff(3), off(3, 3, 1, 2), tryOff(2), off(9, 2, 3, 4)])).toEqual(['offsets-gap']);
  });

  it('catch cdc ids of a table that do not increase', () => {
    expect(check([cdc(100, 0, 2, 1, 2), cdc(100, 1, 1, 3, 4)])).toEqual(['cdc-table-order']);
  });

  it('catch a read back below what was acknowledged, or failing', () => {
    const events = [tryOff(3), off(0, 3, 1, 2), cdc(100, 0, 2, 3, 4)];
    expect(check(events, [], { offsets: new Map([[P, 2]]), cdc: new Map([[T, CDC_LAYOUT.encode({ time: 100, shard: shardForKey(T), seq: 1 })]]) })).toEqual(['offsets-readback', 'cdc-readback']);
    expect(check(events, [], { offsets: new Map([[P, 'TIMEOUT']]), cdc: new Map() })).toEqual(['offsets-readback']);
  });

  it('hands its cdc ranges to the shared checks (space sequencer, not client-ordered)', () => {
    const [i] = sequencerPlugin.issues!([cdc(100, 4, 3, 1, 2)]);
    expect(i).toMatchObject({ space: 'sequencer', shard: shardForKey(T), hi: i!.lo + 2n, clientOrdered: false });
  });
});
