/**
 * Seeded crash exploration of the journal over 10,000 schedules (issue 14).
 *
 * Each schedule is a chain of faults from `exploreSchedules` (power; process;
 * process → power; process → process → power; power → process → power; then
 * random chains). Every fault ends one process lifetime: the journal opens
 * through the SimulatedFs (it takes its process view) and replays, a few
 * concurrent workers `append`, `appendMany` and `compact`, and the fault
 * strikes at a random file operation (while opening or replaying, during a
 * group commit, during a compaction and the rollover of the log it makes) or
 * after the workload. A last lifetime after the chain opens with no fault.
 * In 40% of the schedules `compactAtBytes` is tiny, so the log is rolled over
 * by automatic compactions again and again. Every open after the first one
 * that succeeded passes `mustExist`, as a shard that has served does.
 *
 * Checked after every open (records are numbered in append-call order):
 * - the journal opens (a failure is allowed only when the fault struck it);
 * - replay delivers a prefix of the records appended, in order: none invented,
 *   none corrupt, none out of order;
 * - every acknowledged record replays; only unacknowledged ones may be
 *   missing, and only as a suffix;
 * - crash then cut: every record that an earlier open delivered (also one
 *   that open replayed from the page cache after a process death, and also an
 *   open that a fault cut short) still replays after any later fault.
 * The same exploration must FAIL over a file system wrapper (below, not in
 * src/) that drops the fdatasync an open makes of the log it replays (issue
 * 14 bug 1).
 *
 * The exploration also fails, by hand-checked experiment, on a journal
 * created with a plain mkdir (bug 3), one that does not fsync the journal
 * directory at open (a compaction's rename left unsynced by a dead process),
 * and one whose `ensureDirDurable` did not fsync the parent of a directory
 * that already existed (the storage bug this port found).
 *
 * Measured (2-core machine, `npx vitest run src/crash-explore.test.ts`, with
 * other test runs sharing the cores, load 2.5-3.4): the 10,000 schedules take
 * 6.6-9.8 s: 30,806 lifetimes, 10,387 process deaths and 10,419 power losses
 * (5,663 of them during an open), ~9,100 compactions, 879 opens that delivered
 * records no append had acknowledged (which later faults then had to keep),
 * 118,580 records appended. The broken journal is caught at schedule 476
 * (process death → power loss). The whole file takes under 12 s; inside a
 * full `npx vitest run` of the package, beside the other test files, the
 * 10,000 schedules took up to 16.8 s (still far under the 90 s budget). Replay one
 * schedule with PHARAOH_CRASH_SEED=<seed>; PHARAOH_CRASH_SCHEDULES=<n> runs
 * more (`npm run test:soak`: 100,000).
 */
import { basename } from 'node:path';
import type { FileHandle, FileSystem, OpenOptions } from '@pharaoh/storage';
import { exploreSchedules, type CrashKind, type Schedule, type SimulatedFs } from '@pharaoh/storage/testing';
import { describe, expect, it } from 'vitest';
import { Journal } from './index.js';
import { LOG_NAME } from './recovery.js';

const SCHEDULES = 10_000;
/** Replaying one schedule (PHARAOH_CRASH_SEED): only its invariants are checked. */
const REPLAYING = process.env['PHARAOH_CRASH_SEED'] !== undefined;
const DIR = '/data/txcoord/shard-0/journal';
/**
 * About the file operations of one lifetime (open and replay ~14, a few
 * group commits of 2, a compaction ~6): crash points are drawn from
 * 1..OPS_PER_LIFE, so most faults hit the open or the workload and some land
 * after it.
 */
const OPS_PER_LIFE = 48;

/** A record: its number in append-call order (unique across the schedule), padded so compactions have work. */
type Rec = [n: number, pad: string];

interface Tally {
  lifetimes: number;
  faultsInOpen: number;
  compactions: number;
  appended: number;
  /** Opens that delivered a record that was never acknowledged (so the crash-then-cut rule had something to keep). */
  servedUnacked: number;
}

/** What a schedule knows about its journal, and the checks. */
class Ledger {
  /** Every record the log may hold, in order: what the last open left, then what was appended since, in call order. */
  expected: number[] = [];
  /** Prefix of `expected` that was acknowledged. */
  acked = 0;
  /** Prefix of `expected` that some open delivered: it must replay after any later fault. */
  served = 0;
  /** An open has resolved, so the journal exists durably: later opens pass `mustExist`. */
  created = false;
  next = 1;

  constructor(private readonly tally: Tally) {}

  /** Check what an open delivered (`complete`: the open resolved) and adopt it. */
  replayed(got: number[], complete: boolean, where: string): void {
    for (const [i, n] of got.entries()) {
      if (n !== this.expected[i]) {
        const what = this.expected[i] === undefined ? 'a record never appended' : `record ${n} where ${this.expected[i]} was appended`;
        throw new Error(`${where}: replay delivered ${what} at position ${i} (invented, corrupt or out of order)`);
      }
    }
    if (got.length > this.served && got.length > this.acked) this.tally.servedUnacked++;
    this.served = Math.max(this.served, got.length);
    // An open that the fault cut short stopped delivering early: only what it delivered is checked.
    if (!complete) return;
    if (got.length < this.served) throw new Error(`${where}: record ${this.expected[got.length]} that an earlier open replayed is gone (crash then cut)`);
    if (got.length < this.acked) throw new Error(`${where}: acknowledged record ${this.expected[got.length]} is lost`);
    // The open cut the log after the last intact record: whatever followed is gone for good.
    this.expected = this.expected.slice(0, got.length);
    this.acked = got.length;
  }

  make(rng: () => number, count: number): Rec[] {
    return Array.from({ length: count }, () => {
      const n = this.next++;
      this.expected.push(n);
      this.tally.appended++;
      return [n, 'x'.repeat(Math.floor(rng() * 24))];
    });
  }

  acknowledge(last: Rec): void {
    this.acked = Math.max(this.acked, this.expected.indexOf(last[0]) + 1);
  }
}

/** One lifetime: open (checking the replay), run concurrent workers, stop at the fault or when they are done. */
async function lifetime(s: Schedule, fs: FileSystem, ledger: Ledger, tally: Tally, compactAtBytes: number | undefined, life: number): Promise<void> {
  const final = life === s.chain.length;
  const where = final ? `lifetime ${life} (after the last fault)` : `lifetime ${life}`;
  const faultsBefore = s.fs.stats.processDeaths + s.fs.stats.powerLosses;
  const faulted = (): boolean => s.fs.stats.processDeaths + s.fs.stats.powerLosses > faultsBefore;
  const delivered: number[] = [];
  const state: Rec[] = [];
  let journal: Journal<Rec>;
  try {
    journal = await Journal.open<Rec>(DIR, {
      fs,
      mustExist: ledger.created,
      onRecord: (r) => {
        delivered.push(r[0]);
        state.push(r);
      },
      snapshot: () => state,
      ...(compactAtBytes === undefined ? {} : { compactAtBytes }),
    });
  } catch (err) {
    if (!faulted()) throw new Error(`${where}: the journal refused to open: ${String(err)}`, { cause: err });
    tally.faultsInOpen++;
    ledger.replayed(delivered, false, `${where} (open cut by the fault)`);
    return;
  }
  ledger.replayed(delivered, true, where);
  ledger.created = true;
  if (final) {
    await journal.close();
    return;
  }
  const worker = async (): Promise<void> => {
    const steps = 1 + Math.floor(s.rng() * 5);
    for (let step = 0; step < steps && !faulted(); step++) {
      const roll = s.rng();
      try {
        if (roll < 0.12) {
          await journal.compact();
          continue;
        }
        const recs = ledger.make(s.rng, roll < 0.35 ? 2 + Math.floor(s.rng() * 2) : 1);
        await (recs.length === 1 ? journal.append(recs[0]!) : journal.appendMany(recs));
        state.push(...recs);
        ledger.acknowledge(recs[recs.length - 1]!);
      } catch {
        return; // the fault poisoned the journal (or failed a compaction): this process is done
      }
    }
  };
  await Promise.all(Array.from({ length: 1 + Math.floor(s.rng() * 4) }, worker));
  tally.compactions += journal.stats.compactions;
}

function takeFault(fs: SimulatedFs, kind: CrashKind): void {
  if (kind === 'power') fs.powerLoss();
  else fs.killProcess();
}

/** Run the exploration over `schedules`, the journal seeing the simulator through `view`. */
async function explore(schedules: number, view: (sim: SimulatedFs) => FileSystem = (sim) => sim) {
  const tally: Tally = { lifetimes: 0, faultsInOpen: 0, compactions: 0, appended: 0, servedUnacked: 0 };
  const report = await exploreSchedules({
    schedules,
    fs: { dirs: ['/data/txcoord/shard-0'] },
    async run(s) {
      const ledger = new Ledger(tally);
      const fs = view(s.fs);
      const compactAtBytes = s.rng() < 0.4 ? 48 + Math.floor(s.rng() * 160) : undefined;
      for (const [life, kind] of s.chain.entries()) {
        tally.lifetimes++;
        const before = s.fs.stats.processDeaths + s.fs.stats.powerLosses;
        s.fs.crashAfterOps(s.crashPoint(OPS_PER_LIFE), kind);
        await lifetime(s, fs, ledger, tally, compactAtBytes, life);
        s.fs.cancelCrash();
        if (s.fs.stats.processDeaths + s.fs.stats.powerLosses === before) takeFault(s.fs, kind);
      }
      tally.lifetimes++;
      await lifetime(s, fs, ledger, tally, compactAtBytes, s.chain.length);
    },
  });
  return { report, tally };
}

/**
 * The journal as it was before the fix of issue 14 bug 1: a FileSystem over
 * the simulator whose handles of the log opened for replay (by name, without
 * create) drop their first fdatasync — the one an open makes before it
 * delivers a record. Later fdatasyncs of the same handle (a cut, appends) are kept.
 */
function withoutReplaySync(sim: SimulatedFs): FileSystem {
  const wrapHandle = (h: FileHandle): FileHandle => {
    let dropped = false;
    return {
      path: h.path,
      size: () => h.size(),
      read: (buf, length, position) => h.read(buf, length, position),
      write: (data, position) => h.write(data, position),
      truncate: (size) => h.truncate(size),
      datasync: () => {
        if (dropped) return h.datasync();
        dropped = true;
        return Promise.resolve();
      },
      tryLock: () => h.tryLock(),
      close: () => h.close(),
    };
  };
  const wrap = (fs: FileSystem): FileSystem => ({
    open: async (path: string, o?: OpenOptions) => {
      const h = await fs.open(path, o);
      return basename(path) === LOG_NAME && !o?.create ? wrapHandle(h) : h;
    },
    stat: (path) => fs.stat(path),
    readdir: (dir) => fs.readdir(dir),
    mkdir: (dir) => fs.mkdir(dir),
    rename: (from, to) => fs.rename(from, to),
    unlink: (path) => fs.unlink(path),
    syncDir: (dir) => fs.syncDir(dir),
    forProcess: () => wrap(sim.forProcess()),
  });
  return wrap(sim);
}

describe('journal crash exploration', () => {
  it(`keeps every acknowledged and every replayed record, in order, over ${SCHEDULES} schedules of process deaths, power losses and chains`, async () => {
    const t0 = performance.now();
    const { report, tally } = await explore(SCHEDULES);
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `journal crash exploration: ${report.schedules} schedules in ${seconds} s, ${tally.lifetimes} lifetimes, ` +
        `${report.processDeaths} process deaths, ${report.powerLosses} power losses (${tally.faultsInOpen} during an open), ` +
        `${tally.compactions} compactions, ${tally.servedUnacked} opens delivered unacknowledged records, ${tally.appended} records appended`,
    );
    if (REPLAYING) return;
    expect(report.schedules).toBe(Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? SCHEDULES));
    // Meaningful only if faults hit opens, compactions ran, and restarts served records a fault left unacknowledged.
    expect(tally.faultsInOpen).toBeGreaterThan(report.schedules / 10);
    expect(tally.compactions).toBeGreaterThan(report.schedules / 4);
    expect(tally.servedUnacked).toBeGreaterThan(report.schedules / 20);
  }, 120_000);

  it.skipIf(REPLAYING)('fails on a journal whose open does not make the replayed log durable (issue 14 bug 1)', async () => {
    const err = await explore(SCHEDULES, withoutReplaySync).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/an earlier open replayed is gone \(crash then cut\)/);
    console.log(`journal crash exploration without the replay fdatasync: ${err?.message.split('\n')[0]}`);
  }, 120_000);
});
