/**
 * The crash test's server processes: each is ONE node process (the app's
 * main.ts under tsx's loader), so SIGKILL of its pid kills the server itself.
 * Output goes to `<dir>/logs/<label>.log`, not to the console.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fleet, FleetMember } from '../fleet-file.js';
import { exited, probeReady, spawnMember, stopChild } from '../fleet/child.js';
import type { HarnessEvent } from './events.js';
import { NdjsonWriter } from './events.js';

export class ChaosServers {
  private readonly procs = new Map<string, ChildProcess>();
  private readonly members: Map<string, FleetMember>;
  readonly events: HarnessEvent[] = [];
  private readonly journal: NdjsonWriter;

  constructor(
    fleet: Fleet,
    private readonly logDir: string,
    harnessLog: string,
  ) {
    this.members = new Map(fleet.members.map((m) => [m.label, m]));
    this.journal = new NdjsonWriter(harnessLog, 0);
  }

  get labels(): string[] {
    return [...this.members.keys()];
  }

  /** The process `label` as it is now (its shards change with moves). */
  member(label: string): FleetMember {
    return this.members.get(label)!;
  }

  /** A move changed what `label` hosts: its next start gets these shards. */
  setShards(label: string, shards: FleetMember['shards']): void {
    this.members.set(label, { ...this.members.get(label)!, shards });
  }

  /** Is `label` running and answering /readyz? */
  async ready(label: string): Promise<boolean> {
    const p = this.procs.get(label);
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return false;
    return probeReady(this.members.get(label)!);
  }

  record(e: HarnessEvent): void {
    this.events.push(e);
    this.journal.write(e);
    this.journal.flush();
  }

  /** Spawn `label` (recording the start time just before the spawn). */
  start(label: string): void {
    const m = this.members.get(label)!;
    const file = join(this.logDir, `${label.replace(':', '-')}.log`);
    this.record({ k: 'start', label, t: Date.now() });
    const proc = spawnMember(m, ['--log-level', 'warn'], (line) => appendFileSync(file, line + '\n'));
    this.procs.set(label, proc);
  }

  /** SIGKILL `label` (recording the time just before the signal) and wait until it is gone. */
  async kill(label: string): Promise<void> {
    const proc = this.procs.get(label);
    if (!proc) return;
    this.record({ k: 'kill', label, t: Date.now() });
    proc.kill('SIGKILL');
    await exited(proc);
  }

  /** Resolve once every process answers /readyz; throws naming the laggards after `timeoutMs`. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let pending = this.labels;
    while (pending.length > 0) {
      const ready = await Promise.all(pending.map((l) => probeReady(this.members.get(l)!)));
      pending = pending.filter((_, i) => !ready[i]);
      if (pending.length === 0) return;
      const dead = pending.filter((l) => { const p = this.procs.get(l); return p && (p.exitCode !== null || p.signalCode !== null); });
      if (dead.length > 0) throw new Error(`server(s) ${dead.join(', ')} exited while starting; see ${this.logDir}`);
      if (Date.now() > deadline) throw new Error(`server(s) ${pending.join(', ')} not ready after ${timeoutMs} ms; see ${this.logDir}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Graceful stop of everything (SIGTERM, SIGKILL after the grace period). */
  async stopAll(graceMs = 10_000): Promise<void> {
    await Promise.all([...this.procs.values()].map((p) => stopChild(p, graceMs)));
    this.journal.close();
  }
}
