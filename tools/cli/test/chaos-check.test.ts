import { describe, expect, it } from 'vitest';
import { TSO_LAYOUT, TX_LAYOUT, SESSION_LAYOUT } from '@pharaoh/snowflake';
import { runChecks } from '../src/chaos/check.js';
import type { CheckInput } from '../src/chaos/check.js';
import type { HarnessEvent, WorkerEvent } from '../src/chaos/events.js';
import type { ChaosPlugin, PluginEvent } from '../src/chaos/services/plugin.js';

const ts = (time: number, shard: number, seq: number) => TSO_LAYOUT.encode({ time, shard, seq }).toString();
const tx = (time: number, shard: number, seq: number) => TX_LAYOUT.encode({ time, shard, seq }).toString();
const sid = (time: number, shard: number) => SESSION_LAYOUT.encode({ time, shard, seq: 0 }).toString();

/** A call by worker `w` made at wall time `s` and answered at `r`; logical clock = 10 × wall time (+1 for the answer). */
const at = (w: number, s: number, r: number) => ({ w, s, r, ls: s * 10, lr: r * 10 + 1 });

const owners = (): CheckInput['owners'] => ({
  ts: new Map([[0, 'tso:1'], [1, 'tso:2']]),
  tx: new Map([[0, 'txcoord:1']]),
  session: new Map([[0, 'session-mgr:1']]),
});

function input(events: WorkerEvent[], extra: Partial<CheckInput> = {}): CheckInput {
  return { events, harness: [], owners: owners(), finalTx: new Map(), finalSessions: new Map(), ...extra };
}

const checks = (i: CheckInput) => runChecks(i).violations.map((v) => v.check);

describe('crash test checks', () => {
  it('pass a clean history with a crash in the middle and count the crossing', () => {
    const harness: HarnessEvent[] = [
      { k: 'kill', label: 'tso:1', t: 100 },
      { k: 'start', label: 'tso:1', t: 110 },
    ];
    const events: WorkerEvent[] = [
      { k: 'ts', first: ts(50, 0, 0), n: 10, ...at(0, 10, 20) },
      { k: 'ts', first: ts(51, 0, 0), n: 1, ...at(1, 30, 40) },
      { k: 'ts', first: ts(60, 0, 0), n: 5, ...at(0, 120, 130) },
      { k: 'ts', first: ts(61, 1, 0), n: 5, ...at(0, 140, 150) },
    ];
    const r = runChecks(input(events, { harness }));
    expect(r.violations).toEqual([]);
    expect(r.stats.tsIds).toBe(21);
    expect(r.stats.crossRestartChecks).toBe(1);
    expect(r.stats.clientOrderChecks).toBeGreaterThan(0);
  });

  it('catch a timestamp issued twice by two shards-worth of ranges that overlap', () => {
    const events: WorkerEvent[] = [
      { k: 'ts', first: ts(50, 0, 0), n: 10, ...at(0, 10, 20) },
      { k: 'ts', first: ts(50, 0, 9), n: 2, ...at(1, 10, 20) },
    ];
    expect(checks(input(events))).toContain('unique');
  });

  it('catch an ID that went backwards on a shard after a restart', () => {
    const harness: HarnessEvent[] = [
      { k: 'kill', label: 'tso:1', t: 100 },
      { k: 'start', label: 'tso:1', t: 110 },
    ];
    const events: WorkerEvent[] = [
      { k: 'ts', first: ts(90, 0, 5), n: 1, ...at(0, 10, 20) },
      { k: 'ts', first: ts(80, 0, 0), n: 1, ...at(1, 120, 130) },
    ];
    const found = checks(input(events, { harness }));
    expect(found).toContain('shard-order');
    expect(found).toContain('cross-restart');
  });

  it('skip pairs whose order the millisecond clock cannot tell across processes', () => {
    const events: WorkerEvent[] = [
      { k: 'ts', first: ts(90, 0, 5), n: 1, ...at(0, 10, 20) },
      { k: 'ts', first: ts(80, 0, 0), n: 1, ...at(1, 21, 30) },
    ];
    expect(checks(input(events))).toEqual([]);
  });

  it("catch a client's timestamps going backwards across shards", () => {
    const events: WorkerEvent[] = [
      { k: 'ts', first: ts(90, 1, 0), n: 1, ...at(0, 10, 20) },
      { k: 'ts', first: ts(90, 0, 0), n: 1, ...at(0, 21, 30) },
    ];
    expect(checks(input(events))).toEqual(['client-order']);
  });

  it('catch a lost commit, a lost abort and a commit nobody asked for', () => {
    const [a, b, c, d] = [tx(1, 0, 0), tx(1, 0, 2), tx(1, 0, 4), tx(1, 0, 6)];
    const events: WorkerEvent[] = [
      { k: 'txb', id: a, st: tx(1, 0, 1), ...at(0, 1, 2) },
      { k: 'txb', id: b, st: tx(1, 0, 3), ...at(0, 3, 4) },
      { k: 'txb', id: c, st: tx(1, 0, 5), ...at(0, 5, 6) },
      { k: 'txb', id: d, st: tx(1, 0, 7), ...at(0, 7, 8) },
      { k: 'txi', w: 0, id: a, d: 'commit' },
      { k: 'txc', id: a, ct: tx(2, 0, 0), ...at(0, 9, 10) },
      { k: 'txi', w: 0, id: b, d: 'abort' },
      { k: 'txa', id: b, ...at(0, 11, 12) },
      { k: 'txi', w: 0, id: d, d: 'commit' },
    ];
    const good = new Map([[a, 'COMMITTED'], [b, 'ABORTED'], [c, 'ABORTED'], [d, 'ABORTED']]);
    expect(runChecks(input(events, { finalTx: good })).violations).toEqual([]);
    for (const [id, status] of [[a, 'ABORTED'], [b, 'COMMITTED'], [c, 'COMMITTED'], [a, 'TX_NOT_FOUND'], [d, 'ACTIVE']] as const) {
      expect(checks(input(events, { finalTx: new Map([...good, [id, status]]) }))).toEqual(['decision']);
    }
  });

  it('catch a lost epoch, an unfenced old epoch and a validate that let a zombie through', () => {
    const id = sid(5, 0);
    const events: WorkerEvent[] = [
      { k: 'soi', w: 0, p: 'p1' },
      { k: 'so', id, ep: 0, p: 'p1', ...at(0, 1, 2) },
      { k: 'soi', w: 0, p: 'p1' },
      { k: 'so', id, ep: 1, p: 'p1', ...at(0, 3, 4) },
    ];
    const good = new Map([[`${id}:0`, 'FENCED'], [`${id}:1`, 'OK']]);
    expect(runChecks(input(events, { finalSessions: good })).violations).toEqual([]);
    expect(checks(input(events, { finalSessions: new Map([...good, [`${id}:0`, 'OK']]) }))).toEqual(['epoch']);
    expect(checks(input(events, { finalSessions: new Map([...good, [`${id}:1`, 'UNKNOWN']]) }))).toEqual(['epoch']);
    const zombie: WorkerEvent = { k: 'sv', id, ep: 0, st: 'OK', ...at(0, 5, 6) };
    expect(checks(input([...events, zombie], { finalSessions: good }))).toEqual(['fencing']);
    // An open whose answer was lost may have fenced the newest acknowledged epoch: FENCED is then allowed.
    const unknown = [...events, { k: 'soi', w: 0, p: 'p1' } as WorkerEvent];
    expect(checks(input(unknown, { finalSessions: new Map([...good, [`${id}:1`, 'FENCED']]) }))).toEqual([]);
  });

  it('catch one session id handed to two producers and an epoch that went backwards', () => {
    const id = sid(5, 0);
    const events: WorkerEvent[] = [
      { k: 'so', id, ep: 0, p: 'p1', ...at(0, 1, 2) },
      { k: 'so', id, ep: 0, p: 'p2', ...at(1, 1, 2) },
    ];
    expect(checks(input(events))).toEqual(['unique']);
    const back: WorkerEvent[] = [
      { k: 'so', id, ep: 3, p: 'p1', ...at(0, 1, 2) },
      { k: 'so', id, ep: 2, p: 'p1', ...at(0, 3, 4) },
    ];
    expect(checks(input(back))).toEqual(['epoch']);
  });
});

describe('crash test checks across a restore', () => {
  // Shard 0 of txcoord / session-mgr backed up at 20, its process killed at 50 and restored; shard 1 never restored.
  const restore = (service: string): HarnessEvent[] => [
    { k: 'backup', label: `${service}:1`, service, shards: [0], t: 20, tEnd: 22 },
    { k: 'restore', label: `${service}:1`, service, shards: [0], t: 50, backupAt: 20, tStart: 52 },
  ];

  it('accept IN_DOUBT only for a restored shard\'s transaction not acknowledged before the backup', () => {
    const [early, late, open, other] = [tx(1, 0, 0), tx(3, 0, 0), tx(5, 0, 0), tx(6, 1, 0)];
    const events: WorkerEvent[] = [
      { k: 'txb', id: early, st: tx(1, 0, 1), ...at(0, 1, 2) },
      { k: 'txi', w: 0, id: early, d: 'commit' },
      { k: 'txc', id: early, ct: tx(2, 0, 0), ...at(0, 3, 4) },
      { k: 'txb', id: late, st: tx(3, 0, 1), ...at(0, 5, 6) },
      { k: 'txi', w: 0, id: late, d: 'commit' },
      { k: 'txc', id: late, ct: tx(4, 0, 0), ...at(0, 25, 30) },
      { k: 'txb', id: open, st: tx(5, 0, 1), ...at(0, 31, 32) },
      { k: 'txb', id: other, st: tx(6, 1, 1), ...at(0, 33, 34) },
      { k: 'txi', w: 0, id: other, d: 'abort' },
      { k: 'txa', id: other, ...at(0, 35, 36) },
    ];
    const harness = restore('txcoord');
    const good = new Map([[early, 'COMMITTED'], [late, 'IN_DOUBT'], [open, 'IN_DOUBT'], [other, 'ABORTED']]);
    expect(runChecks(input(events, { harness, finalTx: good })).violations).toEqual([]);
    // A decision acknowledged before the backup began must survive the restore; a shard never restored has no IN_DOUBT; nor does a plain restart.
    expect(checks(input(events, { harness, finalTx: new Map([...good, [early, 'IN_DOUBT']]) }))).toEqual(['decision']);
    expect(checks(input(events, { harness, finalTx: new Map([...good, [other, 'IN_DOUBT']]) }))).toEqual(['decision']);
    expect(checks(input(events, { finalTx: good }))).toEqual(['decision', 'decision']);
    // A lost decision read as the opposite one is still a violation.
    expect(checks(input(events, { harness, finalTx: new Map([...good, [late, 'ABORTED']]) }))).toEqual(['decision']);
  });

  it('accept an epoch fenced or lost by a restore of its shard, and a new session id after it, but nothing else', () => {
    const [id, id2] = [sid(5, 0), sid(60, 0)];
    const events: WorkerEvent[] = [
      { k: 'soi', w: 0, p: 'p1' },
      { k: 'so', id, ep: 10, p: 'p1', ...at(0, 1, 2) },
      { k: 'soi', w: 0, p: 'p1' },
      { k: 'so', id, ep: 11, p: 'p1', ...at(0, 30, 31) },
      { k: 'soi', w: 0, p: 'p1' },
      { k: 'so', id: id2, ep: 5000, p: 'p1', ...at(0, 60, 61) },
      { k: 'so', id: sid(6, 0), ep: 0, ...at(1, 3, 4) },
    ];
    const harness = restore('session-mgr');
    const good = new Map([[`${id}:10`, 'FENCED'], [`${id}:11`, 'UNKNOWN'], [`${id2}:5000`, 'OK'], [`${sid(6, 0)}:0`, 'FENCED']]);
    expect(runChecks(input(events, { harness, finalSessions: good })).violations).toEqual([]);
    // Without the restore the same answers are violations (a changed id, lost and fenced epochs).
    expect(checks(input(events, { finalSessions: good })).length).toBeGreaterThanOrEqual(3);
    // An epoch from before the restore that still validates OK was not fenced by it.
    expect(checks(input(events, { harness, finalSessions: new Map([...good, [`${id}:11`, 'OK']]) }))).toEqual(['epoch']);
    // The epoch after the restore must be OK, and epochs must still go up across it.
    expect(checks(input(events, { harness, finalSessions: new Map([...good, [`${id2}:5000`, 'UNKNOWN']]) }))).toEqual(['epoch']);
    const down = events.map((e) => (e.k === 'so' && e.id === id2 ? { ...e, ep: 3 } : e));
    expect(checks(input(down, { harness, finalSessions: new Map([...good].map(([k, v]) => [k.replace(':5000', ':3'), v])) }))).toEqual(['epoch']);
  });
});

describe('crash test checks with a service plug-in', () => {
  /** A plug-in whose events carry TSO-shaped IDs in its own space, and whose own check wants every `seq` event read back. */
  const plugin: ChaosPlugin<Set<string>> = {
    service: 'demo',
    weight: 0.1,
    step: async () => {},
    issues: (events) =>
      events.map((e) => {
        const id = BigInt(e.id as string);
        return { space: 'demo', shard: TSO_LAYOUT.shardOf(id), lo: id, hi: id, w: e.w, s: e.s as number, r: e.r as number, ls: e.ls as number, lr: e.lr as number, what: `demo ${e.id}` };
      }),
    check: ({ events, final, violations }) => {
      let n = 0;
      for (const e of events) {
        n++;
        if (!final?.has(e.id as string)) violations.push({ check: 'demo-lost', detail: `demo ${e.id} not read back` });
      }
      return { 'read back': n };
    },
  };
  const demo = (id: string, w: number, s: number, r: number): PluginEvent => ({ k: 'dm', svc: 'demo', id, ...at(w, s, r) });
  const withDemo = (events: PluginEvent[], final: Set<string>, harness: HarnessEvent[] = []): CheckInput =>
    input([], { harness, owners: { ...owners(), demo: new Map([[0, 'demo:1']]) }, plugins: [{ plugin, events, final }] });

  it('pass a clean history and report the plug-in counts and its IDs', () => {
    const r = runChecks(withDemo([demo(ts(50, 0, 0), 0, 10, 20), demo(ts(60, 0, 0), 1, 30, 40)], new Set([ts(50, 0, 0), ts(60, 0, 0)])));
    expect(r.violations).toEqual([]);
    expect(r.stats.services.demo).toEqual({ 'IDs checked': 2, 'read back': 2 });
  });

  it("run the shared checks on the plug-in's IDs: twice issued, backwards across a restart of its owner", () => {
    const twice = runChecks(withDemo([demo(ts(50, 0, 0), 0, 10, 20), demo(ts(50, 0, 0), 1, 10, 20)], new Set([ts(50, 0, 0)])));
    expect(twice.violations.map((v) => v.check)).toContain('unique');
    const harness: HarnessEvent[] = [{ k: 'kill', label: 'demo:1', t: 100 }, { k: 'start', label: 'demo:1', t: 110 }];
    const back = runChecks(withDemo([demo(ts(90, 0, 0), 0, 10, 20), demo(ts(80, 0, 0), 1, 120, 130)], new Set([ts(90, 0, 0), ts(80, 0, 0)]), harness));
    expect(back.violations.map((v) => v.check)).toEqual(expect.arrayContaining(['shard-order', 'cross-restart']));
  });

  it("collect the plug-in's own violations", () => {
    const r = runChecks(withDemo([demo(ts(50, 0, 0), 0, 10, 20)], new Set()));
    expect(r.violations).toEqual([{ check: 'demo-lost', detail: `demo ${ts(50, 0, 0)} not read back` }]);
  });
});
