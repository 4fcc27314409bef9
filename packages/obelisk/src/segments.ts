import { posix } from 'node:path';
import { errnoCode, type FileHandle, type FileSystem } from '@pharaoh/storage';
import { ObeliskError, ioError } from './errors.js';

/**
 * Segment files. A counter at `dir/name` starts as the file `dir/name` (base 0).
 * When a file would pass the file system's size limit, the counter continues in
 * `dir/name.seg-<base>`, whose value is `base + size`. The segment with the
 * largest value is the live one; others are leftovers of an interrupted rollover.
 */
const MARK = '.seg-';

export function segmentName(name: string, base: number): string {
  return base === 0 ? name : `${name}${MARK}${base}`;
}

/** The base of directory entry `entry` if it is a segment of counter `name`, else undefined. */
export function segmentBase(name: string, entry: string): number | undefined {
  if (entry === name) return 0;
  if (!entry.startsWith(name + MARK)) return undefined;
  const digits = entry.slice(name.length + MARK.length);
  const base = Number(digits);
  // Only canonical decimals: 'x.seg-007' or 'x.seg-1e3' are someone else's files.
  return Number.isSafeInteger(base) && base > 0 && String(base) === digits ? base : undefined;
}

export interface OwnedSegment {
  handle: FileHandle;
  path: string;
  base: number;
  /** base + size, the size read while holding the lock and made durable (`fdatasync`) during open. */
  value: number;
}

interface Candidate {
  handle: FileHandle;
  path: string;
  base: number;
  value: number;
}

// Opening races only with a concurrent rollover or another opener; a few retries settle it.
const OPEN_ATTEMPTS = 5;

/**
 * Find the live segment of the counter at `path`, lock it and return it. Creates
 * the counter if no segment exists (and fsyncs the directory). Removes stale
 * smaller segments left by a crash during rollover. Cost: one directory listing
 * plus an open and fstat per segment (normally one), independent of the value.
 */
export async function openOwnedSegment(fs: FileSystem, path: string): Promise<OwnedSegment> {
  const dir = posix.dirname(path);
  const name = posix.basename(path);
  for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
    const before = await listSegments(fs, dir, name, path);
    const created = before.length === 0;
    const candidates = created ? await createFirst(fs, path) : await openAll(fs, dir, name, before, path);
    if (candidates === undefined) continue; // a segment vanished between listing and open
    const best = pickLive(candidates);
    await closeAll(candidates.filter((c) => c !== best));
    try {
      const owned = await lockAndSettle(fs, dir, name, path, before, best, candidates, created);
      if (owned !== undefined) return owned;
    } catch (err) {
      await best.handle.close().catch(() => {});
      throw err;
    }
    await best.handle.close().catch(() => {});
  }
  throw new ObeliskError('IO', `cannot open counter ${path}: its directory kept changing while opening`, { path });
}

/**
 * Lock `best`, then read its size and make it and the directory durable;
 * undefined if the directory changed meanwhile (caller retries).
 */
async function lockAndSettle(
  fs: FileSystem,
  dir: string,
  name: string,
  path: string,
  before: string[],
  best: Candidate,
  all: Candidate[],
  created: boolean,
): Promise<OwnedSegment | undefined> {
  let locked: boolean;
  try {
    locked = await best.handle.tryLock();
  } catch (err) {
    throw ioError('cannot lock counter', best.path, err);
  }
  if (!locked) throw new ObeliskError('LOCKED', `counter ${path} is owned by another open counter`, { path });
  // A rollover could have completed between our listing and our lock: then the
  // segment we locked is no longer the live one.
  const after = await listSegments(fs, dir, name, path);
  const expected = created ? [name] : before;
  if (after.length !== expected.length || after.some((e, i) => e !== expected[i])) return undefined;
  // Only now is the size final: until we held the lock, a previous owner may
  // have kept growing the file, and starting from an older size would reissue
  // what it handed out meanwhile (and let our first ftruncate shrink the file).
  let size: number;
  try {
    size = await best.handle.size();
  } catch (err) {
    throw ioError('cannot stat counter', best.path, err);
  }
  try {
    // Always, not only when we created it: a process that died before its own
    // directory fsync leaves the entry in the page cache, where it looks
    // durable to us but would vanish in a power cut.
    await fs.syncDir(dir);
    // The size may be volatile too (a previous owner died between its
    // ftruncate and its fdatasync): make it durable before reporting it as the
    // value. A size of 0 holds nothing to make durable.
    if (size > 0) await best.handle.datasync();
  } catch (err) {
    throw ioError('cannot make counter durable', best.path, err);
  }
  await removeStale(fs, dir, all.filter((c) => c !== best));
  return { handle: best.handle, path: best.path, base: best.base, value: best.base + size };
}

/** Sorted segment entries of counter `name` in `dir`. */
async function listSegments(fs: FileSystem, dir: string, name: string, path: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    throw ioError('cannot list the directory of counter', path, err);
  }
  return entries.filter((e) => segmentBase(name, e) !== undefined).sort();
}

async function createFirst(fs: FileSystem, path: string): Promise<Candidate[]> {
  const handle = await openFile(fs, path, true);
  try {
    return [{ handle, path, base: 0, value: await handle.size() }];
  } catch (err) {
    await handle.close().catch(() => {});
    throw ioError('cannot stat counter', path, err);
  }
}

async function openAll(
  fs: FileSystem,
  dir: string,
  name: string,
  entries: string[],
  path: string,
): Promise<Candidate[] | undefined> {
  const out: Candidate[] = [];
  try {
    for (const entry of entries) {
      const p = posix.join(dir, entry);
      const base = segmentBase(name, entry)!;
      const handle = await openFile(fs, p, false).catch((err: unknown) => {
        if (err instanceof ObeliskError && errnoCode(err.cause) === 'ENOENT') return undefined;
        throw err;
      });
      if (handle === undefined) {
        await closeAll(out);
        return undefined;
      }
      let size: number;
      try {
        size = await handle.size();
      } catch (err) {
        await handle.close().catch(() => {});
        throw ioError('cannot stat counter', p, err);
      }
      out.push({ handle, path: p, base, value: base + size });
    }
    return out;
  } catch (err) {
    await closeAll(out);
    throw err;
  }
}

async function openFile(fs: FileSystem, path: string, create: boolean): Promise<FileHandle> {
  try {
    return await fs.open(path, { create });
  } catch (err) {
    if (errnoCode(err) === 'EISDIR') {
      throw new ObeliskError('INVALID_ARGUMENT', `counter path ${path} is a directory, not a counter file`, { cause: err, path });
    }
    throw ioError('cannot open counter', path, err);
  }
}

/** The live segment: largest value; on a tie the newer (larger base). */
function pickLive(cs: Candidate[]): Candidate {
  return cs.reduce((a, b) => (b.value > a.value || (b.value === a.value && b.base > a.base) ? b : a));
}

async function closeAll(cs: Candidate[]): Promise<void> {
  await Promise.all(cs.map((c) => c.handle.close().catch(() => {})));
}

/**
 * Remove leftovers of an interrupted rollover. Best effort: a leftover that
 * stays has a smaller value than the live segment and is removed next time.
 */
async function removeStale(fs: FileSystem, dir: string, stale: Candidate[]): Promise<void> {
  if (stale.length === 0) return;
  try {
    for (const c of stale) await fs.unlink(c.path);
    await fs.syncDir(dir);
  } catch {
    /* see above: harmless */
  }
}
