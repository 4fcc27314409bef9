/**
 * `pharaoh decode <id> [--layout l]`: what an ID means. The ID itself does not
 * say which service issued it; without `--layout` the command reads it under
 * the layout of every service of the registry and names the likely one (see
 * {@link guessLayout}).
 */
import { REGISTRY, type Registry } from '@pharaoh/registry';
import type { Layout } from '@pharaoh/snowflake';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/** The layouts `decode` knows, in registry order (each once). */
export function layoutsOf(registry: Registry = REGISTRY): Layout[] {
  return [...new Set(registry.services.map((s) => s.layout))];
}

/** `--layout` accepts a layout name or the name of the service that issues it. */
function layoutAliases(registry: Registry): Map<string, Layout> {
  const out = new Map<string, Layout>();
  for (const s of registry.services) {
    if (!out.has(s.layout.name)) out.set(s.layout.name, s.layout);
    if (!out.has(s.name)) out.set(s.name, s.layout);
  }
  return out;
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * How far past the reader's clock an ID's time may lie and still be called
 * plausible: a TSO hands out time up to its max lead (5 s by default) ahead,
 * and the reader's clock may be a little behind the server's.
 */
export const FUTURE_SLACK_MS = 60_000;

/**
 * Parse an ID from the command line: decimal, or hex with a `0x` prefix (as
 * logs and `decode` print it). IDs are unsigned 64-bit; a JS number would lose
 * precision above 2^53, so only digit strings are accepted.
 */
export function parseId(text: string, what = 'id'): bigint {
  const t = text.trim();
  const hex = /^0x[0-9a-f]{1,16}$/i.test(t);
  if (!hex && !/^\d+$/.test(t)) {
    throw new CliError(
      CLI_ERROR_CODES.BAD_ARGUMENT,
      `${what} "${text}" is not an unsigned 64-bit integer: write it in decimal (503178002017722368) or hex with 0x (0x06fb9e1c0a402000)`,
    );
  }
  const id = BigInt(t);
  if (id > MAX_U64) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `${what} ${t} is out of range: the largest 64-bit ID is ${MAX_U64}`);
  return id;
}

/** Look up `--layout`; the error lists what is accepted. */
export function parseLayout(name: string, registry: Registry = REGISTRY): Layout {
  const aliases = layoutAliases(registry);
  const layout = aliases.get(name.trim().toLowerCase());
  if (layout === undefined) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `unknown layout "${name}": expected one of ${[...aliases.keys()].join(', ')}`);
  }
  return layout;
}

export interface DecodedRow {
  layout: string;
  bits: string;
  time: number;
  shard: number;
  seq: number;
  date: string;
}

function decodeOne(l: Layout, id: bigint): DecodedRow {
  const d = l.decode(id);
  return { layout: l.name, bits: `${l.timeBits}|${l.shardBits}|${l.seqBits}`, time: d.time, shard: d.shard, seq: d.seq, date: d.date.toISOString() };
}

/** Decode `id` under every layout. */
export function decodeAll(id: bigint, registry: Registry = REGISTRY): DecodedRow[] {
  return layoutsOf(registry).map((l) => decodeOne(l, id));
}

/** Which layout an ID likely comes from, and why (one sentence). */
export interface LayoutGuess {
  /** The likely layouts: one name, or several that share the bits (tx and session). Empty: none is plausible. */
  layouts: string[];
  why: string;
}

/**
 * Guess the layout from the time field alone: the layouts differ in how many
 * bits the time field has, so a wrong reading doubles or halves the time since
 * the (shared) epoch. A reading in the future (past `now` plus
 * {@link FUTURE_SLACK_MS}) cannot be right; among the others the one nearest
 * to `now` is likely. This is right for every ID issued recently, and wrong
 * only for a tso ID from the first third of the time since the epoch. tx and
 * session IDs share one layout and cannot be told apart.
 */
export function guessLayout(id: bigint, now: number = Date.now(), registry: Registry = REGISTRY): LayoutGuess {
  const readings = layoutsOf(registry).map((l) => ({ l, at: l.decode(id).date.getTime() }));
  const plausible = readings.filter((r) => r.at <= now + FUTURE_SLACK_MS);
  if (plausible.length === 0) {
    return { layouts: [], why: 'every layout reads a date in the future: not an ID issued by a Pharaoh server whose clock agrees with this one' };
  }
  const best = Math.min(...plausible.map((r) => Math.abs(now - r.at)));
  const likely = plausible.filter((r) => Math.abs(now - r.at) === best);
  const names = likely.map((r) => r.l.name);
  const others = readings.filter((r) => !names.includes(r.l.name));
  // The other readings share one date per bit shape; name each date once.
  const seen = new Map<number, string[]>();
  for (const r of others) seen.set(r.at, [...(seen.get(r.at) ?? []), r.l.name]);
  const alt = [...seen].map(([at, ls]) => `as ${ls.join(' or ')} it would date from ${new Date(at).toISOString()}${at > now + FUTURE_SLACK_MS ? ', in the future' : ''}`);
  const why = alt.length === 0 ? 'every layout reads the same date' : `its date is the one nearest to now; ${alt.join('; ')}`;
  return { layouts: names, why };
}

function ago(ms: number, now: number): string {
  const d = now - ms;
  const abs = Math.abs(d);
  const unit =
    abs < 120_000 ? `${Math.round(abs / 1000)} s` : abs < 7_200_000 ? `${Math.round(abs / 60_000)} min` : abs < 172_800_000 ? `${Math.round(abs / 3_600_000)} h` : `${Math.round(abs / 86_400_000)} days`;
  return d >= 0 ? `${unit} ago` : `${unit} from now`;
}

/**
 * The human output of `pharaoh decode`: one block of `field value` lines for
 * `layout`, or, without one, for the likely layout (named, with the reason and
 * the other readings). `now` is injectable for tests.
 */
export function formatDecoded(id: bigint, opts: { layout?: Layout; now?: number; registry?: Registry } = {}): string {
  const now = opts.now ?? Date.now();
  const layouts = layoutsOf(opts.registry);
  const guess = opts.layout === undefined ? guessLayout(id, now, opts.registry) : undefined;
  const layout = opts.layout ?? layouts.find((l) => l.name === guess!.layouts[0]) ?? layouts[0]!;
  const d = layout.decode(id);
  const lines: Array<[string, string]> = [['id', `${id} (0x${id.toString(16).padStart(16, '0')})`]];
  if (guess === undefined) {
    lines.push(['layout', `${layout.name} (as asked)`]);
  } else if (guess.layouts.length === 0) {
    lines.push(['layout', `${layout.name}? ${guess.why}`]);
  } else if (guess.layouts.length === layouts.length) {
    lines.push(['layout', `any: ${guess.why}; shown as ${layout.name} (choose with --layout)`]);
  } else {
    lines.push(['layout', `likely ${guess.layouts.join(' or ')}: ${guess.why} (choose with --layout)`]);
  }
  lines.push(
    ['bits', `time ${layout.timeBits} | shard ${layout.shardBits} | seq ${layout.seqBits}`],
    ['date', `${d.date.toISOString()} (UTC, ${ago(d.date.getTime(), now)})`],
    ['time', `${d.time} ${layout.unitMs === 1 ? 'ms' : `× ${layout.unitMs} ms`} since ${new Date(layout.epochMs).toISOString()}`],
    ['shard', String(d.shard)],
    ['seq', `${d.seq} (of 0..${layout.maxSeq} in its ${layout.unitMs === 1 ? 'millisecond' : 'time unit'})`],
  );
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** The JSON output of `pharaoh decode --json`: every reading, the likely layout, the chosen one. */
export function decodedJson(id: bigint, opts: { layout?: Layout; now?: number; registry?: Registry } = {}): Record<string, unknown> {
  const guess = guessLayout(id, opts.now, opts.registry);
  return {
    id: id.toString(),
    hex: `0x${id.toString(16).padStart(16, '0')}`,
    ...(opts.layout === undefined ? { likely: guess.layouts, why: guess.why } : { layout: decodeOne(opts.layout, id) }),
    layouts: decodeAll(id, opts.registry),
  };
}

/** A plain left-aligned text table. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
