/**
 * The plots of docs/BENCHMARKS.md, drawn from bench/results/*.json into
 * docs/bench/*.svg. Each figure is drawn only when its benchmark's JSON has
 * the data; a figure whose data is missing is skipped, never faked.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart, lineChart, type Series } from './plot.js';
import { FIGURES_DIR, RESULTS_DIR } from './report.js';

export interface Figure {
  /** Path relative to docs/ (for Markdown links from BENCHMARKS.md). */
  link: string;
  title: string;
}

type J = Record<string, unknown>;
const arr = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);
const obj = (v: unknown): J => (v !== null && typeof v === 'object' ? (v as J) : {});
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

export function readResult(name: string): J | undefined {
  const p = join(RESULTS_DIR, `${name}.json`);
  if (!existsSync(p)) return undefined;
  try {
    return obj(JSON.parse(readFileSync(p, 'utf8')));
  } catch {
    return undefined;
  }
}

function save(file: string, svg: string, title: string): Figure {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(join(FIGURES_DIR, file), svg);
  return { link: `bench/${file}`, title };
}

function obeliskFigure(j: J): Figure | undefined {
  const pts: Array<[number, number]> = [];
  const ahead: Array<[number, number]> = [];
  let raw = NaN;
  for (const r of arr(j.results)) {
    const m = /increment\(\), (\d+) callers?/.exec(String(r.name));
    if (m) pts.push([Number(m[1]), num(r.perSec)]);
    const a = /increment\(\) \+ reserveAhead [\d,]+, (\d+) callers?/.exec(String(r.name));
    if (a) ahead.push([Number(a[1]), num(r.perSec)]);
    if (String(r.name).startsWith('raw')) raw = num(r.perSec);
  }
  if (pts.length < 2) return undefined;
  const series: Series[] = [{ name: 'Obelisk increment()', points: pts }];
  if (ahead.length >= 2) series.push({ name: 'increment() with reserveAhead', points: ahead });
  if (Number.isFinite(raw)) series.push({ name: 'raw ftruncate+fdatasync', points: pts.map(([x]) => [x, raw]) });
  const title = 'Obelisk: durable increments/s vs concurrent callers';
  return save('obelisk-concurrency.svg', lineChart({ title, xLabel: 'concurrent callers', yLabel: 'increments/s', series, logX: true, logY: true }), title);
}

function journalFigure(j: J): Figure | undefined {
  const cases = arr(j.cases);
  const jr = cases.filter((c) => String(c.name).startsWith('Journal'));
  const raw = cases.find((c) => String(c.name).startsWith('raw'));
  if (jr.length < 2) return undefined;
  const pts = jr.map((c): [number, number] => [num(c.appenders), num(c.perSec)]);
  const series: Series[] = [{ name: 'Journal.append', points: pts }];
  if (raw) series.push({ name: 'raw write+fdatasync', points: pts.map(([x]) => [x, num(raw.perSec)]) });
  const title = 'Journal: durable appends/s vs concurrent appenders';
  return save('journal-concurrency.svg', lineChart({ title, xLabel: 'concurrent appenders', yLabel: 'appends/s', series, logX: true, logY: true }), title);
}

function tsoFigure(j: J): Figure | undefined {
  const results = arr(j.results);
  if (results.length === 0) return undefined;
  const bars = results.flatMap((r) => {
    const name = String(obj(r.case).name ?? '?');
    const t = obj(r.tso);
    const e = obj(r.echo);
    return [
      { label: `${name}: TSO`, values: [num(t.p50us), num(t.p99us), num(t.p999us)] },
      { label: `${name}: echo baseline`, values: [num(e.p50us), num(e.p99us), num(e.p999us)] },
    ];
  });
  const title = 'TSO over WebSocket: latency percentiles (µs)';
  return save('tso-latency.svg', barChart({ title, xLabel: 'latency, µs', seriesNames: ['p50', 'p99', 'p99.9'], bars, logX: true }), title);
}

function clientFigure(j: J): Figure | undefined {
  const by = new Map<string, Array<[number, number]>>();
  for (const r of arr(j.results)) {
    const mode = String(r.mode);
    by.set(mode, [...(by.get(mode) ?? []), [num(r.callers), num(r.perSec)]]);
  }
  if (by.size === 0) return undefined;
  const names: Record<string, string> = { router: 'router tso.next()', keyed: 'router tso.next({ key }), one key', raw: 'raw protocol, 1 ID/request' };
  const series = [...by].map(([mode, points]) => ({ name: names[mode] ?? mode, points }));
  const title = 'Client: calls/s vs concurrent callers (one TSO process)';
  return save('client-callers.svg', lineChart({ title, xLabel: 'concurrent callers', yLabel: 'calls/s', series, logX: true, logY: true }), title);
}

function peersFigures(j: J): Figure[] {
  const rows = arr(j.rows);
  if (rows.length === 0) return [];
  const cs = [...new Set(rows.map((r) => num(r.concurrency)))].sort((a, b) => a - b);
  const ids = [...new Set(rows.map((r) => String(r.id)))];
  const bar = (id: string, f: (r: J) => number[]): { label: string; values: number[]; caveat?: string } => {
    const first = rows.find((r) => r.id === id)!;
    const label = String(first.label).replace(/`/g, '');
    return first.crashSafe ? { label, values: f(first) } : { label, values: f(first), caveat: 'NOT crash-safe' };
  };
  const at = (id: string, c: number): J | undefined => rows.find((r) => r.id === id && num(r.concurrency) === c);
  const thr = ids.map((id) => bar(id, () => cs.map((c) => num(at(id, c)?.idsPerSec))));
  const top = cs[cs.length - 1]!;
  const lat = ids.map((id) => bar(id, () => [num(at(id, top)?.p50Us), num(at(id, top)?.p99Us)]));
  const t1 = 'Fresh IDs/s: Pharaoh vs Redis vs PostgreSQL (hatched = not crash-safe)';
  const t2 = `Latency per call at ${top} concurrent callers (µs)`;
  return [
    save('peers-throughput.svg', barChart({ title: t1, xLabel: 'IDs/s', seriesNames: cs.map((c) => `${c} caller${c === 1 ? '' : 's'}`), bars: thr, logX: true, width: 900 }), t1),
    save('peers-latency.svg', barChart({ title: t2, xLabel: 'latency, µs', seriesNames: ['p50', 'p99'], bars: lat, logX: true, width: 900 }), t2),
  ];
}

function scaleFigure(j: J): Figure | undefined {
  const sc = arr(j.shardCounts);
  if (sc.length < 2) return undefined;
  const series: Series[] = [
    { name: 'tso.next()', points: sc.map((f) => [num(f.shards), num(obj(f.next).idsPerSec)]) },
    { name: 'tso.range(100)', points: sc.map((f) => [num(f.shards), num(obj(f.range).idsPerSec)]) },
  ];
  const title = 'One TSO process: IDs/s vs shards hosted';
  return save('scale-shards.svg', lineChart({ title, xLabel: 'shards hosted by the process', yLabel: 'IDs/s', series, logX: true, logY: true }), title);
}

/** Draw every figure whose data exists; returns them in page order. */
export function writeFigures(): Figure[] {
  const out: Array<Figure | undefined> = [];
  const o = readResult('obelisk');
  if (o) out.push(obeliskFigure(o));
  const jn = readResult('journal');
  if (jn) out.push(journalFigure(jn));
  const t = readResult('tso');
  if (t) out.push(tsoFigure(t));
  const c = readResult('client');
  if (c) out.push(clientFigure(c));
  const s = readResult('scale');
  if (s) out.push(scaleFigure(s));
  const p = readResult('peers');
  if (p) out.push(...peersFigures(p));
  return out.filter((f): f is Figure => f !== undefined);
}
