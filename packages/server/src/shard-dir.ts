import { constants } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServiceName, WireLayout } from '@pharaoh/protocol';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';

const require = createRequire(import.meta.url);
/** OFD locks: exclusive, per open file description, released by the kernel when the process dies. */
const fsx = require('fs-native-extensions') as { tryLock(fd: number): boolean; unlock(fd: number): void };

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

/** What a shard directory is: written once when the shard is created, checked on every open. */
export interface ShardIdentity {
  format: number;
  service: ServiceName;
  shard: number;
  layout: WireLayout;
  createdAt: string;
}

export function shardDir(dataDir: string, service: string, shard: number): string {
  return join(dataDir, service, `shard-${shard}`);
}

/** fsync a directory so a create/rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** mkdir -p that fsyncs the parent of every directory it created, so the new entries survive a power cut. */
export async function ensureDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
    return;
  }
  // Every directory from `first` down to `dir` is new: fsync each one's parent.
  for (let d = dir; ; d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}

/**
 * Make sure every shard directory exists, with one directory fsync for all the
 * new ones (not one per shard: a fresh 1024-shard start would otherwise pay
 * 1024 extra fsyncs). When this resolves, every shard dir's entry is durable.
 * Resolves with the ids whose directory this call created (empty when made).
 */
export async function createShardDirs(dataDir: string, service: string, ids: number[]): Promise<Set<number>> {
  const parent = join(dataDir, service);
  await ensureDir(parent);
  const created = new Set<number>();
  const BATCH = 64;
  for (let i = 0; i < ids.length; i += BATCH) {
    await Promise.all(
      ids.slice(i, i + BATCH).map(async (id) => {
        const dir = shardDir(dataDir, service, id);
        try {
          await mkdir(dir);
          created.add(id);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a directory`);
        }
      }),
    );
  }
  if (created.size > 0) await fsyncDir(parent);
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
}

/**
 * Claim shard `expected.shard` in `dir` (which exists: see createShardDirs):
 * take the exclusive OFD lock on its identity file, then check the identity,
 * or write it for a new shard. The lock is held until the returned handle is
 * closed or the process dies (the kernel releases it; no stale locks).
 *
 * Refused with SHARD_LOCKED when another process holds the shard, and with
 * SHARD_IDENTITY_MISMATCH (naming what was expected and what was found) when
 * the identity names another service, shard or layout, or the directory holds
 * files but no valid identity. A foreign directory is refused before anything
 * is written into it.
 *
 * One file is both lock and identity, so a new shard costs one file create
 * less than a separate lock file (1024 fewer on a fresh 1024-shard start). The
 * identity is written in place and fdatasynced before the shard's bound can
 * move above 0, so an empty or torn identity means the shard never issued an
 * ID: if the directory holds nothing else but an empty bound, it is rewritten.
 * When this resolves after writing, the identity and its directory entry are
 * durable, or will be made durable by creating `bound` next (its directory fsync).
 *
 * `newDir`: this process just created `dir` (createShardDirs), so it was empty
 * a moment ago. The identity file is then created at once, with no look for
 * foreign files and no failed open first: 1024 fewer readdirs and ENOENT
 * errors on a fresh 1024-shard start. Another opener can only have added an
 * identity file meanwhile (a bound is created only after a written identity),
 * which the lock and the read below handle.
 */
export async function claimShard(dir: string, expected: Omit<ShardIdentity, 'format' | 'createdAt'>, newDir = false): Promise<ShardClaim> {
  const path = join(dir, IDENTITY_FILE);
  const mismatch = (found: string): ServerError =>
    new ServerError(
      SERVER_ERROR_CODES.SHARD_IDENTITY_MISMATCH,
      `refusing to open ${dir}: expected ${describeIdentity(expected)}, found ${found}`,
      { shard: expected.shard, dir },
    );
  let h: FileHandle | undefined;
  if (!newDir) {
    try {
      h = await open(path, constants.O_RDWR);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  if (h === undefined && !newDir) {
    // A new shard (or someone else's directory): look before writing anything into it.
    await checkNoData(dir, 'no identity', mismatch);
  }
  h ??= await open(path, constants.O_RDWR | constants.O_CREAT);
  try {
    let granted: boolean;
    try {
      granted = fsx.tryLock(h.fd);
    } catch (cause) {
      throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `${expected.service} shard ${expected.shard}: cannot lock ${path}: ${(cause as Error).message}`, {
        cause,
        shard: expected.shard,
        dir,
      });
    }
    if (!granted) {
      throw new ServerError(
        SERVER_ERROR_CODES.SHARD_LOCKED,
        `${expected.service} shard ${expected.shard} is already hosted by another process (lock held on ${path})`,
        { shard: expected.shard, dir },
      );
    }
    const text = newDir && (await h.stat()).size === 0 ? '' : await h.readFile('utf8');
    const found = parseIdentity(text);
    if (found !== undefined) {
      if (!matches(found, expected)) throw mismatch(describeIdentity(found));
      return { lock: h, identity: found };
    }
    // Empty (new, or a crash before the first write) or torn (a crash during it).
    // A dir this start created and found empty under the lock holds no bound (see above).
    const hasBound =
      !(newDir && text.length === 0) &&
      (await checkNoData(dir, text.length === 0 ? `an empty ${IDENTITY_FILE}` : `an unreadable ${IDENTITY_FILE}`, mismatch)).includes(BOUND_COUNTER);
    const identity: ShardIdentity = { format: IDENTITY_FORMAT, ...expected, createdAt: new Date().toISOString() };
    if (text.length > 0) await h.truncate(0);
    await h.write(JSON.stringify(identity, null, 2) + '\n', 0, 'utf8');
    await h.datasync();
    // With no bound counter yet, creating it next fsyncs this directory, which
    // makes the identity's entry durable too: skip a second directory fsync.
    if (hasBound) await fsyncDir(dir);
    return { lock: h, identity };
  } catch (err) {
    await h.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The directory's entries, after checking it holds no data a shard without a
 * valid identity could have written: only PRE_IDENTITY_ENTRIES and an empty
 * bound (value 0: it never issued an ID). Anything else is refused.
 */
async function checkNoData(dir: string, what: string, mismatch: (found: string) => ServerError): Promise<string[]> {
  const entries = await readdir(dir);
  const emptyBound = entries.includes(BOUND_COUNTER) && (await stat(join(dir, BOUND_COUNTER))).size === 0;
  const data = entries.filter((n) => !PRE_IDENTITY_ENTRIES.has(n) && !(n === BOUND_COUNTER && emptyBound));
  if (data.length > 0) throw mismatch(`${what} but data files (${data.slice(0, 5).join(', ')})`);
  return entries;
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
