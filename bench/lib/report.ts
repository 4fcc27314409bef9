/**
 * Shared helpers for benchmark scripts: describe the machine, and write one
 * benchmark's results into its own section of docs/BENCHMARKS.md plus a JSON
 * file under bench/results/. Each benchmark owns the text between its markers,
 * so benchmarks can be re-run one at a time without touching the others.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// PHARAOH_BENCH_OUT=<dir> sends the page, plots and JSON to <dir> instead of the repo (smoke tests use it).
const OUT = process.env.PHARAOH_BENCH_OUT;
const PAGE = OUT ? join(OUT, 'BENCHMARKS.md') : join(REPO_ROOT, 'docs', 'BENCHMARKS.md');
const RESULTS = OUT ? join(OUT, 'results') : join(REPO_ROOT, 'bench', 'results');

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  kernel: string;
  node: string;
  disk: string;
  date: string;
}

export function describeMachine(dir = REPO_ROOT): Machine {
  let disk = 'unknown';
  try {
    disk = execFileSync('df', ['-hT', dir], { encoding: 'utf8' }).trim().split('\n').pop() ?? disk;
    disk = disk.replace(/\s+/g, ' ');
  } catch {
    /* df missing: leave unknown */
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    disk,
    date: new Date().toISOString(),
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB RAM, ${m.kernel}, Node ${m.node}, disk: \`${m.disk}\`, run ${m.date}`;
}

/** Replace (or append) the section `name` of docs/BENCHMARKS.md and save `json`. */
export function writeSection(name: string, markdown: string, json: unknown): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${name}.json`), JSON.stringify(json, bigintReplacer, 2) + '\n');
  const begin = `<!-- BEGIN ${name} -->`;
  const end = `<!-- END ${name} -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  let page = existsSync(PAGE)
    ? readFileSync(PAGE, 'utf8')
    : '# Pharaoh benchmarks\n\nEvery section below was written by the benchmark script named in it, from a real run.\n';
  const i = page.indexOf(begin);
  const j = page.indexOf(end);
  page = i >= 0 && j > i ? page.slice(0, i) + block + page.slice(j + end.length) : `${page.trimEnd()}\n\n${block}\n`;
  writeFileSync(PAGE, page);
}

function bigintReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Percentile of an unsorted sample (nearest rank). */
export function percentile(sample: number[], p: number): number {
  if (sample.length === 0) return NaN;
  const s = Float64Array.from(sample).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export const BENCHMARKS_PAGE = PAGE;
/** Plots live in <page dir>/bench/ and are linked from the page as bench/<file>.svg. */
export const FIGURES_DIR = join(dirname(PAGE), 'bench');
export const RESULTS_DIR = RESULTS;

/** Every `<!-- BEGIN name -->…<!-- END name -->` block of docs/BENCHMARKS.md, in page order (markers included). */
export function readSections(): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(PAGE)) return out;
  const page = readFileSync(PAGE, 'utf8');
  const re = /<!-- BEGIN ([\w.-]+) -->[\s\S]*?<!-- END \1 -->/g;
  // The first block of a name wins, as writeSection() updates the first one.
  for (const m of page.matchAll(re)) if (!out.has(m[1]!)) out.set(m[1]!, m[0]);
  return out;
}

/**
 * Hand-written text that follows a section on the page (after its END marker,
 * up to the next section's BEGIN marker), by section name: notes written from
 * several runs, which no single benchmark script writes.
 */
function trailingNotes(): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(PAGE)) return out;
  const page = readFileSync(PAGE, 'utf8');
  for (const m of page.matchAll(/<!-- END ([\w.-]+) -->([\s\S]*?)(?=<!-- BEGIN [\w.-]+ -->|$)/g)) {
    const text = m[2]!.trim();
    if (text.length > 0 && !out.has(m[1]!)) out.set(m[1]!, text);
  }
  return out;
}

/**
 * Rewrite docs/BENCHMARKS.md as `header`, then the sections named in `order`
 * (those present), then any other sections, each block unchanged and followed
 * by the hand-written notes that followed it before. Other text outside the
 * section markers is replaced by `header`.
 */
export function writePage(header: string, order: string[]): void {
  const sections = readSections();
  const notes = trailingNotes();
  const wanted = [...new Set(order)];
  const names = [...wanted.filter((n) => sections.has(n)), ...[...sections.keys()].filter((n) => !wanted.includes(n))];
  const body = names.map((n) => (notes.has(n) ? `${sections.get(n)!}\n\n${notes.get(n)!}` : sections.get(n)!)).join('\n\n');
  mkdirSync(dirname(PAGE), { recursive: true });
  writeFileSync(PAGE, `${header.trimEnd()}\n\n${body}\n`);
}
