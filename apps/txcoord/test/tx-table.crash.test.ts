import { describe, expect, it } from 'vitest';
import { TX_LAYOUT } from '@pharaoh/snowflake';
import { FakeClock, FakeIds, mulberry32, SimDisk } from '@pharaoh/testkit';
import { TxTable } from '../src/tx-table.js';
import type { TxRecord } from '../src/records.js';

const T0 = Date.UTC(2026, 0, 1);
const SEEDS = 25;
const LIFETIMES = 4;

interface Truth {
  begun: Set<bigint>;
  committed: Map<bigint, bigint>;
  aborted: Set<bigint>;
}

/** Random begins/commits/aborts/heartbeats, all concurrent, until the simulated disk loses power. */
async function runUntilCrash(t: TxTable, disk: SimDisk, clock: FakeClock, rng: () => number, truth: Truth): Promise<void> {
  const crashesBefore = disk.fs.crashes;
  disk.fs.crashAfterOps(5 + Math.floor(rng() * 120), rng);
  const open: bigint[] = [];
  for (let round = 0; round < 200 && disk.fs.crashes === crashesBefore; round++) {
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
  if (disk.fs.crashes === crashesBefore) disk.fs.crash(rng);
}

async function check(t: TxTable, truth: Truth): Promise<void> {
  for (const [txId, ts] of truth.committed) {
    expect(truth.aborted.has(txId)).toBe(false);
    expect(await t.status(txId)).toBe('COMMITTED');
    expect((await t.commit(txId)).commitTs).toBe(ts);
  }
  for (const txId of truth.aborted) expect(await t.status(txId)).toBe('ABORTED');
  // Nothing begun before a crash is still open after it: decided, or presumed aborted.
  for (const txId of truth.begun) expect(['COMMITTED', 'ABORTED']).toContain(await t.status(txId));
}

describe('TxTable under simulated power cuts', () => {
  it('keeps every acknowledged decision (and its commitTs) and never issues an ID twice, across random crashes', async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = mulberry32(seed);
      const clock = new FakeClock(T0);
      const ids = new FakeIds(TX_LAYOUT, 3, clock);
      const disk = new SimDisk();
      const truth: Truth = { begun: new Set(), committed: new Map(), aborted: new Set() };
      const open = () =>
        TxTable.open(
          { ids, layout: TX_LAYOUT, clock, openJournal: (hooks) => disk.open<TxRecord>(hooks, 2048) },
          { defaultTimeoutMs: 1_000, retentionMs: 3_600_000, maxOpen: 1_000, maxRemembered: 100_000 },
        );
      for (let life = 0; life < LIFETIMES; life++) {
        const t = await open();
        await check(t, truth);
        await runUntilCrash(t, disk, clock, rng, truth);
      }
      const last = await open();
      await check(last, truth);
      expect(new Set(ids.issued).size).toBe(ids.issued.length);
      await last.close();
    }
  });
});
