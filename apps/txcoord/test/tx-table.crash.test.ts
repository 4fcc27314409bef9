import { describe, expect, it } from 'vitest';
import { TX_LAYOUT } from '@pharaoh/snowflake';
import { mulberry32, type CrashKind } from '@pharaoh/storage/testing';
import { FakeClock, FakeIds, SimDisk } from '@pharaoh/testkit';
import { TxTable } from '../src/tx-table.js';
import type { TxRecord } from '../src/records.js';

const T0 = Date.UTC(2026, 0, 1);
const SEEDS = 25;
const LIFETIMES = 4;

interface Truth {
  begun: Set<bigint>;
  /** Decisions acknowledged to a client, or served by an open after a fault: they must never change. */
  committed: Map<bigint, bigint>;
  aborted: Set<bigint>;
}

function world(seed: number) {
  const clock = new FakeClock(T0);
  const ids = new FakeIds(TX_LAYOUT, 3, clock);
  const disk = new SimDisk(seed);
  const open = () =>
    TxTable.open(
      { ids, layout: TX_LAYOUT, clock, openJournal: (hooks) => disk.open<TxRecord>(hooks, 2048) },
      { defaultTimeoutMs: 1_000, retentionMs: 3_600_000, maxOpen: 1_000, maxRemembered: 100_000 },
    );
  return { clock, ids, disk, open };
}

/** Random begins/commits/aborts/heartbeats, all concurrent, until the fault `kind` hits the simulated disk. */
async function runUntilFault(t: TxTable, disk: SimDisk, clock: FakeClock, rng: () => number, truth: Truth, kind: CrashKind): Promise<void> {
  const faultsBefore = disk.faults;
  disk.fs.crashAfterOps(5 + Math.floor(rng() * 120), kind);
  const open: bigint[] = [];
  for (let round = 0; round < 200 && disk.faults === faultsBefore; round++) {
    const ops: Array<Promise<unknown>> = [];
    for (let i = 0; i < 8; i++) {
      const r = rng();
      const pick = open[Math.floor(rng() * open.length)];
      if (r < 0.4 || pick === undefined) {
        ops.push(t.begin(1_000 + Math.floor(rng() * 2_000)).then((b) => {
          truth.begun.add(b.txId);
          open.push(b.txId);
        }));
      } else if (r < 0.7) {
        ops.push(t.commit(pick).then((c) => {
          const prev = truth.committed.get(pick);
          if (prev !== undefined) expect(c.commitTs).toBe(prev);
          truth.committed.set(pick, c.commitTs);
        }));
      } else if (r < 0.85) {
        ops.push(t.abort(pick).then(() => truth.aborted.add(pick)));
      } else {
        ops.push(t.heartbeat(pick));
      }
    }
    if (rng() < 0.2) clock.advance(Math.floor(rng() * 800));
    if (rng() < 0.05) ops.push(t.sweep());
    await Promise.allSettled(ops);
  }
  disk.fs.cancelCrash();
  if (disk.faults === faultsBefore) {
    if (kind === 'power') disk.fs.powerLoss();
    else disk.fs.killProcess();
  }
}

async function check(t: TxTable, truth: Truth): Promise<void> {
  for (const [txId, ts] of truth.committed) {
    expect(truth.aborted.has(txId)).toBe(false);
    expect(await t.status(txId)).toBe('COMMITTED');
    expect((await t.commit(txId)).commitTs).toBe(ts);
  }
  for (const txId of truth.aborted) expect(await t.status(txId)).toBe('ABORTED');
  // Nothing begun before a fault is still open after it: decided, or presumed aborted.
  for (const txId of truth.begun) expect(['COMMITTED', 'ABORTED']).toContain(await t.status(txId));
}

/**
 * What this open serves is as good as acknowledged: a decision that a process
 * death left unacknowledged but the restart replays (and answers) must still
 * read the same after any later fault, a power cut included.
 */
async function adoptServed(t: TxTable, truth: Truth): Promise<void> {
  for (const txId of truth.begun) {
    const status = await t.status(txId);
    if (status === 'COMMITTED' && !truth.committed.has(txId)) truth.committed.set(txId, (await t.commit(txId)).commitTs);
    if (status === 'ABORTED') truth.aborted.add(txId);
  }
}

describe('TxTable under simulated process deaths and power cuts', () => {
  it('keeps every acknowledged or served decision (and its commitTs) and never issues an ID twice, across random chains of faults', async () => {
    let deaths = 0;
    let cuts = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = mulberry32(seed);
      const { clock, ids, disk, open } = world(seed);
      const truth: Truth = { begun: new Set(), committed: new Map(), aborted: new Set() };
      for (let life = 0; life < LIFETIMES; life++) {
        const t = await open();
        await check(t, truth);
        await adoptServed(t, truth);
        // Alternate so every seed has process death followed by a power cut, and random order otherwise.
        const kind: CrashKind = life % 2 === 0 ? 'process' : rng() < 0.7 ? 'power' : 'process';
        await runUntilFault(t, disk, clock, rng, truth, kind);
      }
      const last = await open();
      await check(last, truth);
      expect(new Set(ids.issued).size).toBe(ids.issued.length);
      await last.close();
      deaths += disk.fs.stats.processDeaths;
      cuts += disk.fs.stats.powerLosses;
    }
    expect(deaths).toBeGreaterThan(SEEDS);
    expect(cuts).toBeGreaterThan(SEEDS / 2);
  });

  it('keeps COMMITTED after a power cut once a restart has replayed and answered a commit whose fdatasync a process death cut', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { disk, open } = world(seed);
      const t1 = await open();
      const tx = await t1.begin();
      await disk.killBeforeSync(() => t1.commit(tx.txId));

      // The restart reads the record from the page cache and serves it.
      const t2 = await open();
      expect(await t2.status(tx.txId)).toBe('COMMITTED');
      const { commitTs } = await t2.commit(tx.txId); // a client's retried commit is answered
      disk.fs.powerLoss();

      const t3 = await open();
      expect(await t3.status(tx.txId), `seed ${seed}`).toBe('COMMITTED');
      expect((await t3.commit(tx.txId)).commitTs).toBe(commitTs);
      await t3.close();
    }
  });
});
