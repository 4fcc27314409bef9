/**
 * `pharaoh decode <id>`: what an ID means under each Pharaoh layout. The ID
 * itself does not say which service issued it, so the layout of every
 * service of the registry is shown.
 */
import { REGISTRY, type Registry } from '@pharaoh/registry';
import type { Layout } from '@pharaoh/snowflake';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/** The layouts `decode` knows, in registry order (each once). */
export function layoutsOf(registry: Registry = REGISTRY): Layout[] {
  return [...new Set(registry.services.map((s) => s.layout))];
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * Parse a decimal ID from the command line. IDs are unsigned 64-bit; a JS
 * number would lose precision above 2^53, so only digit strings are accepted.
 */
export function parseId(text: string, what = 'id'): bigint {
  const t = text.trim();
  if (!/^\d+$/.test(t)) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `${what} "${text}" is not a decimal unsigned integer (IDs are 64-bit, written in decimal)`);
  }
  const id = BigInt(t);
  if (id > MAX_U64) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `${what} ${t} is out of range: the largest 64-bit ID is ${MAX_U64}`);
  return id;
}

export interface DecodedRow {
  layout: string;
  bits: string;
  time: number;
  shard: number;
  seq: number;
  date: string;
}

/** Decode `id` under every layout. */
export function decodeAll(id: bigint, registry: Registry = REGISTRY): DecodedRow[] {
  return layoutsOf(registry).map((l) => {
    const d = l.decode(id);
    return {
      layout: l.name,
      bits: `${l.timeBits}|${l.shardBits}|${l.seqBits}`,
      time: d.time,
      shard: d.shard,
      seq: d.seq,
      date: d.date.toISOString(),
    };
  });
}

/** The human output of `pharaoh decode`. */
export function formatDecoded(id: bigint, registry: Registry = REGISTRY): string {
  const rows = decodeAll(id, registry).map((r) => [r.layout, r.bits, String(r.time), String(r.shard), String(r.seq), r.date]);
  const head = `id ${id} (0x${id.toString(16).padStart(16, '0')})`;
  return `${head}\n${formatTable(['layout', 'bits', 'time', 'shard', 'seq', 'date (UTC)'], rows)}`;
}

/** A plain left-aligned text table. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
