/**
 * `npm run bench`: run every benchmark script in bench/*.bench.ts one after the
 * other (each in its own node process, so none disturbs another's memory or
 * event loop), with a progress display, then regenerate docs/BENCHMARKS.md:
 * a header with the machine, a summary of headline numbers and floors, plots
 * drawn from bench/results/*.json into docs/bench/*.svg, and every benchmark's
 * own section unchanged.
 *
 * Flags: --quick (passed to every script), --only a,b (run just these; the
 * page is still rebuilt from every result present), --skip a,b
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { writeFigures, readResult, type Figure } from './lib/figures.js';
import { headlinesFor, type Headline } from './lib/headlines.js';
import { REPO_ROOT, RESULTS_DIR, describeMachine, machineLine, writePage, writeSection } from './lib/report.js';

/** Page order; scripts not listed here run after these, in name order. */
export const ORDER = ['obelisk', 'snowflake', 'journal', 'tso', 'coord', 'client', 'scale', 'fleet', 'peers'];
const BENCH_DIR = join(REPO_ROOT, 'bench');

interface RunStatus {
  name: string;
  status: 'ok' | 'failed' | 'not run' | 'missing';
  seconds: number;
  detail: string;
  /** The result JSON was written by this run (not left over from an earlier one). */
  fresh: boolean;
}

function discover(): string[] {
  const found = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length));
  return [...ORDER.filter((n) => found.includes(n)), ...found.filter((n) => !ORDER.includes(n)).sort()];
}

function resultMtime(name: string): number {
  const p = join(RESULTS_DIR, `${name}.json`);
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

/** Run one script to completion; its output goes to `log`, its last line to the progress bar. */
function runOne(name: string, quick: boolean, logDir: string, onLine: (l: string) => void): Promise<RunStatus> {
  const t0 = performance.now();
  const before = resultMtime(name);
  const logPath = join(logDir, `${name}.log`);
  const log = createWriteStream(logPath);
  const args = ['--import', 'tsx', join(BENCH_DIR, `${name}.bench.ts`), ...(quick ? ['--quick'] : [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const feed = (d: Buffer): void => {
      log.write(d);
      const last = d.toString().trim().split('\n').pop();
      if (last) onLine(last.slice(0, 70));
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('close', (code, signal) => {
      log.end();
      const seconds = (performance.now() - t0) / 1000;
      const fresh = resultMtime(name) > before;
      const ok = code === 0;
      // Some scripts exit non-zero after writing their results when a floor is missed: that is a result, not a crash.
      const detail = ok
        ? fresh
          ? ''
          : 'exited 0 but wrote no results'
        : `exit ${code ?? signal}${fresh ? ' after writing its results' : ', no results written'}; log: ${logPath}`;
      resolve({ name, status: ok || fresh ? 'ok' : 'failed', seconds, detail, fresh });
    });
  });
}

async function runAll(names: string[], quick: boolean): Promise<RunStatus[]> {
  const logDir = mkdtempSync(join(os.tmpdir(), 'pharaoh-bench-logs-'));
  console.log(`benchmarks: ${names.join(', ')}${quick ? ' (--quick)' : ''}; logs in ${logDir}`);
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {value}/{total} | {bench} | {line}',
      noTTYOutput: true,
      notTTYSchedule: 15_000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(names.length, 0, { bench: names[0] ?? '', line: 'starting' });
  const out: RunStatus[] = [];
  for (const [i, name] of names.entries()) {
    bar.update(i, { bench: name, line: 'starting' });
    const s = await runOne(name, quick, logDir, (line) => bar.update(i, { bench: name, line }));
    out.push(s);
    bar.update(i + 1, { bench: name, line: `${s.status} in ${s.seconds.toFixed(0)} s` });
  }
  bar.stop();
  return out;
}

function ratioCell(h: Headline): string {
  if (h.ratio === undefined) return '';
  const r = h.ratio.toFixed(h.ratio >= 10 ? 0 : 2);
  return h.ratio >= 1 ? `${r} — met` : `${r} — **missed**`;
}

function summaryMarkdown(statuses: RunStatus[], all: string[], figures: Figure[], quick: boolean): { md: string; headlines: Headline[] } {
  const machine = describeMachine();
  const headlines = all.flatMap((n) => headlinesFor(n, readResult(n)));
  const runRows = [...all, 'fleet'].filter((n, i, a) => a.indexOf(n) === i).map((n) => {
    const s = statuses.find((x) => x.name === n);
    const absent = n === 'fleet' ? 'no bench/fleet.bench.ts in this checkout (1 vs 2 TSO processes: see the scale section)' : `no bench/${n}.bench.ts in this checkout`;
    if (!s) return `| ${n} | ${all.includes(n) ? 'not run this time (earlier results kept)' : `not run: ${absent}`} | | |`;
    return `| ${n} | ${s.status}${s.detail ? ` (${s.detail})` : ''} | ${s.seconds.toFixed(0)} s | ${s.fresh ? `bench/results/${n}.json` : ''} |`;
  });
  const lines = [
    '## Summary (`npm run bench`)',
    '',
    `Machine: ${machineLine(machine)}${quick ? ' — **quick smoke run: the numbers are not meaningful**' : ''}. Load average (1/5/15 min) when the page was rebuilt: ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}.`,
    '',
    'Each benchmark below ran as its own process, one after the other, and wrote its own section from a real run; ' +
      'each section names the machine and date of its run. Floors are the targets set in the issues, measured as ratios in the same run; ' +
      'the ratio column is measured ÷ floor for "at least" floors and limit ÷ measured for "at most" ones, so ≥ 1 means met.',
    '',
    '| Benchmark | Measure | Value | Floor | Ratio to floor |',
    '|---|---|---:|---|---:|',
    ...headlines.map((h) => `| ${h.bench} | ${h.measure} | ${h.value} | ${h.floor ?? ''} | ${ratioCell(h)} |`),
    '',
    '| Benchmark | This run | Time | Results |',
    '|---|---|---:|---|',
    ...runRows,
    '',
    ...figures.flatMap((f) => [`![${f.title}](${f.link})`, '']),
  ];
  return { md: lines.join('\n'), headlines };
}

const HEADER = `# Pharaoh benchmarks

This page is regenerated by \`npm run bench\` (bench/run-all.ts) from the results in
\`bench/results/*.json\`; each section between \`BEGIN\`/\`END\` markers is written by the
benchmark script it names and can be re-run alone (e.g. \`npm run bench:peers\`). Plots are
SVG files in \`docs/bench/\` drawn from the same JSON. Benchmarks never run as timed tests in CI.`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, skip: { type: 'string' } } });
  const all = discover();
  const only = values.only?.split(',');
  const skip = new Set(values.skip?.split(',') ?? []);
  const names = all.filter((n) => (!only || only.includes(n)) && !skip.has(n));
  const statuses = await runAll(names, values.quick ?? false);
  const figures = writeFigures();
  const { md, headlines } = summaryMarkdown(statuses, all, figures, values.quick ?? false);
  writeSection('summary', md, { machine: describeMachine(), quick: values.quick ?? false, runs: statuses, headlines, figures });
  writePage(HEADER, ['summary', ...ORDER, ...all]);
  for (const s of statuses) console.log(`${s.name}: ${s.status} in ${s.seconds.toFixed(0)} s${s.detail ? ` — ${s.detail}` : ''}`);
  const missed = headlines.filter((h) => h.ratio !== undefined && h.ratio < 1);
  console.log(`docs/BENCHMARKS.md regenerated: ${headlines.length} headline numbers, ${missed.length} floors missed, ${figures.length} plots`);
  process.exitCode = statuses.some((s) => s.status === 'failed') ? 1 : 0;
}

await main();
