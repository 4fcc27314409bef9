/**
 * Keeps the benchmark scripts working without timing anything: a tiny
 * `--quick` peer run (Pharaoh, plus Redis when installed) and the page
 * regeneration of `npm run bench`, both writing into a temp dir
 * (PHARAOH_BENCH_OUT) instead of docs/. No assertion is about speed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, runToExit } from '@pharaoh/testkit';
import { barChart, lineChart } from '../../../bench/lib/plot.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const OUT = mkdtempSync(join(os.tmpdir(), 'pharaoh-bench-smoke-'));

afterAll(async () => {
  await killAll();
  rmSync(OUT, { recursive: true, force: true });
});

/** Run a bench script as one node process; resolves with its exit code and output (stdout, then stderr). */
async function runScript(script: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const r = await runToExit(join(ROOT, 'bench', script), args, { cwd: ROOT, env: { ...process.env, PHARAOH_BENCH_OUT: OUT }, timeoutMs: 110_000 });
  return { code: r.code, output: r.stdout + r.stderr };
}

interface PeerRow {
  id: string;
  system: string;
  crashSafe: boolean;
  calls: number;
  errors: number;
}

describe('benchmark scripts (smoke, untimed)', () => {
  it('draws a line chart with one polyline per series and escapes labels', () => {
    const svg = lineChart({
      title: 'a < b',
      xLabel: 'callers',
      yLabel: 'ops/s',
      series: [
        { name: 'one', points: [[1, 10], [16, 100], [256, 1000]] },
        { name: 'two', points: [[1, 5], [16, 50], [256, 500]] },
      ],
      logX: true,
      logY: true,
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('a &lt; b');
    expect(svg).not.toMatch(/font-size="[^"]*"[^>]*font-size=/);
  });

  it('draws hatched bars for rows with a caveat and plain bars for the others', () => {
    const svg = barChart({
      title: 't',
      xLabel: 'IDs/s',
      seriesNames: ['1 caller'],
      bars: [
        { label: 'safe', values: [1000] },
        { label: 'fast', values: [50_000], caveat: 'NOT crash-safe' },
      ],
      logX: true,
    });
    expect(svg).toContain('fast (NOT crash-safe)');
    expect(svg.match(/fill="url\(#hatch\)"/g)).toHaveLength(1);
  });

  it('runs a quick peer comparison and labels which rows are crash-safe', async () => {
    const r = await runScript('peers.bench.ts', ['--quick', '--only', 'pharaoh,redis', '--concurrency', '2', '--duration', '150']);
    expect(r.code, r.output).toBe(0);
    const rep = JSON.parse(readFileSync(join(OUT, 'results', 'peers.json'), 'utf8')) as { rows: PeerRow[]; skipped: Array<{ system: string }> };
    const ran = ['pharaoh', 'redis'].filter((s) => !rep.skipped.some((k) => k.system === s));
    // Pharaoh is part of this checkout, so it must have run.
    expect(ran).toContain('pharaoh');
    for (const system of ran) {
      const rows = rep.rows.filter((x) => x.system === system);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.calls, row.id).toBeGreaterThan(0);
        expect(row.errors, row.id).toBe(0);
      }
    }
    expect(rep.rows.filter((x) => x.system === 'pharaoh').every((x) => x.crashSafe)).toBe(true);
    const everysec = rep.rows.find((x) => x.id === 'redis-incr-everysec');
    if (everysec) expect(everysec.crashSafe).toBe(false);
    expect(readFileSync(join(OUT, 'BENCHMARKS.md'), 'utf8')).toContain('<!-- BEGIN peers -->');
  }, 120_000);

  it('rebuilds the page with a summary above the existing sections and draws plots from the results', async () => {
    const r = await runScript('run-all.ts', ['--quick', '--only', 'no-such-benchmark']);
    expect(r.code, r.output).toBe(0);
    const page = readFileSync(join(OUT, 'BENCHMARKS.md'), 'utf8');
    const summary = page.indexOf('<!-- BEGIN summary -->');
    expect(summary).toBeGreaterThan(0);
    expect(page.indexOf('<!-- BEGIN peers -->')).toBeGreaterThan(summary);
    expect(page.match(/<!-- BEGIN peers -->/g)).toHaveLength(1);
    expect(existsSync(join(OUT, 'bench', 'peers-throughput.svg'))).toBe(true);
    expect(page).toContain('bench/peers-throughput.svg');
  }, 120_000);
});
