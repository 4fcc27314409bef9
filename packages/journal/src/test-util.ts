/** Helpers shared by this package's tests (not exported from the package). */
import type { FileSystem } from '@pharaoh/storage';
import { Journal } from './journal.js';
import type { JournalOptions } from './options.js';

export interface LogLine {
  level: 'info' | 'warn';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export function memoryLogger(): { lines: LogLine[]; info(o: object, m?: string): void; warn(o: object, m?: string): void } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
  };
}

/** Open a journal whose state is simply the list of records, in order (snapshot = that list). */
export async function openList<R>(
  dir: string,
  fs: FileSystem,
  extra: Partial<JournalOptions<R>> = {},
): Promise<{ journal: Journal<R>; records: R[] }> {
  const records: R[] = [];
  const journal = await Journal.open<R>(dir, {
    fs,
    onRecord: (r) => records.push(r),
    snapshot: () => [...records],
    ...extra,
  });
  return { journal, records };
}

/** Settle a promise into a tagged result without throwing. */
export async function settle(p: Promise<unknown>): Promise<{ ok: true } | { ok: false; err: unknown }> {
  try {
    await p;
    return { ok: true };
  } catch (err) {
    return { ok: false, err };
  }
}
