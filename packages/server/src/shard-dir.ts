import { basename, dirname, join } from 'node:path';
import type { WireLayout } from '@pharaoh/protocol';
import { ensureDirDurable, errnoCode, readAll, type FileHandle, type FileSystem } from '@pharaoh/storage';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';

/** The shard's identity, and its lock: an OFD lock on this file is held while the shard is hosted. */
export const IDENTITY_FILE = 'identity.json';
/** Name of the generator's bound counter (an Obelisk) inside the shard dir. */
export const BOUND_COUNTER = 'bound';
/** Lock file of earlier builds (they locked a separate file); tolerated, no longer created. */
export const LOCK_FILE = 'LOCK';
/** Bumped only if the identity file's meaning changes. */
export const IDENTITY_FORMAT = 1;
/**
 * Entries a shard dir may hold while it has no valid identity yet (a crash
 * during first creation), besides an empty bound: the identity file itself
 * (empty or torn), and what older versions left (LOCK, a temp identity).
 */
const PRE_IDENTITY_ENTRIES = new Set([IDENTITY_FILE, LOCK_FILE, `${IDENTITY_FILE}.tmp`]);
// Shard dirs created at once: bounds the open mkdir calls of a 1024-shard start.
const MKDIR_BATCH = 64;

/** Bumped only if the meaning of a restore mark changes. */
export const RESTORE_FORMAT = 1;

/**
 * What a restore put back and when: `pharaoh restore` writes it into the
 * identity of every shard it puts back (read on every open anyway), see
 * docs/OPERATIONS.md, "Backup and restore". The facts only; each service
 * draws its own rule from them: the shard's bound was raised to
 * `issuedBeforeMs` (IDs), transactions whose time lies below it may have been
 * decided after the backup (txcoord answers IN_DOUBT), and session epochs
 * handed out before the loss lie below an epoch floor drawn from `restoredAt`.
 */
export interface RestoreMark {
  format: number;
  /** When the backup was taken (ms since 1970, the backing-up host's clock). */
  backupAt: number;
  /** When it was put back (ms since 1970). */
  restoredAt: number;
  /**
   * Every time-based ID the lost process could have issued lies below this
   * instant (ms since 1970): restoredAt + the bound window + the maximum lead
   * + the clock-skew allowance. The shard's bound was raised past it.
   */
  issuedBeforeMs: number;
}

/** The identity's restore mark, checked; a mark this version does not understand refuses the open (it guards against reissuing). */
function restoreMarkOf(identity: ShardIdentity, dir: string): RestoreMark | undefined {
  const m = identity.restored as Partial<RestoreMark> | undefined;
  if (m === undefined) return undefined;
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (typeof m !== 'object' || m === null || m.format !== RESTORE_FORMAT || !ok(m.backupAt) || !ok(m.restoredAt) || !ok(m.issuedBeforeMs)) {
    throw new ServerError(
      SERVER_ERROR_CODES.SHARD_OPEN_FAILED,
      `${join(dir, IDENTITY_FILE)} carries a restore mark this version does not understand (${JSON.stringify(m)}); restore the shard again with this version`,
      { dir },
    );
  }
  return { format: m.format, backupAt: m.backupAt, restoredAt: m.restoredAt, issuedBeforeMs: m.issuedBeforeMs };
}

/** What a shard directory is: written once when the shard is created, checked on every open. */
export interface ShardIdentity {
  format: number;
  service: string;
  shard: number;
  layout: WireLayout;
  createdAt: string;
  /** Present when `pharaoh restore` put the shard back (see RestoreMark). */
  restored?: RestoreMark;
}

export function shardDir(dataDir: string, service: string, shard: number): string {
  return join(dataDir, service, `shard-${shard}`);
}

/**
 * Make sure every shard directory exists and its entry is durable, with one
 * directory fsync for all of them (not one per shard: a fresh 1024-shard start
 * would otherwise pay 1024 extra fsyncs). The service dir, the data dir and
 * the data dir's parent are fsynced on every start, created or not: a previous
 * process may have created them (or shard dirs) and died before syncing,
 * leaving entries that only the page cache holds. (Directories above the data
 * dir's parent are the operator's: a mount point, or made before.) Resolves with the ids whose directory this call created.
 */
export async function createShardDirs(fs: FileSystem, dataDir: string, service: string, ids: number[]): Promise<Set<number>> {
  const parent = join(dataDir, service);
  await ensureDirDurable(fs, parent);
  const created = new Set<number>();
  // One readdir instead of a failing mkdir (an EEXIST error and a stat) per
  // existing shard. (A listed name that is not a directory fails the shard's
  // claim with ENOTDIR, naming it.)
  const listed = new Set(await fs.readdir(parent));
  const missing = ids.filter((id) => !listed.has(basename(shardDir(dataDir, service, id))));
  for (let i = 0; i < missing.length; i += MKDIR_BATCH) {
    await Promise.all(
      missing.slice(i, i + MKDIR_BATCH).map(async (id) => {
        try {
          if (await fs.mkdir(shardDir(dataDir, service, id))) created.add(id);
        } catch (e) {
          if (errnoCode(e) === 'EEXIST') throw new Error(`${shardDir(dataDir, service, id)} exists and is not a directory`);
          throw e;
        }
      }),
    );
  }
  await fs.syncDir(parent);
  await fs.syncDir(dataDir);
  await fs.syncDir(dirname(dataDir));
  return created;
}

function sameLayout(a: WireLayout, b: WireLayout): boolean {
  return (
    a.name === b.name &&
    a.timeBits === b.timeBits &&
    a.shardBits === b.shardBits &&
    a.seqBits === b.seqBits &&
    a.epochMs === b.epochMs &&
    a.unitMs === b.unitMs
  );
}

function describeIdentity(i: Pick<ShardIdentity, 'service' | 'shard' | 'layout'>): string {
  const l = i.layout;
  return `service=${i.service} shard=${i.shard} layout=${l?.name}(${l?.timeBits}/${l?.shardBits}/${l?.seqBits}, epoch ${l?.epochMs}, unit ${l?.unitMs} ms)`;
}

/** A hosted shard's claim: the open, locked identity file (closing it releases the lock) and what it says. */
export interface ShardClaim {
  lock: FileHandle;
  identity: ShardIdentity;
  /** True when this claim wrote the identity (and fdatasynced it, unless told not to); false when it only read it. */
  written: boolean;
  /** The identity's restore mark, if a restore put the shard back. */
  restored: RestoreMark | undefined;
}

type Expected = Omit<ShardIdentity, 'format' | 'createdAt'>;

/**
 * Claim shard `expected.shard` in `dir` (which exists: see createShardDirs):
 * take the exclusive OFD lock on its identity file, then check the identity,
 * or write it for a new shard. The lock is held until the returned handle is
 * closed or the process dies (the kernel releases it; no stale locks).
 *
 * Refused with SHARD_LOCKED when another process holds the shard, and with
 * SHARD_IDENTITY_MISMATCH (naming what was expected and what was found) when
 * the identity names another service, shard or layout, or the directory holds
 * data but an identity that cannot be proven to be this shard's. A foreign
 * directory is refused before anything is written into it.
 *
 * Durability: an identity this claim writes is fdatasynced before it
 * resolves. One it only read may be in the page cache only (a previous process
 * wrote it and died before its fdatasync): the caller fdatasyncs `lock` (the
 * identity's handle) unless the shard's bound shows a previous open completed
 * (that open synced the identity before setting the bound). Its directory
 * entry is the caller's too. The identity is written once, before the shard's
 * bound can move above 0.
 *
 * An empty or torn identity (a crash while writing it) is rewritten when that
 * is provably safe: the directory holds nothing but an empty bound (the shard
 * never issued an ID), or what survived of the identity is a prefix of this
 * very shard's identity that names its service, shard and layout in full.
 * Otherwise the shard is refused, and the message says exactly how to repair it.
 *
 * `sync: false` skips the fdatasync of a written identity: the caller makes
 * it durable (with every other new shard's at once, see openShards) before
 * the shard adds files.
 *
 * `newDir`: this process just created `dir` (createShardDirs), so it was empty
 * a moment ago. The identity file is then created at once, with no look for
 * foreign files and no failed open first: 1024 fewer readdirs and ENOENT
 * errors on a fresh 1024-shard start. Another opener can only have added an
 * identity file meanwhile (a bound is created only after a written identity),
 * which the lock and the read below handle.
 */
export async function claimShard(
  fs: FileSystem,
  dir: string,
  expected: Expected,
  { newDir = false, sync = true }: { newDir?: boolean; sync?: boolean } = {},
  onRepair?: (what: string) => void,
): Promise<ShardClaim> {
  const path = join(dir, IDENTITY_FILE);
  const mismatch = (found: string, fix = ''): ServerError =>
    new ServerError(
      SERVER_ERROR_CODES.SHARD_IDENTITY_MISMATCH,
      `refusing to open ${dir}: expected ${describeIdentity(expected)}, found ${found}${fix}`,
      { shard: expected.shard, dir },
    );
  let h: FileHandle | undefined;
  if (!newDir) {
    try {
      h = await fs.open(path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  if (h === undefined && !newDir) {
    // A new shard (or someone else's directory): look before writing anything into it.
    const data = await dataEntries(fs, dir);
    if (data.length > 0) throw mismatch(`no ${IDENTITY_FILE} but data files (${data.slice(0, 5).join(', ')})`, repairHint(path, expected));
  }
  h ??= await fs.open(path, { create: true });
  try {
    await lockIdentity(h, expected, dir, path);
    const text = newDir && (await h.size()) === 0 ? '' : (await readAll(h)).toString('utf8');
    const found = parseIdentity(text);
    if (found !== undefined) {
      if (!matches(found, expected)) throw mismatch(describeIdentity(found));
      return { lock: h, identity: found, written: false, restored: restoreMarkOf(found, dir) };
    }
    // Empty (new, or a crash before the first write) or torn (a crash during it).
    // A dir this start created and found empty under the lock holds no data.
    if (!(newDir && text.length === 0)) {
      const what = text.length === 0 ? `an empty ${IDENTITY_FILE}` : `an unreadable ${IDENTITY_FILE}`;
      const data = await dataEntries(fs, dir);
      if (data.length > 0) {
        if (!tornPrefixOf(text, expected)) throw mismatch(`${what} but data files (${data.slice(0, 5).join(', ')})`, repairHint(path, expected));
        onRepair?.(`${IDENTITY_FILE} was torn by a crash; what survived names this shard (${describeIdentity(expected)}): rewritten`);
      }
    }
    const identity: ShardIdentity = { format: IDENTITY_FORMAT, ...expected, createdAt: new Date().toISOString() };
    if (text.length > 0) await h.truncate(0);
    await h.write(Buffer.from(identityText(identity)), 0);
    if (sync) await h.datasync();
    return { lock: h, identity, written: true, restored: undefined };
  } catch (err) {
    await h.close().catch(() => undefined);
    throw err;
  }
}

async function lockIdentity(h: FileHandle, expected: Expected, dir: string, path: string): Promise<void> {
  let granted: boolean;
  try {
    granted = await h.tryLock();
  } catch (cause) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `${expected.service} shard ${expected.shard}: cannot lock ${path}: ${(cause as Error).message}`, {
      cause,
      shard: expected.shard,
      dir,
    });
  }
  if (!granted) {
    throw new ServerError(SERVER_ERROR_CODES.SHARD_LOCKED, `${expected.service} shard ${expected.shard} is already hosted by another process (lock held on ${path})`, {
      shard: expected.shard,
      dir,
    });
  }
}

function identityText(identity: ShardIdentity): string {
  return JSON.stringify(identity, null, 2) + '\n';
}

/**
 * Is `text` what a crash while writing this shard's identity could leave? It
 * must be an exact prefix of the identity text, long enough to name the
 * service, shard and layout in full (only `createdAt`, the last field, may be
 * cut off), with nothing but zeros after it (a size that reached the disk
 * before the bytes did).
 */
function tornPrefixOf(text: string, expected: Expected): boolean {
  const body = text.replace(/\0+$/, '');
  const canonical = identityText({ format: IDENTITY_FORMAT, ...expected, createdAt: '' });
  const mustCover = canonical.indexOf('"createdAt"');
  return body.length >= mustCover && !body.includes('\0') && body.slice(0, mustCover) === canonical.slice(0, mustCover);
}

function repairHint(path: string, expected: Expected): string {
  const identity = identityText({ format: IDENTITY_FORMAT, ...expected, createdAt: new Date().toISOString() });
  return (
    `. Its identity cannot be proven from what is left, so nothing was changed. If this directory really is ${expected.service} shard ${expected.shard} ` +
    `(check where it came from), write exactly this to ${path} and start again:\n${identity}` +
    `Otherwise move the directory away: the shard then starts empty (time-based IDs resume above the clock; its journal's decisions are lost).`
  );
}

/**
 * What the directory holds beyond what a shard without a valid identity can
 * have written: anything but PRE_IDENTITY_ENTRIES and an empty bound (value 0:
 * it never issued an ID).
 */
async function dataEntries(fs: FileSystem, dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir);
  const emptyBound = entries.includes(BOUND_COUNTER) && (await fs.stat(join(dir, BOUND_COUNTER)))?.size === 0;
  return entries.filter((n) => !PRE_IDENTITY_ENTRIES.has(n) && !(n === BOUND_COUNTER && emptyBound)).sort();
}

/** The identity in `text`, or undefined if it is empty or not a complete JSON object. */
function parseIdentity(text: string): ShardIdentity | undefined {
  if (text.length === 0) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as ShardIdentity) : undefined;
  } catch {
    return undefined;
  }
}

function matches(found: ShardIdentity, expected: Omit<ShardIdentity, 'format' | 'createdAt'>): boolean {
  return (
    found.service === expected.service &&
    found.shard === expected.shard &&
    typeof found.layout === 'object' &&
    found.layout !== null &&
    sameLayout(found.layout, expected.layout)
  );
}
