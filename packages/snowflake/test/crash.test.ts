import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Obelisk } from '@pharaoh/obelisk';
import { SimulatedFs, mulberry32, type CrashKind } from '@pharaoh/storage/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdGenerator, TSO_LAYOUT } from '../src/index.js';
import { Checker, FakeClock, HOUR, L, MemoryBound, setup, T0, U0 } from './helpers.js';

const PATH = '/data/bound';
const DISKS = 400;
const CRASHES_PER_DISK = 6;
/** Small ticks and window so that a short workload advances the bound many times. */
const TICK_MS = 10;
const WINDOW_MS = 30;

/** Faults so far on `disk` (process deaths and power losses). */
const faults = (disk: SimulatedFs) => disk.stats.processDeaths + disk.stats.powerLosses;

/**
 * One generator lifetime on a simulated disk that ends, after a random number
 * of operations, in a process death (the page cache survives) or a power loss. Every ID is logged in issue order (a `.then` attached at
 * call time runs in resolution order, which is issue order) and must be above
 * `floor`, the largest ID of all earlier lifetimes. Returns the largest ID issued.
 */
async function lifetime(disk: SimulatedFs, clock: FakeClock, rand: () => number, floor: bigint, where: string): Promise<bigint> {
  const kind: CrashKind = rand() < 0.5 ? 'process' : 'power';
  const crashEarly = rand() < 0.1;
  if (crashEarly) disk.crashAfterOps(1 + Math.floor(rand() * 4), kind);
  const faultsBefore = faults(disk);
  const bound = await Obelisk.open(PATH, { fs: disk }).catch(() => undefined);
  if (bound === undefined) {
    if (faults(disk) === faultsBefore) throw new Error(`${where}: the bound refused to open with no crash`);
    return floor; // crash while recovering: nothing was issued
  }
  if (!crashEarly) disk.crashAfterOps(1 + Math.floor(rand() * 40), kind);
  // The clock may sit hours behind the resume point after restarts: a lead wait would
  // wait for this fake clock forever, so allow a day of lead (lead waits have their own tests).
  const gen = await IdGenerator.open({ layout: L, shard: 3, bound, clock, windowMs: WINDOW_MS, boundTickMs: TICK_MS, maxLeadMs: 24 * HOUR });
  const crashesBefore = faults(disk);
  /** [first, last] of each answer, in issue order. */
  const log: Array<[bigint, bigint]> = [];
  const issue = (p: Promise<bigint | { first: bigint; count: number }>) =>
    p.then(
      (v) => {
        const [first, last] = typeof v === 'bigint' ? [v, v] : [v.first, v.first + BigInt(v.count - 1)];
        if (L.timeOf(last) >= bound.value * TICK_MS) throw new Error(`${where}: ID ${last} at/after the durable bound`);
        log.push([first, last]);
      },
      () => undefined, // the generator died with the process
    );
  for (let step = 0; step < 60 && gen.failed === undefined; step++) {
    const r = rand();
    if (r < 0.1) clock.advance(-Math.floor(rand() * 2000)); // the clock steps back
    else clock.advance(Math.floor(rand() * 15));
    const calls = [];
    for (let i = 0, n = 1 + Math.floor(rand() * 6); i < n; i++) {
      calls.push(issue(rand() < 0.5 ? gen.next() : gen.nextRange(1 + Math.floor(rand() * 500))));
    }
    await Promise.all(calls);
  }
  let last = floor;
  for (const [first, end] of log) {
    if (!(first > last)) throw new Error(`${where}: ID ${first} is not above ${last} (floor ${floor})`);
    last = end;
  }
  await gen.close();
  await bound.close().catch(() => undefined);
  if (faults(disk) === crashesBefore) {
    // The workload ended first.
    disk.cancelCrash();
    if (kind === 'power') disk.powerLoss();
    else disk.killProcess();
  }
  return last;
}

describe('restart after a crash', () => {
  it('resumes above every ID issued before the crash even with the clock set back an hour (in-memory bound)', async () => {
    const bound = new MemoryBound();
    const { gen, clock } = await setup({ bound });
    const check = new Checker(bound);
    for (let i = 0; i < 1000; i++) {
      clock.advance(5);
      check.add(await gen.next());
    }
    // "Crash": drop the generator; only the bound's durable value survives.
    const again = await IdGenerator.open({ layout: L, shard: 7, bound, clock: new FakeClock(T0 - HOUR) });
    const first = await again.next();
    check.add(first);
    expect(L.timeOf(first)).toBeGreaterThanOrEqual(U0 + 5000);
  });

  it('after each of many seeded process deaths and power cuts, in any order, every new ID is above every ID issued before', async () => {
    let crashes = 0;
    let issuedLifetimes = 0;
    for (let seed = 1; seed <= DISKS; seed++) {
      const rand = mulberry32(seed * 104729 + 7);
      const disk = new SimulatedFs({ seed, maxDelay: Math.floor(rand() * 4), dirs: ['/data'] });
      const clock = new FakeClock(T0);
      let floor = -1n;
      for (let cycle = 0; cycle < CRASHES_PER_DISK; cycle++) {
        // Whatever the clock says after the restart: far back, a little back, or ahead.
        clock.advance([-HOUR, -Math.floor(rand() * 5000), Math.floor(rand() * 5000)][Math.floor(rand() * 3)]!);
        const before = floor;
        floor = await lifetime(disk, clock, rand, floor, `seed ${seed} cycle ${cycle}`);
        if (floor > before) issuedLifetimes++;
      }
      crashes += faults(disk);
    }
    expect(crashes).toBeGreaterThanOrEqual(DISKS * CRASHES_PER_DISK);
    // Most lifetimes issued IDs before their power cut (the test is not vacuous).
    expect(issuedLifetimes).toBeGreaterThan((DISKS * CRASHES_PER_DISK) / 2);
  });
});

describe('with a real Obelisk on disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snowflake-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('issues increasing IDs across a reopen and keeps the bound file modest and sparse', async () => {
    const path = join(dir, 'shard-5');
    let bound = await Obelisk.open(path);
    const check = new Checker({ get value() { return bound.value; } });
    let gen = await IdGenerator.open({ layout: TSO_LAYOUT, shard: 5, bound });
    for (let i = 0; i < 100_000; i++) check.add(await gen.next());
    for (let i = 0; i < 1000; i++) {
      const r = await gen.nextRange(100);
      check.add(r.first, r.count);
    }
    await gen.close();
    await bound.close();
    bound = await Obelisk.open(path);
    gen = await IdGenerator.open({ layout: TSO_LAYOUT, shard: 5, bound });
    check.add(await gen.next());
    expect(TSO_LAYOUT.decode(check.last).shard).toBe(5);
    // The file size is the bound in seconds since 2025 (tens of millions of bytes
    // apparent) — not milliseconds (tens of billions) — and it has no data blocks.
    const st = statSync(path);
    const secondsSinceEpoch = (Date.now() - TSO_LAYOUT.epochMs) / 1000;
    expect(st.size).toBe(bound.value);
    expect(st.size).toBeGreaterThan(secondsSinceEpoch);
    expect(st.size).toBeLessThan(secondsSinceEpoch + 10);
    expect(st.blocks * 512).toBeLessThanOrEqual(4096);
    await gen.close();
    await bound.close();
  });

  it('rejects with the bound error when the Obelisk is closed under it', async () => {
    const bound = await Obelisk.open(join(dir, 'shard-6'));
    const gen = await IdGenerator.open({ layout: TSO_LAYOUT, shard: 6, bound });
    await bound.close();
    await expect(gen.next()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(gen.failed).toMatchObject({ name: 'ObeliskError' });
  });
});
