/**
 * `pharaoh backup` and `pharaoh restore`: a copy of one service's shards
 * taken from a live data directory, and putting it back so that nothing
 * handed out before the loss is handed out again (docs/OPERATIONS.md,
 * "Backup and restore"; the rules are in docs/DESIGN.md §9).
 *
 * The backup is a tar file: `manifest.json`, then per shard
 * `shard-<n>/identity.json` and `shard-<n>/journal/journal.log`. A shard's
 * bound is a sparse file whose size is its value, so the manifest carries the
 * value instead of the bytes.
 *
 * Consistency without stopping service: each shard is read on its own, its
 * journal through one open descriptor (the log only grows at its end, and a
 * compaction renames a complete new file in, which an open descriptor never
 * sees), so the copy is a prefix of the log (a torn last record is cut by the
 * journal's recovery). Shards are independent: nothing relates one shard's
 * state to another's.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, extract as tarExtract } from 'tar-stream';
import { SHARD_COUNT, type WireLayout } from '@pharaoh/protocol';

/** A service's registry name. */
type ServiceName = string;
import { DEFAULT_BOUND_TICK_MS, DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_MAX_LEAD_MS, DEFAULT_WINDOW_MS } from '@pharaoh/snowflake';
import { ensureDirDurable, errnoCode, nodeFileSystem as fs, readAll, type FileSystem } from '@pharaoh/storage';
import { CliError, CLI_ERROR_CODES } from './errors.js';

export const BACKUP_FORMAT = 1;
const MANIFEST = 'manifest.json';
const IDENTITY = 'identity.json';
const BOUND = 'bound';
const JOURNAL_DIR = 'journal';
const JOURNAL_LOG = 'journal.log';
const SLOT = /^bound-(\d+)(?:\.seg-(\d+))?$/;
const SHARD_DIR = /^shard-(\d+)$/;
/** Restores in progress build each shard here first, then rename it into place (a crash leaves no half shard). */
const STAGING_PREFIX = '.restoring-';
/** Added to the restore's "issued before" instant: the clock of the restoring host may trail the lost one's a little. */
const RESTORE_MARGIN_MS = 1_000;

export interface BackupShard {
  shard: number;
  identity: Record<string, unknown> & { layout: WireLayout };
  /** The shard's own bound (ticks) when copied. */
  boundTicks: number;
  /** Bytes of journal copied (0: the service keeps no journal). */
  journalBytes: number;
}

export interface BackupManifest {
  format: number;
  service: ServiceName;
  /** When the copy began (ms since 1970). */
  backupAt: number;
  /** How long the copy took (ms); no shard stopped serving meanwhile. */
  tookMs: number;
  host: string;
  /** The largest process time-bound slot of the data dir (ticks): every shard resumed at least there. */
  floorTicks: number;
  shards: BackupShard[];
}

function bad(message: string): CliError {
  return new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, message);
}

/**
 * Copy every shard of `service` under `dataDir` (or only those in `only`,
 * e.g. one process's of a shared data dir) into the tar file `out`; returns
 * the manifest written.
 */
export async function backup(service: ServiceName, dataDir: string, out: string, now: () => number = Date.now, only?: ReadonlySet<number>): Promise<BackupManifest> {
  const serviceDir = join(dataDir, service);
  let names: string[];
  try {
    names = await fs.readdir(serviceDir);
  } catch (err) {
    throw bad(`nothing to back up: ${serviceDir} cannot be read (${errnoCode(err) ?? (err as Error).message})`);
  }
  const backupAt = now();
  const t0 = performance.now();
  let floorTicks = 0;
  for (const name of names) {
    const m = SLOT.exec(name);
    const st = m ? await fs.stat(join(serviceDir, name)) : undefined;
    if (m && st && !st.isDirectory) floorTicks = Math.max(floorTicks, Number(m[2] ?? 0) + st.size);
  }
  const ids = names
    .map((n) => SHARD_DIR.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((n) => n < SHARD_COUNT && (only === undefined || only.has(n)))
    .sort((a, b) => a - b);
  if (ids.length === 0) throw bad(`nothing to back up: ${serviceDir} holds no shard directories${only === undefined ? '' : ' of the shards asked for'}`);
  const pack = tarPack();
  const written = pipeline(pack, createWriteStream(out, { mode: 0o600 }));
  const add = (name: string, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => pack.entry({ name, size: data.length, mode: 0o600, mtime: new Date(backupAt) }, data, (err) => (err ? reject(err) : resolve())));
  const shards: BackupShard[] = [];
  try {
    for (const id of ids) {
      const dir = join(serviceDir, `shard-${id}`);
      const identityText = await readFile(fs, join(dir, IDENTITY));
      if (identityText === undefined || identityText.length === 0) continue; // never opened completely: nothing was issued
      let identity: BackupShard['identity'];
      try {
        identity = JSON.parse(identityText.toString('utf8')) as BackupShard['identity'];
      } catch {
        throw bad(`${join(dir, IDENTITY)} is not readable JSON: this shard cannot be backed up (see docs/OPERATIONS.md)`);
      }
      if (identity.service !== service || identity.shard !== id) throw bad(`${join(dir, IDENTITY)} names ${String(identity.service)} shard ${String(identity.shard)}, not ${service} shard ${id}`);
      const boundTicks = (await fs.stat(join(dir, BOUND)))?.size ?? 0;
      const journal = await readFile(fs, join(dir, JOURNAL_DIR, JOURNAL_LOG));
      // The identity as it was, without an earlier restore's mark: the next restore writes its own.
      const { restored: _earlier, ...plain } = identity;
      await add(`shard-${id}/${IDENTITY}`, Buffer.from(JSON.stringify(plain, null, 2) + '\n'));
      if (journal !== undefined) await add(`shard-${id}/${JOURNAL_DIR}/${JOURNAL_LOG}`, journal);
      shards.push({ shard: id, identity: plain as BackupShard['identity'], boundTicks, journalBytes: journal?.length ?? 0 });
    }
    const manifest: BackupManifest = { format: BACKUP_FORMAT, service, backupAt, tookMs: Math.round(performance.now() - t0), host: hostname(), floorTicks, shards };
    await add(MANIFEST, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
    pack.finalize();
    await written;
    // The backup file itself is durable before we say it exists.
    const h = await fs.open(out);
    await h.datasync();
    await h.close();
    return manifest;
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => undefined);
    throw err;
  }
}

async function readFile(f: FileSystem, path: string): Promise<Buffer | undefined> {
  let h;
  try {
    h = await f.open(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return await readAll(h);
  } finally {
    await h.close();
  }
}

export interface RestoreOptions {
  /** Refuse unless the backup is of this service. */
  service?: ServiceName;
  /** The fleet's bound window, maximum lead and clock-skew allowance (ms): server defaults unless the fleet set others. */
  windowMs?: number;
  maxLeadMs?: number;
  maxClockSkewMs?: number;
  now?: () => number;
}

export interface RestoreResult {
  manifest: BackupManifest;
  restoredAt: number;
  /** Every time-based ID the lost process could have issued lies below this instant. */
  issuedBeforeMs: number;
  shards: number;
}

/**
 * Put the backup `from` back into `dataDir` for its service. Refuses when any
 * of its shard directories exists (move them away first) — never overwrites.
 * Every shard's bound is raised past `now + window + maxLead + maxClockSkew`
 * (+1 s), so IDs, txIds and session IDs resume above every one the lost
 * process could have issued; the identity carries a restore mark from which
 * txcoord answers IN_DOUBT and session-mgr fences pre-restore epochs.
 */
export async function restore(from: string, dataDir: string, o: RestoreOptions = {}): Promise<RestoreResult> {
  const files = await readTar(from);
  const manifestText = files.get(MANIFEST);
  if (manifestText === undefined) throw bad(`${from} is not a Pharaoh backup (no ${MANIFEST})`);
  const manifest = JSON.parse(manifestText.toString('utf8')) as BackupManifest;
  if (manifest.format !== BACKUP_FORMAT) throw bad(`${from} is backup format ${String(manifest.format)}; this version reads format ${BACKUP_FORMAT}`);
  if (o.service !== undefined && manifest.service !== o.service) throw bad(`${from} is a backup of ${manifest.service}, not ${o.service}`);
  const serviceDir = join(dataDir, manifest.service);
  await ensureDirDurable(fs, serviceDir);
  const existing = await fs.readdir(serviceDir);
  const clash = manifest.shards.filter((s) => existing.includes(`shard-${s.shard}`)).map((s) => s.shard);
  if (clash.length > 0) {
    throw bad(
      `refusing to restore into ${serviceDir}: shard director${clash.length === 1 ? 'y' : 'ies'} ${clash.slice(0, 10).join(', ')}${clash.length > 10 ? ', …' : ''} exist already. ` +
        'Stop the process, move them away (they may hold newer state than the backup), then restore again.',
    );
  }
  // Leftovers of an interrupted restore.
  for (const name of existing) if (name.startsWith(STAGING_PREFIX)) await rm(join(serviceDir, name), { recursive: true, force: true });

  const now = o.now ?? Date.now;
  const restoredAt = now();
  const issuedBeforeMs = restoredAt + (o.windowMs ?? DEFAULT_WINDOW_MS) + (o.maxLeadMs ?? DEFAULT_MAX_LEAD_MS) + (o.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS) + RESTORE_MARGIN_MS;
  const mark = { format: 1, backupAt: manifest.backupAt, restoredAt, issuedBeforeMs };
  for (const s of manifest.shards) {
    const staging = join(serviceDir, `${STAGING_PREFIX}shard-${s.shard}`);
    await fs.mkdir(staging);
    const identity = files.get(`shard-${s.shard}/${IDENTITY}`);
    if (identity === undefined) throw bad(`${from} lacks shard-${s.shard}/${IDENTITY}`);
    const withMark = { ...(JSON.parse(identity.toString('utf8')) as Record<string, unknown>), restored: mark };
    await writeDurable(join(staging, IDENTITY), Buffer.from(JSON.stringify(withMark, null, 2) + '\n'));
    // The bound: past every unit the lost process could have issued (ticks of the shard's layout).
    const l = s.identity.layout;
    const ticksBefore = Math.ceil((issuedBeforeMs - l.epochMs) / DEFAULT_BOUND_TICK_MS) + 1;
    const bound = await fs.open(join(staging, BOUND), { create: true });
    await bound.truncate(Math.max(s.boundTicks, manifest.floorTicks, ticksBefore));
    await bound.datasync();
    await bound.close();
    const journal = files.get(`shard-${s.shard}/${JOURNAL_DIR}/${JOURNAL_LOG}`);
    if (journal !== undefined) {
      await fs.mkdir(join(staging, JOURNAL_DIR));
      await writeDurable(join(staging, JOURNAL_DIR, JOURNAL_LOG), journal);
      await fs.syncDir(join(staging, JOURNAL_DIR));
    }
    await fs.syncDir(staging);
    await fs.rename(staging, join(serviceDir, `shard-${s.shard}`));
  }
  await fs.syncDir(serviceDir);
  return { manifest, restoredAt, issuedBeforeMs, shards: manifest.shards.length };
}

async function writeDurable(path: string, data: Buffer): Promise<void> {
  const h = await fs.open(path, { create: true, truncate: true });
  try {
    await h.write(data, 0);
    await h.datasync();
  } finally {
    await h.close();
  }
}

async function readTar(file: string): Promise<Map<string, Buffer>> {
  const st = await fs.stat(file);
  if (st === undefined || st.isDirectory) throw bad(`no backup file at ${file}`);
  const files = new Map<string, Buffer>();
  const extract = tarExtract();
  const done = pipeline(createReadStream(file), extract);
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks));
    }
    await done;
  } catch (err) {
    await done.catch(() => undefined);
    throw bad(`${file} is not a readable backup: ${(err as Error).message}`);
  }
  return files;
}
