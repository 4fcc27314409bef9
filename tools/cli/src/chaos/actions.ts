/**
 * The crash test's harness actions beside SIGKILL: online shard moves between
 * two processes of one service, and restores (a live backup of one process's
 * shards, more service, then the process is killed, its shards' directories
 * removed, the backup put back with `pharaoh restore`, and the process
 * started again). Every action is recorded as a harness event (events.ts), so
 * the checks know which shards were restored when (check.ts).
 *
 * Actions run one at a time, between the kills (the kill loop awaits them);
 * a process named in a pending restore is not moved from or to, so the shards
 * it backed up are the ones put back.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expandShardRanges, formatShardRanges, toShardRanges } from '@pharaoh/protocol';
import { backup, restore } from '../backup.js';
import { moveShards } from '../shard-move.js';
import type { ChaosServers } from './servers.js';

/** Each call of a move may take this long (a release waits for requests in flight; a machine under chaos is slow). */
const MOVE_STEP_TIMEOUT_MS = 30_000;
/** At most this many shards move at once. */
const MAX_SHARDS_PER_MOVE = 4;
/** Services a restore is tried on: their checks accept exactly what a restore may lose (IN_DOUBT, fenced epochs); a plug-in's own checks do not know restores. */
const RESTORABLE: ReadonlySet<string> = new Set(['tso', 'txcoord', 'session-mgr']);
/** A restore comes at least this long after its backup, so decisions, epochs and IDs happen in between and are lost by it. */
export const MIN_BACKUP_AGE_MS = 2_000;

interface PendingRestore {
  label: string;
  service: string;
  file: string;
  shards: number[];
  backupAt: number;
  doneAt: number;
}

export class HarnessActions {
  moves = 0;
  restores = 0;
  /** Unavailability of each move (release → claim answered), ms. */
  readonly moveMs: number[] = [];
  private pending: PendingRestore | undefined;
  private backups = 0;

  constructor(
    private readonly servers: ChaosServers,
    private readonly fleetPath: string,
    private readonly dir: string,
    private readonly rnd: () => number,
    private readonly log: (line: string) => void,
  ) {}

  /** A restore is due: its backup is old enough and its process is running (then `restore` does it). */
  restoreDue(down: ReadonlySet<string>): boolean {
    const p = this.pending;
    return p !== undefined && Date.now() - p.doneAt >= MIN_BACKUP_AGE_MS && !down.has(p.label);
  }

  get restorePending(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Move 1..4 shards from one running process of a service to another (both
   * ready, neither in a pending restore; the source keeps at least one shard).
   * Returns false when no pair qualifies. A failed move throws: the harness
   * cannot know who owns the shards then.
   */
  async move(down: ReadonlySet<string>): Promise<boolean> {
    const ok = async (l: string): Promise<boolean> => !down.has(l) && l !== this.pending?.label && (await this.servers.ready(l));
    const byService = new Map<string, string[]>();
    for (const l of this.servers.labels) {
      const s = this.servers.member(l).service;
      byService.set(s, [...(byService.get(s) ?? []), l]);
    }
    const candidates = [...byService.entries()].filter(([, ls]) => ls.length >= 2);
    if (candidates.length === 0) return false;
    const [service, labels] = candidates[Math.floor(this.rnd() * candidates.length)]!;
    const from = labels[Math.floor(this.rnd() * labels.length)]!;
    const others = labels.filter((l) => l !== from);
    const to = others[Math.floor(this.rnd() * others.length)]!;
    const owned = expandShardRanges(this.servers.member(from).shards);
    if (owned.length < 2 || !(await ok(from)) || !(await ok(to))) return false;
    const count = 1 + Math.floor(this.rnd() * Math.min(MAX_SHARDS_PER_MOVE, owned.length - 1));
    const pick = new Set<number>();
    while (pick.size < count) pick.add(owned[Math.floor(this.rnd() * owned.length)]!);
    const shards = [...pick].sort((a, b) => a - b);
    const [src, dst] = [this.servers.member(from), this.servers.member(to)];
    const t = Date.now();
    const r = await moveShards({ service, shards: formatShardRanges(toShardRanges(shards)), from: src.endpoint, to: dst.endpoint, fleet: this.fleetPath, timeout: MOVE_STEP_TIMEOUT_MS });
    this.servers.setShards(from, toShardRanges(owned.filter((s) => !pick.has(s))));
    this.servers.setShards(to, toShardRanges([...expandShardRanges(dst.shards), ...shards].sort((a, b) => a - b)));
    this.servers.record({ k: 'move', service, from, to, shards, t, tEnd: Date.now(), unavailableMs: r.unavailableMs });
    this.moves++;
    this.moveMs.push(r.unavailableMs);
    this.log(`chaos: moved ${service} shard(s) ${formatShardRanges(toShardRanges(shards))} from ${from} to ${to} (unavailable ${r.unavailableMs} ms)`);
    return true;
  }

  /** Back up the shards of one running process (live); the restore follows in a later round. Returns false if none qualifies. */
  async backup(down: ReadonlySet<string>): Promise<boolean> {
    if (this.pending !== undefined) return false;
    // Only services whose checks know what a restore may lose (check.ts): not the plug-ins'.
    const labels = this.servers.labels.filter((l) => RESTORABLE.has(this.servers.member(l).service));
    const label = labels[Math.floor(this.rnd() * labels.length)];
    if (label === undefined) return false;
    if (down.has(label) || !(await this.servers.ready(label))) return false;
    const m = this.servers.member(label);
    const shards = expandShardRanges(m.shards);
    const file = join(this.dir, `backup-${this.backups++}.tar`);
    const t = Date.now();
    const manifest = await backup(m.service, m.dataDir, file, Date.now, new Set(shards));
    const tEnd = Date.now();
    this.servers.record({ k: 'backup', label, service: m.service, shards, t: manifest.backupAt, tEnd });
    this.pending = { label, service: m.service, file, shards, backupAt: manifest.backupAt, doneAt: tEnd };
    this.log(`chaos: backed up ${label}'s ${shards.length} shard(s) in ${tEnd - t} ms`);
    return true;
  }

  /** The pending restore: kill the process, put its shards back from the backup, start it. */
  async restore(): Promise<void> {
    const p = this.pending!;
    const m = this.servers.member(p.label);
    await this.servers.kill(p.label);
    // When the process was certainly dead (not when the kill was recorded, just before the signal): a call
    // made in between may still have been served by it, and is lost by the restore like any other.
    const t = Date.now();
    for (const s of p.shards) rmSync(join(m.dataDir, p.service, `shard-${s}`), { recursive: true, force: true });
    await restore(p.file, m.dataDir, { service: p.service });
    this.servers.record({ k: 'restore', label: p.label, service: p.service, shards: p.shards, t, backupAt: p.backupAt, tStart: Date.now() });
    this.servers.start(p.label);
    this.pending = undefined;
    this.restores++;
    this.log(`chaos: restored ${p.label}'s ${p.shards.length} shard(s) from the backup of ${Date.now() - p.backupAt} ms ago`);
  }
}
