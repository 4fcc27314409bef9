/**
 * Runs every process of a fleet as a child: starts them, waits until each is
 * ready, prefixes their log lines, restarts crashed ones if asked, and stops
 * them (SIGTERM, then SIGKILL after a grace period) by pid.
 */
import type { ChildProcess } from 'node:child_process';
import { CliError, CLI_ERROR_CODES } from '../errors.js';
import type { Fleet, FleetMember } from '../fleet-file.js';
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
      if (await probeReady(slot.member)) return;
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
    const proc = spawnMember(slot.member, this.opts.childArgs ?? [], (line) => {
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
      if (!this.stopping) this.spawn(slot);
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
