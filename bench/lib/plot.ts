/**
 * Tiny SVG chart writers for docs/bench/*.svg: line charts (x/y series, linear
 * or log axes) and horizontal bar charts (grouped, log or linear). Pure string
 * building from the data, so the plots are regenerated with every run and need
 * no plotting dependency. Output is plain SVG 1.1 that GitHub renders inline.
 */

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

export interface Bar {
  label: string;
  /** One value per series of the chart (NaN or missing = no bar). */
  values: number[];
  /** Drawn hatched, with the note after the label (e.g. "not crash-safe"). */
  caveat?: string;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  /** Names of the values of each bar (one colour each). */
  seriesNames: string[];
  bars: Bar[];
  logX?: boolean;
  width?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const FONT = 'font-family="Helvetica,Arial,sans-serif"';

interface Axis {
  min: number;
  max: number;
  log: boolean;
  ticks: number[];
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** 1234567 → "1.2M", 0.5 → "0.5". */
export function si(v: number): string {
  const a = Math.abs(v);
  const units: Array<[number, string]> = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [f, u] of units) if (a >= f) return `${trim(v / f)}${u}`;
  return trim(v);
}

function trim(v: number): string {
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return String(Number(v.toFixed(digits)));
}

function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

function makeAxis(values: number[], log: boolean, zeroBased: boolean): Axis {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (finite.length === 0) return { min: log ? 1 : 0, max: log ? 10 : 1, log, ticks: log ? [1, 10] : [0, 1] };
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (log) {
    const min = 10 ** Math.floor(Math.log10(lo));
    let max = 10 ** Math.ceil(Math.log10(hi));
    if (max === min) max = min * 10;
    const ticks: number[] = [];
    for (let t = min; t <= max * 1.0001; t *= 10) ticks.push(t);
    return { min, max, log, ticks };
  }
  if (zeroBased) lo = Math.min(0, lo);
  if (hi === lo) hi = lo + 1;
  const step = niceStep(hi - lo, 5);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = min; t <= max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { min, max, log, ticks };
}

/** A log x axis spanning exactly the data (padded a little), ticked at the data's x values. */
function tightLogAxis(xs: number[], log: boolean): Axis | undefined {
  const pos = [...new Set(xs.filter((v) => Number.isFinite(v) && v > 0))].sort((a, b) => a - b);
  if (!log || pos.length < 2) return undefined;
  const pad = (Math.log10(pos[pos.length - 1]!) - Math.log10(pos[0]!)) * 0.05;
  return { min: 10 ** (Math.log10(pos[0]!) - pad), max: 10 ** (Math.log10(pos[pos.length - 1]!) + pad), log: true, ticks: pos };
}

/** Position of `v` on an axis as a fraction 0..1. */
function frac(a: Axis, v: number): number {
  if (a.log) return (Math.log10(Math.max(v, a.min)) - Math.log10(a.min)) / (Math.log10(a.max) - Math.log10(a.min));
  return (v - a.min) / (a.max - a.min);
}

function text(x: number, y: number, s: string, attrs = ''): string {
  const size = attrs.includes('font-size') ? '' : ' font-size="12"';
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT}${size} ${attrs}>${esc(s)}</text>`;
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(width / 2, 22, title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A line chart with one polyline (and point markers) per series, legend on the right. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 760;
  const height = o.height ?? 400;
  const left = 80;
  const right = 230;
  const top = 40;
  const bottom = 55;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]));
  const ax = tightLogAxis(xs, o.logX ?? false) ?? makeAxis(xs, o.logX ?? false, false);
  const ay = makeAxis(ys, o.logY ?? false, true);
  const X = (v: number): number => left + frac(ax, v) * pw;
  const Y = (v: number): number => top + ph - frac(ay, v) * ph;
  const body: string[] = [];
  for (const t of ay.ticks) {
    body.push(`<line x1="${left}" x2="${left + pw}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#e0e0e0"/>`);
    body.push(text(left - 6, Y(t) + 4, si(t), 'text-anchor="end"'));
  }
  const xTicks = ax.ticks;
  for (const t of xTicks) {
    body.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${top}" y2="${top + ph}" stroke="#f0f0f0"/>`);
    body.push(text(X(t), top + ph + 18, Number.isInteger(t) && t < 1e5 ? String(t) : si(t), 'text-anchor="middle"'));
  }
  body.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  body.push(text(left + pw / 2, height - 12, o.xLabel, 'text-anchor="middle"'));
  body.push(text(18, top + ph / 2, o.yLabel, `text-anchor="middle" transform="rotate(-90 18 ${top + ph / 2})"`));
  o.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p[1]) && (!ay.log || p[1] > 0)).sort((a, b) => a[0] - b[0]);
    const d = pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    if (pts.length > 1) body.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of pts) body.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3.5" fill="${color}"/>`);
    const ly = top + 10 + i * 20;
    body.push(`<rect x="${left + pw + 14}" y="${ly - 9}" width="14" height="4" fill="${color}"/>`);
    body.push(text(left + pw + 34, ly - 3, s.name));
  });
  return frame(width, height, o.title, body);
}

/** Horizontal grouped bars: one row per bar label, one coloured bar per series value. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 760;
  // Row labels go above each group of bars, so long labels never clip.
  const left = 20;
  const right = 70;
  const top = 40 + o.seriesNames.length * 18;
  const barH = 14;
  const labelH = 16;
  const rowH = labelH + o.seriesNames.length * (barH + 2) + 10;
  const pw = width - left - right;
  const ph = o.bars.length * rowH;
  const height = top + ph + 45;
  const ax = makeAxis(
    o.bars.flatMap((b) => b.values),
    o.logX ?? false,
    true,
  );
  const X = (v: number): number => left + frac(ax, v) * pw;
  const body: string[] = [
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">',
    '<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#777" stroke-width="3"/></pattern></defs>',
  ];
  o.seriesNames.forEach((name, i) => {
    const y = 36 + i * 18;
    body.push(`<rect x="${left + 4}" y="${y}" width="14" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`);
    body.push(text(left + 24, y + 9, name));
  });
  for (const t of ax.ticks) {
    body.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${top}" y2="${top + ph}" stroke="#e0e0e0"/>`);
    body.push(text(X(t), top + ph + 16, si(t), 'text-anchor="middle"'));
  }
  o.bars.forEach((b, r) => {
    const y0 = top + r * rowH + 6;
    const label = b.caveat ? `${b.label} (${b.caveat})` : b.label;
    body.push(text(left + 4, y0 + 11, label, 'font-weight="bold"'));
    b.values.forEach((v, i) => {
      if (!Number.isFinite(v) || (ax.log && v <= 0)) return;
      const y = y0 + labelH + i * (barH + 2);
      const w = Math.max(1, X(v) - left);
      const fill = b.caveat ? 'url(#hatch)' : PALETTE[i % PALETTE.length];
      const stroke = PALETTE[i % PALETTE.length];
      body.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${fill}" stroke="${stroke}"/>`);
      body.push(text(left + w + 4, y + barH - 3, si(v), 'font-size="11"'));
    });
  });
  body.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#888"/>`);
  body.push(text(left + pw / 2, height - 10, o.xLabel + (ax.log ? ' (log scale)' : ''), 'text-anchor="middle"'));
  return frame(width, height, o.title, body);
}
