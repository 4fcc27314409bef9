import { mkdir, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServiceName, WireLayout } from '@pharaoh/protocol';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';

const require = createRequire(import.meta.url);
/** OFD locks: exclusive, per open file description, released by the kernel when the process dies. */
const fsx = require('fs-native-extensions') as { tryLock(fd: number): boolean; unlock(fd: number): void };

export const IDENTITY_FILE = 'identity.json';
/** Name of the generator's bound counter (an Obelisk) inside the shard dir. */
export const BOUND_COUNTER = 'bound';
export const LOCK_FILE = 'LOCK';
/** Bumped only if the identity file's meaning changes. */
export const IDENTITY_FORMAT = 1;
/** Entries a shard dir may hold before its identity file exists (a crash during first creation). */
const PRE_IDENTITY_ENTRIES = new Set([LOCK_FILE, `${IDENTITY_FILE}.tmp`]);

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
 */
export async function createShardDirs(dataDir: string, service: string, ids: number[]): Promise<void> {
  const parent = join(dataDir, service);
  await ensureDir(parent);
  let created = false;
  const BATCH = 64;
  for (let i = 0; i < ids.length; i += BATCH) {
    await Promise.all(
      ids.slice(i, i + BATCH).map(async (id) => {
        const dir = shardDir(dataDir, service, id);
        try {
          await mkdir(dir);
          created = true;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a directory`);
        }
      }),
    );
  }
  if (created) await fsyncDir(parent);
}

/**
 * Take the shard's exclusive lock on `<dir>/LOCK`. The returned handle must stay
 * open for the life of the process: closing it (or the process dying) releases
 * the lock. Throws SHARD_LOCKED naming the shard and the directory.
 */
export async function lockShard(dir: string, service: string, shard: number): Promise<FileHandle> {
  const path = join(dir, LOCK_FILE);
  const h = await open(path, 'a+');
  let granted: boolean;
  try {
    granted = fsx.tryLock(h.fd);
  } catch (cause) {
    await h.close();
    throw new ServerError(SERVER_ERROR_CODES.SHARD_OPEN_FAILED, `${service} shard ${shard}: cannot lock ${path}: ${(cause as Error).message}`, { cause, shard, dir });
  }
  if (!granted) {
    await h.close();
    throw new ServerError(
      SERVER_ERROR_CODES.SHARD_LOCKED,
      `${service} shard ${shard} is already hosted by another process (lock held on ${path})`,
      { shard, dir },
    );
  }
  return h;
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

/**
 * Check (or, for a new empty directory, create) the shard's identity file. The
 * caller holds the shard lock. A directory that belongs to another service,
 * shard or layout, or that holds files but no identity, is refused with
 * SHARD_IDENTITY_MISMATCH naming what was expected and what was found.
 * When this resolves after creating the file, the file and its directory entry are durable.
 */
export async function checkIdentity(dir: string, expected: Omit<ShardIdentity, 'format' | 'createdAt'>): Promise<ShardIdentity> {
  const path = join(dir, IDENTITY_FILE);
  const mismatch = (found: string): ServerError =>
    new ServerError(
      SERVER_ERROR_CODES.SHARD_IDENTITY_MISMATCH,
      `refusing to open ${dir}: expected ${describeIdentity(expected)}, found ${found}`,
      { shard: expected.shard, dir },
    );
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text === undefined) {
    const entries = await readdir(dir);
    // An empty bound counter can be left by a crash during first creation (its
    // entry reached the disk before the identity's): it never handed out an ID.
    const emptyBound = entries.includes(BOUND_COUNTER) && (await stat(join(dir, BOUND_COUNTER))).size === 0;
    const foreign = entries.filter((n) => !PRE_IDENTITY_ENTRIES.has(n) && !(n === BOUND_COUNTER && emptyBound));
    if (foreign.length > 0) throw mismatch(`no ${IDENTITY_FILE} but foreign files (${foreign.slice(0, 5).join(', ')})`);
    const identity: ShardIdentity = { format: IDENTITY_FORMAT, ...expected, createdAt: new Date().toISOString() };
    // With no bound counter yet, creating it next fsyncs this directory, which
    // makes the identity's rename durable too: skip a second directory fsync
    // (1024 fewer fsyncs on a fresh 1024-shard start). Otherwise fsync here.
    await writeFileDurably(path, JSON.stringify(identity, null, 2) + '\n', { syncDir: entries.includes(BOUND_COUNTER) });
    return identity;
  }
  let found: ShardIdentity;
  try {
    found = JSON.parse(text) as ShardIdentity;
  } catch {
    throw mismatch(`an unreadable ${IDENTITY_FILE}`);
  }
  if (
    typeof found !== 'object' ||
    found === null ||
    found.service !== expected.service ||
    found.shard !== expected.shard ||
    typeof found.layout !== 'object' ||
    found.layout === null ||
    !sameLayout(found.layout, expected.layout)
  ) {
    throw mismatch(typeof found === 'object' && found !== null ? describeIdentity(found) : `a malformed ${IDENTITY_FILE}`);
  }
  return found;
}

/**
 * Write `path` atomically: temp file, fsync, rename, then fsync the directory
 * unless the caller fsyncs it next anyway (`syncDir: false`).
 */
async function writeFileDurably(path: string, text: string, o: { syncDir: boolean }): Promise<void> {
  const tmp = `${path}.tmp`;
  const h = await open(tmp, 'w');
  try {
    await h.writeFile(text, 'utf8');
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, path);
  if (o.syncDir) await fsyncDir(dirname(path));
}
