/**
 * Runs every process of a fleet as a child: starts them, waits until each is
 * ready, prefixes their log lines, restarts crashed ones if asked, and stops
 * them (SIGTERM, then SIGKILL after a grace period) by pid.
 *
 * A crashed process is restarted with its entry as the fleet file says at
 * that moment (`pharaoh shard move --fleet` rewrites the file after moving
 * shards), not as it was read at start: otherwise it would claim shards it
 * gave away. If the file cannot be read or is invalid, the old entry is kept
 * (and the reason logged); if the file no longer lists the process (every
 * shard of it was moved away), it is not restarted.
 */
import type { ChildProcess } from 'node:child_process';
import { CliError, CLI_ERROR_CODES } from '../errors.js';
import { formatShardRanges } from '@pharaoh/protocol';
import { DEFAULT_FLEET_SOURCE, loadFleet, type Fleet, type FleetMember } from '../fleet-file.js';
import { exited, probeReady, spawnMember, stopChild } from './child.js';
import type { PidFileChild } from './pidfile.js';

/** How long a process may take to answer /readyz after it was spawned. */
export const DEFAULT_START_TIMEOUT_MS = 60_000;
/** How long a process gets to drain and sync after SIGTERM before SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** First restart delay after a crash; doubles per crash in a row up to the max. */
export const RESTART_BACKOFF_MS = 500;
export const MAX_RESTART_BACKOFF_MS = 10_000;
/** Lines of each child's output kept to explain a failed start. */
const TAIL_LINES = 30;
const READY_POLL_MS = 100;

export interface SupervisorOptions {
  restartOnCrash?: boolean;
  startTimeoutMs?: number;
  stopGraceMs?: number;
  /** Where prefixed child output goes (default: stdout). */
  write?: (line: string) => void;
  /** Extra arguments for every child, e.g. `['--log-level', 'warn']`. */
  childArgs?: string[];
  /** Called whenever a child's pid changes or the fleet becomes ready (pid file updates). */
  onChange?: () => void;
  /** Read the fleet file again before a restart (default: `loadFleet(fleet.source)`; the default fleet is never reread). Tests inject it. */
  reloadFleet?: () => Fleet;
  /** Start a process (default: spawnMember) and tell it is ready (default: probeReady). Tests inject them. */
  spawnMember?: typeof spawnMember;
  probeReady?: (member: FleetMember) => Promise<boolean>;
}

interface Slot {
  member: FleetMember;
  proc: ChildProcess | undefined;
  tail: string[];
  crashesInRow: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export class FleetSupervisor {
  private readonly slots: Slot[];
  private readonly write: (line: string) => void;
  private stopping = false;
  ready = false;

  constructor(
    readonly fleet: Fleet,
    private readonly opts: SupervisorOptions = {},
  ) {
    this.slots = fleet.members.map((member) => ({ member, proc: undefined, tail: [], crashesInRow: 0, restartTimer: undefined }));
    this.write = opts.write ?? ((line) => process.stdout.write(line + '\n'));
  }

  /** Pids of the running children, for the pid file and `fleet status`. */
  children(): PidFileChild[] {
    return this.slots.flatMap((s) => (s.proc?.pid === undefined ? [] : [{ label: s.member.label, pid: s.proc.pid, endpoint: s.member.endpoint }]));
  }

  /**
   * Start every process and resolve once all of them answer their readiness
   * probe. If any exits or times out first, stop the others and throw
   * START_FAILED quoting the end of that process's own output.
   */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.slots.map((s) => this.startSlot(s)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length > 0) {
      await this.stop();
      throw new CliError(CLI_ERROR_CODES.START_FAILED, failed.map((e) => e.message).join('\n\n'));
    }
    this.ready = true;
    this.opts.onChange?.();
  }

  private async startSlot(slot: Slot): Promise<void> {
    const proc = this.spawn(slot);
    const timeoutMs = this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void exited(proc).then(() => (gone = true));
    while (!gone && Date.now() < deadline) {
      if (await (this.opts.probeReady ?? probeReady)(slot.member)) return;
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
    const why = gone ? `exited (${describeExit(proc)}) while starting` : `was not ready after ${timeoutMs / 1000} s`;
    const lines = explainTail(slot.tail);
    const tail = lines.length > 0 ? `\n  it said:\n${lines.map((l) => `    ${l}`).join('\n')}` : '';
    throw new Error(`${slot.member.label} (${slot.member.service} ${slot.member.endpoint}) ${why}${tail}`);
  }

  private spawn(slot: Slot): ChildProcess {
    slot.tail = [];
    const label = `[${slot.member.label}]`;
    const proc = (this.opts.spawnMember ?? spawnMember)(slot.member, this.opts.childArgs ?? [], (line) => {
      slot.tail.push(line);
      if (slot.tail.length > TAIL_LINES) slot.tail.shift();
      this.write(`${label} ${line}`);
    });
    slot.proc = proc;
    const startedAt = Date.now();
    proc.once('exit', () => this.onExit(slot, proc, startedAt));
    this.opts.onChange?.();
    return proc;
  }

  private onExit(slot: Slot, proc: ChildProcess, startedAt: number): void {
    if (this.stopping || slot.proc !== proc || !this.ready) return;
    const label = `[${slot.member.label}]`;
    if (!this.opts.restartOnCrash) {
      this.write(`${label} exited (${describeExit(proc)}); not restarting (start with --restart-on-crash to restart crashed processes)`);
      if (this.slots.every((s) => s.proc === undefined || s.proc.exitCode !== null || s.proc.signalCode !== null)) {
        this.write('[fleet] every process has exited');
      }
      return;
    }
    // A process that ran a while before crashing starts over with the short delay.
    slot.crashesInRow = Date.now() - startedAt > 30_000 ? 1 : slot.crashesInRow + 1;
    const delay = Math.min(MAX_RESTART_BACKOFF_MS, RESTART_BACKOFF_MS * 2 ** (slot.crashesInRow - 1));
    this.write(`${label} exited (${describeExit(proc)}); restarting in ${(delay / 1000).toFixed(1)} s`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.stopping) return;
      // Read the fleet file now, not at the crash: a move may finish during the backoff.
      const { member, note } = rereadMember(this.fleet.source, slot.member, this.opts.reloadFleet);
      if (note !== undefined) this.write(`${label} ${note}`);
      if (member === undefined) return;
      slot.member = member;
      this.spawn(slot);
    }, delay);
  }

  /** Is every child process gone (crashed without restart)? */
  allExited(): boolean {
    return this.slots.every((s) => s.restartTimer === undefined && (s.proc === undefined || s.proc.exitCode !== null || s.proc.signalCode !== null));
  }

  /** Stop every child: SIGTERM, SIGKILL after the grace period. Resolves when all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.slots) clearTimeout(s.restartTimer);
    const grace = this.opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    await Promise.all(this.slots.map((s) => (s.proc ? stopChild(s.proc, grace) : undefined)));
  }
}

/**
 * `member` as the fleet file `source` lists it now (same service and
 * endpoint): its current shards. `note` says what changed or why the old
 * entry is kept; `member` is undefined when the file no longer lists the
 * process (all its shards were moved away), so it must not be restarted.
 */
export function rereadMember(
  source: string,
  member: FleetMember,
  reload: () => Fleet = () => loadFleet(source),
): { member: FleetMember | undefined; note?: string } {
  if (source === DEFAULT_FLEET_SOURCE) return { member };
  const was = formatShardRanges(member.shards);
  let fleet: Fleet;
  try {
    fleet = reload();
  } catch (err) {
    const why = (err as Error).message.split('\n').join(' ');
    return { member, note: `cannot reread the fleet file (${why}); restarting with the shards it started with (${was})` };
  }
  const norm = (u: string): string => u.replace(/\/$/, '');
  const now = fleet.members.find((m) => m.service === member.service && norm(m.endpoint) === norm(member.endpoint));
  if (now === undefined) {
    return { member: undefined, note: `${source} no longer lists ${member.service} ${member.endpoint} (its shards were moved to other processes): not restarting it` };
  }
  const shards = formatShardRanges(now.shards);
  return shards === was ? { member: now } : { member: now, note: `restarting with shards ${shards} from ${source} (it started with ${was}; moved since)` };
}

function describeExit(proc: ChildProcess): string {
  return proc.signalCode !== null ? `signal ${proc.signalCode}` : `code ${proc.exitCode}`;
}

/**
 * The lines worth quoting from a failed start: the server's human lines, and
 * the message of JSON log lines at error level or above (pino level >= 50),
 * without stacks. Falls back to the raw tail when nothing matches.
 */
export function explainTail(tail: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of tail) {
    if (!line.startsWith('{')) {
      out.push(line);
      continue;
    }
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; code?: string } };
      if ((j.level ?? 0) >= 50) out.push(`${j.msg ?? 'error'}: ${j.err?.message ?? ''}${j.err?.code ? ` [${j.err.code}]` : ''}`);
    } catch {
      out.push(line);
    }
  }
  return out.length > 0 ? out : [...tail.slice(-5)];
}
