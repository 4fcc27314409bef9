/**
 * Journal benchmark: durable appends of a ~64-byte record on the real disk,
 *   (a) baseline: a raw loop of pwrite(record) + fdatasync through fs/promises,
 *       measured before and after the journal cases (the mean is the baseline);
 *   (b) Journal.append with 1, 16 and 256 concurrent appenders (group commit).
 * Reports appends/s, p50/p99 append latency, records per fdatasync, and the
 * ratio to (a). Floor (issue 6): 256 appenders >= 30x the raw loop.
 * Usage: npm run bench:journal [-- --quick]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Journal } from '@pharaoh/journal';
import { LatencyHistogram } from './lib/latency.js';
import { REPO_ROOT, describeMachine, fmt, machineLine, writeSection } from './lib/report.js';
import { timeLoops } from './lib/loops.js';

const QUICK = process.argv.includes('--quick');
/** Total seconds per case, split into interleaved slices. */
const SECONDS = QUICK ? 0.25 : 4;
const SLICES = QUICK ? 1 : 8;
const SLICE_MS = (SECONDS * 1000) / SLICES;
const APPENDERS = [1, 16, 256] as const;
const FLOOR_256 = 30;
const DATA_DIR = join(REPO_ROOT, '.tmp', `bench-journal-${process.pid}`);

interface DecisionRecord {
  t: 'c';
  tx: bigint;
  ts: bigint;
  shard: number;
  at: number;
  p: string;
}

/** A txcoord-like commit decision; its frame (payload + 8-byte header) is ~64 bytes. */
const makeRecord = (i: number): DecisionRecord => ({
  t: 'c',
  tx: (1n << 63n) + BigInt(i),
  ts: (1n << 62n) + BigInt(i),
  shard: 517,
  at: 1_764_000_000_000 + i,
  p: 'pad',
});

interface Result {
  name: string;
  appenders: number;
  ops: number;
  seconds: number;
  syncs: number;
  latency: LatencyHistogram;
  compactions: number;
}

const perSec = (r: Result): number => r.ops / r.seconds;

/** (a) one record written then fdatasync'd, strictly one after another, for one slice. */
async function rawSlice(fh: FileHandle, frame: Buffer, r: Result, pos: { at: number }): Promise<void> {
  await timeLoops(r, 1, SLICE_MS, async () => {
    await fh.write(frame, 0, frame.length, pos.at);
    pos.at += frame.length;
    await fh.datasync();
    r.syncs++;
  });
}

/** (b) `r.appenders` concurrent loops of `await journal.append(rec)`, for one slice. */
async function journalSlice(journal: Journal<DecisionRecord>, r: Result, seq: { i: number }): Promise<void> {
  const syncsBefore = journal.stats.syncs;
  await timeLoops(r, r.appenders, SLICE_MS, () => journal.append(makeRecord(seq.i++)));
  r.syncs += journal.stats.syncs - syncsBefore;
  r.compactions = journal.stats.compactions;
}

const newResult = (name: string, appenders: number): Result => ({ name, appenders, ops: 0, seconds: 0, syncs: 0, latency: new LatencyHistogram(), compactions: 0 });

function row(r: Result, baseline: number): string {
  const ratio = perSec(r) / baseline;
  return `| ${r.name} | ${fmt(perSec(r))} | ${fmt(r.latency.percentile(50) / 1000, 3)} | ${fmt(r.latency.percentile(99) / 1000, 3)} | ${fmt(r.ops / Math.max(1, r.syncs), 1)} | ${fmt(ratio, 1)}x |`;
}

async function main(): Promise<void> {
  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });
  const machine = describeMachine(DATA_DIR);
  try {
    const probeDir = join(DATA_DIR, 'probe');
    const probe = await Journal.open<DecisionRecord>(probeDir, { onRecord: () => {}, snapshot: () => [] });
    const before = probe.sizeBytes;
    await probe.append(makeRecord(0));
    const frameBytes = probe.sizeBytes - before;
    await probe.close();
    const frame = Buffer.alloc(frameBytes, 0x5a);

    // Cases run in interleaved slices so that drift in the disk's speed (other
    // tenants, writeback) hits the baseline and the journal alike.
    const raw = newResult('raw pwrite + fdatasync loop', 1);
    const rawFile = await open(join(DATA_DIR, 'raw'), 'w+');
    const rawPos = { at: 0 };
    const state = Array.from({ length: 1000 }, (_, i) => makeRecord(i));
    const cases: Array<{ r: Result; journal: Journal<DecisionRecord> }> = [];
    for (const n of APPENDERS) {
      const journal = await Journal.open<DecisionRecord>(join(DATA_DIR, `journal-${n}`), { onRecord: () => {}, snapshot: () => state });
      cases.push({ r: newResult(`Journal.append, ${n} concurrent`, n), journal });
    }
    const seq = { i: 0 };
    for (let slice = 0; slice < SLICES; slice++) {
      await rawSlice(rawFile, frame, raw, rawPos);
      for (const c of cases) await journalSlice(c.journal, c.r, seq);
    }
    await rawFile.close();
    for (const c of cases) await c.journal.close();
    const baseline = perSec(raw);
    const at256 = perSec(cases.find((c) => c.r.appenders === 256)!.r) / baseline;
    const pass = at256 >= FLOOR_256;

    const md = [
      '## Journal (`@pharaoh/journal`)',
      '',
      `Script: \`npm run bench:journal${QUICK ? ' -- --quick' : ''}\` (bench/journal.bench.ts). ${machineLine(machine)}.`,
      '',
      `Durable appends of a ${frameBytes}-byte frame (msgpack payload + 8-byte length/CRC header) on the disk above, ${SECONDS} s per case.`,
      `Baseline: a raw \`pwrite\` + \`fdatasync\` loop of the same frame in one process, one at a time. The four cases run in ${SLICES} interleaved slices of ${fmt(SLICE_MS)} ms each, so drift in disk speed affects all of them alike.`,
      '',
      '| case | appends/s | p50 ms | p99 ms | records per fdatasync | vs raw loop |',
      '|---|---:|---:|---:|---:|---:|',
      row(raw, baseline),
      ...cases.map((c) => row(c.r, baseline)),
      '',
      `Floor: 256 concurrent appenders >= ${FLOOR_256}x the raw loop — measured ${fmt(at256, 1)}x: **${pass ? 'PASS' : 'FAIL'}**.`,
      QUICK ? '\n_Quick run (`--quick`): tiny durations, numbers are not meaningful._' : '',
    ].join('\n');
    const json = {
      machine,
      quick: QUICK,
      frameBytes,
      seconds: SECONDS,
      floor256: FLOOR_256,
      ratio256: at256,
      pass,
      cases: [raw, ...cases.map((c) => c.r)].map((r) => ({
        name: r.name,
        appenders: r.appenders,
        perSec: perSec(r),
        p50Ms: r.latency.percentile(50) / 1000,
        p99Ms: r.latency.percentile(99) / 1000,
        recordsPerSync: r.ops / Math.max(1, r.syncs),
        ratioToRaw: perSec(r) / baseline,
        compactions: r.compactions,
      })),
    };
    writeSection('journal', md, json);
    console.log(md);
  } finally {
    rmSync(DATA_DIR, { recursive: true, force: true });
  }
}

await main();
