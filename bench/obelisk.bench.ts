/**
 * Obelisk benchmark: durable increments on a sparse file, side by side with
 *   (a) a raw loop of ftruncate(+1) + fdatasync through Node's fs (the baseline),
 *   (b) Obelisk increment() with 1, 16, 256 and 1024 concurrent callers (default: group commit only),
 *   (b') the same at 256 and 1024 callers with the opt-in `reserveAhead` window,
 *   (c) reserve(10000) windows handed out from memory,
 *   (d) "append one zero byte + fsync" (the seed blog's variant), with its disk usage.
 * Floors are ratios against (a) measured in the same run, in slices adjacent
 * to the case's own. The whole set runs RUNS times; the page shows each run's
 * floor figures side by side and judges the floors on their median (the
 * machine is shared, and one run's disk can be much slower than the next's).
 * Usage: npm run bench:obelisk [-- --quick]
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Obelisk, type ObeliskOptions } from '@pharaoh/obelisk';
import { LatencyHistogram } from './lib/latency.js';
import { REPO_ROOT, describeMachine, fmt, machineLine, writeSection } from './lib/report.js';
import { timeLoops } from './lib/loops.js';

const QUICK = process.argv.includes('--quick');
/** Seconds per measured case per run (split into slices interleaved with the raw loop). */
const SECONDS = QUICK ? 0.25 : 2;
const SLICES = QUICK ? 2 : 4;
/** Whole passes over every case; floors are judged on the median pass. */
const RUNS = QUICK ? 1 : 3;
const CALLERS = [1, 16, 256, 1024] as const;
const WINDOW = 10_000;
/**
 * The `reserveAhead` window of case (b'). With callers that never yield to the
 * event loop (this bench's loops), a refill completes only once the window ran
 * dry, so every window costs one wait for an fdatasync; 2^20 values make that
 * wait a few percent of the time it takes to hand them out. A reopen after a
 * crash skips at most this many values.
 */
const RESERVE_AHEAD = 2 ** 20;
const FLOOR_SINGLE = 0.8;
const FLOOR_256 = 40;
/** Issue 16: both in the same run. */
const FLOOR_1024_PER_SEC = 1_000_000;
const FLOOR_256_ROUND2 = 200;
const DATA_DIR = join(REPO_ROOT, '.tmp', `bench-obelisk-${process.pid}`);

interface Result {
  name: string;
  ops: number;
  seconds: number;
  syncs: number;
  latency: LatencyHistogram;
  allocatedBytes: number;
  fileBytes: number;
  /** Process CPU time (user + system, all threads) spent in the timed loops, µs. */
  cpuUs: number;
}

const perSec = (r: Result) => r.ops / r.seconds;
const allocated = (path: string) => statSync(path).blocks * 512;
const newResult = (name: string): Result => ({ name, ops: 0, seconds: 0, syncs: 0, latency: new LatencyHistogram(), allocatedBytes: 0, fileBytes: 0, cpuUs: 0 });

/** Run `body` and add the process CPU time it took to `r.cpuUs`. */
async function counted(r: Result, body: () => Promise<void>): Promise<void> {
  const before = process.cpuUsage();
  await body();
  const d = process.cpuUsage(before);
  r.cpuUs += d.user + d.system;
}

/** (a) ftruncate(+1) + fdatasync, one at a time, through fs/promises. */
async function rawBaseline(path: string, seconds: number, into?: Result): Promise<Result> {
  const fh = await open(path, 'a+');
  let size = (await fh.stat()).size;
  const r = into ?? newResult('raw ftruncate(+1) + fdatasync');
  await counted(r, () =>
    timeLoops(r, 1, seconds * 1000, async () => {
      await fh.truncate(++size);
      await fh.datasync();
      r.syncs++;
    }),
  );
  await fh.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

/** (b) `callers` concurrent loops of `await c.increment()`. */
async function obeliskIncrements(path: string, callers: number, seconds: number, into: Result | undefined, options: ObeliskOptions = {}): Promise<Result> {
  const ahead = options.reserveAhead ? ` + reserveAhead ${fmt(options.reserveAhead)}` : '';
  const r = into ?? newResult(`Obelisk increment()${ahead}, ${callers} caller${callers > 1 ? 's' : ''}`);
  const c = await Obelisk.open(path, { ...options, onSync: () => r.syncs++ });
  await counted(r, () => timeLoops(r, callers, seconds * 1000, () => c.increment()));
  await c.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

/** (c) One caller taking values from a window of `WINDOW` reserved durably ahead. */
async function reservedWindow(path: string, seconds: number, into?: Result): Promise<Result> {
  const r: Result = into ?? newResult(`reserve(${WINDOW}) handed out from memory, 1 caller`);
  const c = await Obelisk.open(path, { onSync: () => r.syncs++ });
  let next = 1;
  let last = 0;
  const take = async (): Promise<number> => {
    if (next > last) ({ first: next, last } = await c.reserve(WINDOW));
    return next++;
  };
  const start = performance.now();
  const end = start + seconds * 1000;
  await counted(r, async () => {
    // Time in blocks of 1024 takes: a clock read per value would cost more than the value.
    while (performance.now() < end) {
      const t = performance.now();
      for (let i = 0; i < 1024; i++) await take();
      r.latency.recordMs((performance.now() - t) / 1024);
      r.ops += 1024;
    }
  });
  r.seconds += (performance.now() - start) / 1000;
  await c.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

/** (d) Append one zero byte + fsync per increment: the file's length is the value, but every byte is real. */
async function appendZeroByte(path: string, seconds: number, into?: Result): Promise<Result> {
  const r: Result = into ?? newResult('append one zero byte + fsync');
  const fh = await open(path, 'a');
  const zero = Buffer.alloc(1);
  await counted(r, () =>
    timeLoops(r, 1, seconds * 1000, async () => {
      await fh.write(zero);
      await fh.sync();
      r.syncs++;
    }),
  );
  await fh.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

type Case = (into: Result | undefined, seconds: number) => Promise<Result>;

/** One case in one run, with the raw slices adjacent to it. */
interface Measured {
  result: Result;
  raw: Result;
}

const ratioOf = (m: Measured) => perSec(m.result) / perSec(m.raw);

/**
 * Run `run` in `SLICES` slices alternating with slices of the raw baseline, so
 * each ratio compares against raw numbers measured seconds-not-minutes apart
 * (the disk's speed drifts with other load on a shared machine).
 */
async function againstRaw(run: Case, rawAll: Result): Promise<Measured> {
  let raw: Result | undefined;
  let result: Result | undefined;
  for (let s = 0; s < SLICES; s++) {
    raw = await rawBaseline(join(DATA_DIR, 'raw'), SECONDS / SLICES, raw);
    result = await run(result, SECONDS / SLICES);
  }
  merge(rawAll, raw!);
  return { result: result!, raw: raw! };
}

function merge(into: Result, r: Result): void {
  into.ops += r.ops;
  into.seconds += r.seconds;
  into.syncs += r.syncs;
  into.cpuUs += r.cpuUs;
  into.latency.add(r.latency);
  into.allocatedBytes = r.allocatedBytes;
  into.fileBytes = r.fileBytes;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One case over all runs: median rate and ratio, latencies and CPU pooled. */
interface Row {
  total: Result;
  perSec: number;
  ratio: number;
  rawPerSec: number;
}

function rowOf(runs: Measured[]): Row {
  const total = newResult(runs[0]!.result.name);
  for (const m of runs) merge(total, m.result);
  return {
    total,
    perSec: median(runs.map((m) => perSec(m.result))),
    ratio: median(runs.map(ratioOf)),
    rawPerSec: median(runs.map((m) => perSec(m.raw))),
  };
}

function tableRow(r: Row, note: string): string {
  const t = r.total;
  const cpu = t.ops > 0 ? t.cpuUs / t.ops : NaN;
  return `| ${t.name} | ${fmt(r.perSec)} | ${fmt(r.ratio, 2)}x${note} | ${fmt(t.latency.percentile(50), 1)} | ${fmt(t.latency.percentile(99), 1)} | ${fmt(cpu, cpu < 10 ? 2 : 0)} | ${fmt(t.ops / Math.max(1, t.syncs), 1)} | ${fmt(t.fileBytes)} | ${fmt(t.allocatedBytes)} |`;
}

/** A floor checked in every run and judged on the median. */
interface Floor {
  measure: string;
  perRun: number[];
  median: number;
  floor: number;
  shown: (x: number) => string;
  floorText: string;
}

const verdict = (ok: boolean) => (ok ? 'met' : '**MISSED**');

function floorsTable(floors: Floor[]): string {
  const runs = floors[0]!.perRun.length;
  return [
    `| floor | ${Array.from({ length: runs }, (_, i) => `run ${i + 1}`).join(' | ')} | median | target | verdict (median) |`,
    `|---|${'---:|'.repeat(runs)}---:|---|---|`,
    ...floors.map(
      (f) =>
        `| ${f.measure} | ${f.perRun.map(f.shown).join(' | ')} | ${f.shown(f.median)} | ${f.floorText} | ${verdict(f.median >= f.floor)} (${f.perRun.filter((x) => x >= f.floor).length} of ${runs} runs) |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  const machine = describeMachine(DATA_DIR);
  const loadBefore = loadavg()[0]!;
  const started = performance.now();
  try {
    const rawAll = newResult('raw ftruncate(+1) + fdatasync (all slices)');
    const cases: Case[] = [
      ...CALLERS.map((n): Case => (into, sec) => obeliskIncrements(join(DATA_DIR, `obelisk-${n}`), n, sec, into)),
      ...([256, 1024] as const).map((n): Case => (into, sec) => obeliskIncrements(join(DATA_DIR, `obelisk-ahead-${n}`), n, sec, into, { reserveAhead: RESERVE_AHEAD })),
      (into, sec) => reservedWindow(join(DATA_DIR, 'obelisk-window'), sec, into),
      (into, sec) => appendZeroByte(join(DATA_DIR, 'append'), sec, into),
    ];
    const IDX = { one: 0, c256: 2, c1024: 3, ahead256: 4, ahead1024: 5 };
    /** runs[run][case]; each run measures every case again (new files, new raw slices). */
    const runs: Measured[][] = [];
    for (let run = 0; run < RUNS; run++) {
      const measured: Measured[] = [];
      for (const c of cases) measured.push(await againstRaw(c, rawAll));
      runs.push(measured);
      console.error(`run ${run + 1}/${RUNS} done`);
    }
    const rows = cases.map((_, i) => rowOf(runs.map((m) => m[i]!)));
    const x = (d: number) => (v: number) => `${fmt(v, d)}x`;
    const rate = (v: number) => `${fmt(v / 1e6, 2)} M/s`;
    const floor = (measure: string, i: number, of: (m: Measured) => number, target: number, shown: (v: number) => string, floorText: string): Floor => {
      const perRun = runs.map((m) => of(m[i]!));
      return { measure, perRun, median: median(perRun), floor: target, shown, floorText };
    };
    const rateOf = (m: Measured) => perSec(m.result);
    const aheadText = `reserveAhead ${fmt(RESERVE_AHEAD)}`;
    const floors: Floor[] = [
      floor('1 caller vs raw (a)', IDX.one, ratioOf, FLOOR_SINGLE, x(2), `≥ ${FLOOR_SINGLE}x`),
      floor('256 callers vs raw (a), group commit', IDX.c256, ratioOf, FLOOR_256, x(1), `≥ ${FLOOR_256}x`),
      floor('1024 callers, default (group commit only)', IDX.c1024, rateOf, FLOOR_1024_PER_SEC, rate, '≥ 1 M/s (issue 16)'),
      floor('256 callers vs raw (a), default (group commit only)', IDX.c256, ratioOf, FLOOR_256_ROUND2, x(1), `≥ ${FLOOR_256_ROUND2}x (issue 16)`),
      floor(`1024 callers, ${aheadText}`, IDX.ahead1024, rateOf, FLOOR_1024_PER_SEC, rate, '≥ 1 M/s (issue 16)'),
      floor(`256 callers vs raw (a), ${aheadText}`, IDX.ahead256, ratioOf, FLOOR_256_ROUND2, x(1), `≥ ${FLOOR_256_ROUND2}x (issue 16)`),
    ];
    const [f1, f256, d1024, d256, a1024, a256] = floors as [Floor, Floor, Floor, Floor, Floor, Floor];
    /** Runs in which both issue-16 floors were met by one configuration. */
    const bothIn = (rateF: Floor, ratioF: Floor) => runs.map((_, i) => i).filter((i) => rateF.perRun[i]! >= rateF.floor && ratioF.perRun[i]! >= ratioF.floor);
    const pair = (rateF: Floor, ratioF: Floor) => rateF.median >= rateF.floor && ratioF.median >= ratioF.floor;
    const defaultRuns = bothIn(d1024, d256);
    const aheadRuns = bothIn(a1024, a256);
    const runList = (r: number[]) => (r.length === 0 ? 'no run' : `run${r.length > 1 ? 's' : ''} ${r.map((i) => i + 1).join(', ')}`);
    const table = [
      `| case | durable increments/s (median of ${RUNS}) | vs raw (a) in adjacent slices (median) | p50 µs | p99 µs | CPU µs per increment | increments per fdatasync | file size (bytes) | allocated on disk (bytes) |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      tableRow({ total: rawAll, perSec: perSec(rawAll), ratio: 1, rawPerSec: perSec(rawAll) }, ''),
      ...rows.map((r) => tableRow(r, ` (raw ${fmt(r.rawPerSec)}/s)`)),
    ].join('\n');
    const md = [
      '## Obelisk (durable counter)',
      '',
      `Command: \`npm run bench:obelisk${QUICK ? ' -- --quick' : ''}\` (\`bench/obelisk.bench.ts\`)${QUICK ? ' — QUICK smoke run, numbers not meaningful' : ''}.`,
      `Machine: ${machineLine(machine)}.`,
      `Load average (1 min) at start ${fmt(loadBefore, 1)}, at end ${fmt(loadavg()[0]!, 1)} on ${machine.cores} cores: other work on the machine slows fdatasync, which is why every ratio uses adjacent raw slices. Whole bench: ${fmt((performance.now() - started) / 1000)} s.`,
      `Data directory: \`${DATA_DIR.replace(REPO_ROOT, '<repo>')}\` (inside the repository's .tmp/, on the disk above), removed after the run.`,
      `Every case runs ${SECONDS} s in ${SLICES} slices, alternating with slices of the raw loop (a); its ratio is against those adjacent raw slices, because disk speed drifts with other load on the machine. The whole set runs ${RUNS} time${RUNS > 1 ? 's' : ''} (new files each time); the table shows the median rate and median ratio of the runs, latencies pooled over all of them. Latency is per call; for the window case per value (blocks of 1024 timed together). CPU µs per increment: process CPU time (user + system, every thread) during the timed loops ÷ increments.`,
      `Default Obelisk is group commit only: every call waits for the ftruncate + fdatasync that covers it. The counter's ftruncate is a plain syscall on the event loop (it works through the file system's blocking view, and no other sync of the process is in flight here), so its round makes one thread-pool round trip (the fdatasync) where the raw loop makes two. \`reserveAhead\` (opt-in) grows the file ${fmt(RESERVE_AHEAD)} values past the highest value asked for and answers calls the durable size already covers from memory (each value is still durable before it is returned; a reopen after a crash may skip up to ${fmt(RESERVE_AHEAD)} values).`,
      '',
      table,
      '',
      `Floors, each run side by side (ratios to (a) in that run's adjacent slices), judged on the median of the ${RUNS} run${RUNS > 1 ? 's' : ''}:`,
      '',
      floorsTable(floors),
      '',
      `Issue 16 (≥ 1 M durable increments/s at 1024 callers and ≥ ${FLOOR_256_ROUND2}x raw at 256 callers, in the same run): ` +
        `with ${aheadText}: ${pair(a1024, a256) ? 'met' : '**MISSED**'} on the median, both met together in ${runList(aheadRuns)}; ` +
        `default group commit: ${pair(d1024, d256) ? 'met' : '**MISSED**'} on the median, both met together in ${runList(defaultRuns)}. ` +
        'Without a window every call waits for a round of its own: the same two calls the raw loop makes per value, of which only the fdatasync goes through the thread pool, so 256 callers average about 256x the raw loop times (raw round ÷ Obelisk round) ' +
        '(a single run can show more or less: the disk\'s speed drifts between adjacent slices), and 200x needs an Obelisk round, all the JavaScript of 256 calls included, within 1.28 raw rounds; ' +
        'at 1024 callers the default needs a round (ftruncate + fdatasync + 1024 calls) under ~1 ms, which a disk doing fewer than about 1,600 raw round trips/s (the JavaScript of 1024 calls takes ~0.4 ms of it) does not allow.',
      '',
      'Obelisk and the raw loop grow the file with `ftruncate` only, so it stays sparse (allocated ≈ 0 however large the value); the append variant allocates a real byte per increment.',
    ].join('\n');
    console.log(md);
    const json = {
      machine,
      quick: QUICK,
      seconds: SECONDS,
      runs: RUNS,
      reserveAhead: RESERVE_AHEAD,
      dataDir: DATA_DIR,
      ratio1: f1.median,
      ratio256: f256.median,
      floors: floors.map(({ shown, ...f }) => ({ ...f, shownMedian: shown(f.median), met: f.median >= f.floor })),
      issue16: { defaultMet: pair(d1024, d256), reserveAheadMet: pair(a1024, a256), defaultRuns: defaultRuns.map((i) => i + 1), reserveAheadRuns: aheadRuns.map((i) => i + 1) },
      results: [{ total: rawAll, perSec: perSec(rawAll), ratio: 1, rawPerSec: perSec(rawAll) }, ...rows].map(({ total: { latency, ...r }, perSec: ps, ratio, rawPerSec }) => ({
        ...r,
        perSec: ps,
        ratio,
        rawPerSec,
        cpuUsPerOp: r.ops > 0 ? r.cpuUs / r.ops : null,
        p50ms: latency.percentile(50) / 1000,
        p99ms: latency.percentile(99) / 1000,
      })),
    };
    writeSection('obelisk', md, json);
    const issue16 = pair(a1024, a256) || pair(d1024, d256);
    if (!QUICK && (f1.median < FLOOR_SINGLE || f256.median < FLOOR_256 || !issue16)) process.exitCode = 1;
  } finally {
    rmSync(DATA_DIR, { recursive: true, force: true });
  }
}

await main();
