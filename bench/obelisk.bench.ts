/**
 * Obelisk benchmark: durable increments on a sparse file, side by side with
 *   (a) a raw loop of ftruncate(+1) + fdatasync through Node's fs (the baseline),
 *   (b) Obelisk increment() with 1, 16, 256 and 1024 concurrent callers,
 *   (c) reserve(10000) windows handed out from memory,
 *   (d) "append one zero byte + fsync" (the seed blog's variant), with its disk usage.
 * Floors are ratios against (a) measured in the same run.
 * Usage: npm run bench:obelisk [-- --quick]
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Obelisk } from '@pharaoh/obelisk';
import { REPO_ROOT, describeMachine, fmt, machineLine, percentile, writeSection } from './lib/report.js';
import { timeLoops } from './lib/loops.js';

const QUICK = process.argv.includes('--quick');
/** Seconds per measured case (the single-caller comparison is split into interleaved slices). */
const SECONDS = QUICK ? 0.25 : 3;
const SLICES = QUICK ? 2 : 6;
const CALLERS = [1, 16, 256, 1024] as const;
const WINDOW = 10_000;
const FLOOR_SINGLE = 0.8;
const FLOOR_256 = 40;
const DATA_DIR = join(REPO_ROOT, '.tmp', `bench-obelisk-${process.pid}`);

interface Result {
  name: string;
  ops: number;
  seconds: number;
  syncs: number;
  latenciesMs: number[];
  allocatedBytes: number;
  fileBytes: number;
}

const perSec = (r: Result) => r.ops / r.seconds;
const allocated = (path: string) => statSync(path).blocks * 512;

/** (a) ftruncate(+1) + fdatasync, one at a time, through fs/promises. */
async function rawBaseline(path: string, seconds: number, into?: Result): Promise<Result> {
  const fh = await open(path, 'a+');
  let size = (await fh.stat()).size;
  const r = into ?? { name: 'raw ftruncate(+1) + fdatasync', ops: 0, seconds: 0, syncs: 0, latenciesMs: [], allocatedBytes: 0, fileBytes: 0 };
  await timeLoops(r, 1, seconds * 1000, async () => {
    await fh.truncate(++size);
    await fh.datasync();
    r.syncs++;
  });
  await fh.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

/** (b) `callers` concurrent loops of `await c.increment()`. */
async function obeliskIncrements(path: string, callers: number, seconds: number, into?: Result): Promise<Result> {
  const r = into ?? { name: `Obelisk increment(), ${callers} caller${callers > 1 ? 's' : ''}`, ops: 0, seconds: 0, syncs: 0, latenciesMs: [], allocatedBytes: 0, fileBytes: 0 };
  const c = await Obelisk.open(path, { onSync: () => r.syncs++ });
  await timeLoops(r, callers, seconds * 1000, () => c.increment());
  await c.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

/** (c) One caller taking values from a window of `WINDOW` reserved durably ahead. */
async function reservedWindow(path: string, seconds: number, into?: Result): Promise<Result> {
  const r: Result = into ?? { name: `reserve(${WINDOW}) handed out from memory, 1 caller`, ops: 0, seconds: 0, syncs: 0, latenciesMs: [], allocatedBytes: 0, fileBytes: 0 };
  const c = await Obelisk.open(path, { onSync: () => r.syncs++ });
  let next = 1;
  let last = 0;
  const take = async (): Promise<number> => {
    if (next > last) ({ first: next, last } = await c.reserve(WINDOW));
    return next++;
  };
  const start = performance.now();
  const end = start + seconds * 1000;
  // Time in blocks of 1024 takes: a clock read per value would cost more than the value.
  while (performance.now() < end) {
    const t = performance.now();
    for (let i = 0; i < 1024; i++) await take();
    r.latenciesMs.push((performance.now() - t) / 1024);
    r.ops += 1024;
  }
  r.seconds += (performance.now() - start) / 1000;
  await c.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

/** (d) Append one zero byte + fsync per increment: the file's length is the value, but every byte is real. */
async function appendZeroByte(path: string, seconds: number, into?: Result): Promise<Result> {
  const r: Result = into ?? { name: 'append one zero byte + fsync', ops: 0, seconds: 0, syncs: 0, latenciesMs: [], allocatedBytes: 0, fileBytes: 0 };
  const fh = await open(path, 'a');
  const zero = Buffer.alloc(1);
  await timeLoops(r, 1, seconds * 1000, async () => {
    await fh.write(zero);
    await fh.sync();
    r.syncs++;
  });
  await fh.close();
  r.allocatedBytes = allocated(path);
  r.fileBytes = statSync(path).size;
  return r;
}

function row(r: Result, base: number, note = ''): string {
  const ratio = perSec(r) / base;
  return `| ${r.name} | ${fmt(perSec(r))} | ${fmt(ratio, 2)}x${note} | ${fmt(percentile(r.latenciesMs, 50) * 1000, 1)} | ${fmt(percentile(r.latenciesMs, 99) * 1000, 1)} | ${fmt(r.ops / Math.max(1, r.syncs), 1)} | ${fmt(r.fileBytes)} | ${fmt(r.allocatedBytes)} |`;
}

type Case = (into: Result | undefined, seconds: number) => Promise<Result>;

/**
 * Run `run` in `SLICES` slices alternating with slices of the raw baseline, so
 * each ratio compares against raw numbers measured minutes-not-apart (the disk's
 * speed drifts with other load on a shared machine).
 */
async function againstRaw(run: Case, rawAll: Result): Promise<{ result: Result; raw: Result }> {
  let raw: Result | undefined;
  let result: Result | undefined;
  for (let s = 0; s < SLICES; s++) {
    raw = await rawBaseline(join(DATA_DIR, 'raw'), SECONDS / SLICES, raw);
    result = await run(result, SECONDS / SLICES);
  }
  rawAll.ops += raw!.ops;
  rawAll.seconds += raw!.seconds;
  rawAll.syncs += raw!.syncs;
  rawAll.latenciesMs.push(...raw!.latenciesMs);
  rawAll.allocatedBytes = raw!.allocatedBytes;
  rawAll.fileBytes = raw!.fileBytes;
  return { result: result!, raw: raw! };
}

async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  const machine = describeMachine(DATA_DIR);
  const loadBefore = loadavg()[0]!;
  try {
    const rawAll: Result = { name: 'raw ftruncate(+1) + fdatasync (all slices)', ops: 0, seconds: 0, syncs: 0, latenciesMs: [], allocatedBytes: 0, fileBytes: 0 };
    const cases: Case[] = [
      ...CALLERS.map((n): Case => (into, sec) => obeliskIncrements(join(DATA_DIR, `obelisk-${n}`), n, sec, into)),
      (into, sec) => reservedWindow(join(DATA_DIR, 'obelisk-window'), sec, into),
      (into, sec) => appendZeroByte(join(DATA_DIR, 'append'), sec, into),
    ];
    const measured: { result: Result; raw: Result }[] = [];
    for (const c of cases) measured.push(await againstRaw(c, rawAll));
    const ratioOf = (m: { result: Result; raw: Result }) => perSec(m.result) / perSec(m.raw);
    const ratio1 = ratioOf(measured[0]!);
    const ratio256 = ratioOf(measured[2]!);
    const verdict = (ok: boolean) => (ok ? 'met' : '**MISSED**');
    const table = [
      '| case | durable increments/s | vs raw (a) in adjacent slices | p50 µs | p99 µs | increments per fdatasync | file size (bytes) | allocated on disk (bytes) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      row(rawAll, perSec(rawAll)),
      ...measured.map((m) => row(m.result, perSec(m.raw), ` (raw ${fmt(perSec(m.raw))}/s)`)),
    ].join('\n');
    const md = [
      '## Obelisk (durable counter)',
      '',
      `Command: \`npm run bench:obelisk${QUICK ? ' -- --quick' : ''}\` (\`bench/obelisk.bench.ts\`)${QUICK ? ' — QUICK smoke run, numbers not meaningful' : ''}.`,
      `Machine: ${machineLine(machine)}.`,
      `Load average (1 min) at start ${fmt(loadBefore, 1)}, at end ${fmt(loadavg()[0]!, 1)} on ${machine.cores} cores: other work on the machine slows fdatasync, which is why every ratio uses adjacent raw slices.`,
      `Data directory: \`${DATA_DIR.replace(REPO_ROOT, '<repo>')}\` (inside the repository's .tmp/, on the disk above), removed after the run.`,
      `Each case runs ${SECONDS} s in ${SLICES} slices, alternating with slices of the raw loop (a); its ratio is against those adjacent raw slices, because disk speed drifts with other load on the machine. Latency is per call; for the window case per value (blocks of 1024 timed together).`,
      '',
      table,
      '',
      `Floors (ratios to (a) in this run): 1 caller ${fmt(ratio1, 2)}x (floor ${FLOOR_SINGLE}x: ${verdict(ratio1 >= FLOOR_SINGLE)}); 256 callers ${fmt(ratio256, 1)}x (floor ${FLOOR_256}x: ${verdict(ratio256 >= FLOOR_256)}).`,
      '',
      'Obelisk and the raw loop grow the file with `ftruncate` only, so it stays sparse (allocated ≈ 0 however large the value); the append variant allocates a real byte per increment.',
    ].join('\n');
    console.log(md);
    writeSection('obelisk', md, { machine, quick: QUICK, seconds: SECONDS, dataDir: DATA_DIR, ratio1, ratio256, results: [rawAll, ...measured.map((m) => m.result)].map(({ latenciesMs, ...r }) => ({ ...r, perSec: perSec({ latenciesMs, ...r }), p50ms: percentile(latenciesMs, 50), p99ms: percentile(latenciesMs, 99) })) });
    if (!QUICK && (ratio1 < FLOOR_SINGLE || ratio256 < FLOOR_256)) process.exitCode = 1;
  } finally {
    rmSync(DATA_DIR, { recursive: true, force: true });
  }
}

await main();
