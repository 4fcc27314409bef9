/**
 * The power-cut run: per service a lane — one server on its own ext4 volume
 * under load from the client router — taking its share of the seeded cut
 * schedule. A cut freezes the server (SIGSTOP), copies the loop device's
 * backing file (what the device received), kills the server, mounts the copy
 * (journal replay) and restarts the server on it; the restarted server on the
 * copy is the lane's device from then on. A kill-then-cut first SIGKILLs the
 * server under load, restarts it on the same mount (page cache intact), reads
 * back what it serves, maybe serves more load, then cuts.
 */
import { join } from 'node:path';
import { PharaohClient } from '@pharaoh/client';
import type { ServiceName } from '@pharaoh/registry';
import { mulberry32 } from '@pharaoh/testkit';
import { Machine, MOUNT_OPTIONS, unavailableReason, type CopyResult, type Volume } from './device.js';
import { addCounters, subCounters, VIOLATION_KINDS, zeroCounters, type Counters, type Phase, type Violation, type ViolationKind } from './history.js';
import { createModel, type ServiceModel } from './models.js';
import { SERVICES, ServerProc, type FreezeResult } from './server.js';
import { between, sleep, withTimeout } from './util.js';

export type CutKind = 'cut' | 'kill-then-cut';

export interface PowercutOptions {
  /** Power cuts in all (spread evenly over the services, seeded order). */
  cuts: number;
  /** Seeds the schedule (which service, which kind, when) and the load's choices. */
  seed: number;
  services: ServiceName[];
  /** Each server hosts shards 0 … shardCount-1. */
  shardCount: number;
  /** Size of each (sparse) image. */
  imageMiB: number;
  /** Load before a cut (and before the kill of a kill-then-cut), ms: [min, max]. */
  loadMs: [number, number];
  /** Load served after the restart that follows a kill, before the cut, ms: [min, max]; half of the chains serve none. */
  serveAfterKillMs: [number, number];
  /** Share of cuts that are kill-then-cut chains (every service with 2+ cuts gets at least one). */
  chainRatio: number;
  /** --compact-at-bytes of every journaled service (all but tso): small, so compactions happen under the cuts. */
  compactAtBytes: number;
  /** Already-checked transactions read back again after each restart (seeded sample). */
  sampleOld: number;
  /** Wait for a server's listening line. */
  startTimeoutMs: number;
  /** The whole run is aborted (and cleaned up) after this long. */
  maxMs: number;
  /** Where the temporary directory (images, mount points) goes; default: the OS temp dir. */
  tmpDir?: string;
  /** Progress lines (default: console.log). */
  log: (line: string) => void;
  /** Aborts the run (it still cleans up). */
  signal?: AbortSignal;
}

export const DEFAULT_OPTIONS: Omit<PowercutOptions, 'seed' | 'maxMs' | 'log'> = {
  cuts: 30,
  services: [...SERVICES],
  shardCount: 8,
  imageMiB: 256,
  loadMs: [300, 2000],
  serveAfterKillMs: [50, 1000],
  chainRatio: 0.4,
  compactAtBytes: 64 * 1024,
  sampleOld: 500,
  startTimeoutMs: 60_000,
};

export interface ScheduledCut {
  service: ServiceName;
  /** 1-based number among this service's cuts. */
  n: number;
  kind: CutKind;
  loadMs: number;
  /** Load after the kill's restart (kill-then-cut only; 0 = cut right after the read-back). */
  serveMs: number;
}

export interface CutReport extends ScheduledCut {
  /** 1-based order of completion over all services. */
  index: number;
  /** What was checked during this cut (load, read-backs, fresh IDs). */
  checked: Counters;
  violations: number;
  copy?: CopyResult;
  freeze?: FreezeResult;
  ms: number;
}

export interface ServiceSummary {
  service: ServiceName;
  cuts: number;
  chains: number;
  checked: Counters;
  violations: number;
}

export interface PowercutResult {
  seed: number;
  options: Omit<PowercutOptions, 'log' | 'signal'>;
  startedAt: Date;
  elapsedMs: number;
  cuts: CutReport[];
  services: ServiceSummary[];
  totals: Counters;
  violations: Violation[];
  byKind: Partial<Record<ViolationKind, number>>;
  /** The run itself failed (setup, a step's time limit): not a verdict on the servers. */
  harnessErrors: string[];
  /** What cleanup could not undo (empty when everything was removed). */
  cleanupProblems: string[];
  interrupted: boolean;
  /** Copies made while the device kept receiving writes (after all retries): such a cut is less exact. */
  unquietCopies: number;
  /** Freezes whose threads did not all stop within the wait. */
  unstoppedFreezes: number;
}

/** The seeded schedule: services in a rotated round-robin, kinds and moments drawn in a fixed order. */
export function makeSchedule(o: Pick<PowercutOptions, 'seed' | 'cuts' | 'services' | 'chainRatio' | 'loadMs' | 'serveAfterKillMs'>): ScheduledCut[] {
  const rnd = mulberry32(o.seed);
  const k = o.services.length;
  const offset = Math.floor(rnd() * k);
  const counts = new Map<ServiceName, number>();
  const cuts: ScheduledCut[] = [];
  for (let i = 0; i < o.cuts; i++) {
    const service = o.services[(i + offset) % k]!;
    const n = (counts.get(service) ?? 0) + 1;
    counts.set(service, n);
    const kind: CutKind = rnd() < o.chainRatio ? 'kill-then-cut' : 'cut';
    const loadMs = between(rnd, o.loadMs[0], o.loadMs[1]);
    const serveMs = kind === 'kill-then-cut' && rnd() < 0.5 ? between(rnd, o.serveAfterKillMs[0], o.serveAfterKillMs[1]) : 0;
    cuts.push({ service, n, kind, loadMs, serveMs });
  }
  for (const s of o.services) {
    const mine = cuts.filter((c) => c.service === s);
    if (mine.length >= 2 && !mine.some((c) => c.kind === 'kill-then-cut')) mine[Math.floor(rnd() * mine.length)]!.kind = 'kill-then-cut';
  }
  return cuts;
}

function serviceArgs(service: ServiceName, o: PowercutOptions): string[] {
  switch (service) {
    case 'tso':
      return [];
    case 'txcoord':
      // Decisions remembered for the whole run (a forgotten one reads UNKNOWN, which the checks would call lost).
      return ['--retention-ms', String(24 * 3_600_000), '--compact-at-bytes', String(o.compactAtBytes)];
    case 'schema-registry':
      // Versions per subject: a subject takes one new version per registration, for the whole run.
      return ['--max-versions', '10000', '--compact-at-bytes', String(o.compactAtBytes)];
    case 'session-mgr':
    case 'group-coord':
    case 'sequencer':
    default:
      return ['--compact-at-bytes', String(o.compactAtBytes)];
  }
}

interface LoadHandle {
  stop(): Promise<void>;
}

interface Shared {
  opts: PowercutOptions;
  machine: Machine;
  signal: AbortSignal;
  onViolation(v: Violation): void;
  onCut(r: Omit<CutReport, 'index'>): void;
}

/** One service: its server, its current volume, its books and counters. */
class Lane {
  readonly counters = zeroCounters();
  readonly violations: Violation[] = [];
  readonly reports: Array<Omit<CutReport, 'index'>> = [];
  private phase: Phase = 'load';
  private cutNo = 0;
  private volumeNo = 0;
  private vol: Volume | undefined;
  private model: ServiceModel;
  private readonly server: ServerProc;
  private readonly shards: number[];
  private readonly modelSeed: number;
  private load: LoadHandle | undefined;

  constructor(
    readonly service: ServiceName,
    private readonly s: Shared,
    laneIndex: number,
  ) {
    this.shards = Array.from({ length: s.opts.shardCount }, (_, i) => i);
    this.modelSeed = (s.opts.seed ^ Math.imul(laneIndex + 1, 0x9e3779b9)) >>> 0;
    this.server = new ServerProc(
      { service, shards: `0-${s.opts.shardCount - 1}`, extraArgs: serviceArgs(service, s.opts), startTimeoutMs: s.opts.startTimeoutMs },
      s.machine,
    );
    this.model = this.newModel();
  }

  private readonly report = (kind: ViolationKind, message: string): void => {
    // After an abort the servers are being killed under the checks: their failures say nothing.
    if (this.s.signal.aborted) return;
    const v: Violation = { kind, service: this.service, cut: this.cutNo, phase: this.phase, message };
    this.violations.push(v);
    this.s.onViolation(v);
  };

  private newModel(): ServiceModel {
    return createModel(this.service, { shards: this.shards, rnd: mulberry32(this.modelSeed + this.volumeNo), report: this.report, counters: this.counters, sampleOld: this.s.opts.sampleOld });
  }

  private nextName(): string {
    return `${this.service}-${this.volumeNo++}`;
  }

  private get url(): string {
    const app = this.server.running;
    if (!app) throw new Error(`${this.service}: no server running`);
    return app.url;
  }

  /** A fresh file system and a server on it (also after a server refused to start: its history starts over). */
  private async fresh(): Promise<void> {
    await this.stopLoad();
    await this.server.kill();
    if (this.vol) await this.s.machine.destroy(this.vol);
    this.vol = undefined;
    this.vol = await this.s.machine.createVolume(this.nextName(), this.s.opts.imageMiB);
    this.model = this.newModel();
    this.s.signal.throwIfAborted();
    await this.server.start(this.vol.dataDir, this.vol.name);
  }

  private async startLoad(): Promise<void> {
    this.s.signal.throwIfAborted();
    const client = await PharaohClient.connect({ endpoints: [this.url] }, { timeoutMs: 5_000, policy: 'round-robin' });
    let stopping = false;
    const loops = this.model.load(client, () => stopping);
    this.load = {
      stop: async () => {
        stopping = true;
        await client.close();
        await withTimeout(loops, 30_000, `${this.service} load loops`);
      },
    };
  }

  private async stopLoad(): Promise<void> {
    const load = this.load;
    this.load = undefined;
    await load?.stop();
  }

  /** Restart on `vol`; a refusal is a violation (the recovered file system should always open). */
  private async restart(vol: Volume, after: string): Promise<boolean> {
    this.s.signal.throwIfAborted();
    try {
      await this.server.start(vol.dataDir, vol.name);
      return true;
    } catch (err) {
      this.report('restart', `${after}: ${(err as Error).message.slice(0, 2000)}`);
      return false;
    }
  }

  private async check(phase: Exclude<Phase, 'load'>): Promise<void> {
    this.s.signal.throwIfAborted();
    this.phase = phase;
    try {
      let client: PharaohClient;
      try {
        client = await PharaohClient.connect({ endpoints: [this.url] }, { timeoutMs: 5_000, policy: 'round-robin' });
      } catch (err) {
        this.report('unavailable', `cannot connect ${phase}: ${(err as Error).message}`);
        return;
      }
      try {
        await withTimeout(this.model.check(client, phase), 180_000, `${this.service} check ${phase}`);
      } finally {
        await client.close();
      }
    } finally {
      this.phase = 'load';
    }
  }

  /** A server that died on its own is a violation; it is restarted on the same volume. */
  private async reviveIfCrashed(): Promise<void> {
    const app = this.server.running;
    if (!app || (app.child.exitCode === null && app.child.signalCode === null)) return;
    this.report('crash', `exited (code ${app.child.exitCode}, signal ${app.child.signalCode}); stderr: ${app.stderr().slice(-2000)}`);
    await this.stopLoad();
    await this.server.kill();
    if (!(await this.restart(this.vol!, 'restart after the crash'))) await this.fresh();
    await this.startLoad();
  }

  async runAll(cuts: ScheduledCut[]): Promise<void> {
    try {
      await this.fresh();
      for (const c of cuts) {
        this.s.signal.throwIfAborted();
        await this.cut(c);
      }
    } finally {
      await this.stopLoad().catch(() => undefined);
      await this.server.kill().catch(() => undefined);
    }
  }

  private async cut(c: ScheduledCut): Promise<void> {
    const { machine, signal } = this.s;
    this.cutNo = c.n;
    const start = performance.now();
    const before = { ...this.counters };
    const violationsBefore = this.violations.length;
    await this.startLoad();
    await sleep(c.loadMs, signal);
    await this.reviveIfCrashed();
    if (c.kind === 'kill-then-cut') {
      // Process death: the page cache (and so everything written, synced or not) survives.
      await this.server.kill();
      await this.stopLoad();
      if (await this.restart(this.vol!, 'restart after SIGKILL on the same mount')) {
        await this.check('after-kill');
        if (c.serveMs > 0) {
          await this.startLoad();
          await sleep(c.serveMs, signal);
          await this.reviveIfCrashed();
        }
      } else {
        await this.fresh();
        await this.startLoad();
        await sleep(c.loadMs, signal);
      }
    }
    // Power cut: freeze, copy what the device received, kill.
    signal.throwIfAborted();
    const freeze = await this.server.freeze();
    const copyName = this.nextName();
    const copyPath = join(machine.dir, `${copyName}.img`);
    const copy = await machine.copyImage(this.vol!, copyPath);
    await this.server.kill();
    await this.stopLoad();
    const old = this.vol!;
    // The copy is the device after the power cut: its own loop device and mount point; the mount replays its journal.
    this.vol = await machine.attach(copyName, copyPath);
    await machine.destroy(old);
    if (await this.restart(this.vol, 'restart on the copy after the power cut')) await this.check('after-cut');
    else await this.fresh();
    signal.throwIfAborted();
    this.s.onCut({ ...c, checked: subCounters(this.counters, before), violations: this.violations.length - violationsBefore, copy, freeze, ms: performance.now() - start });
  }

  async teardown(): Promise<void> {
    await this.stopLoad().catch(() => undefined);
    await this.server.kill().catch(() => undefined);
  }
}

const active = new Set<Machine>();

/** Synchronous last-resort cleanup of every run in progress (a second Ctrl-C, the process's exit). */
export function cleanupActiveSync(): string[] {
  const problems: string[] = [];
  for (const m of active) {
    problems.push(...m.cleanupSync());
    active.delete(m);
  }
  return problems;
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtCounters(c: Counters): string {
  return `ids ${fmtInt(c.ids)} (${fmtInt(c.crossIds)} fresh after restarts)  decisions ${fmtInt(c.decisions)}  epochs ${fmtInt(c.epochs)}  facts ${fmtInt(c.facts)}  live ${fmtInt(c.liveChecks)}`;
}

/** One progress line per cut. */
export function formatCut(r: CutReport, total: number): string {
  const w = String(total).length;
  const extra = r.copy && !r.copy.quiet ? '  [copy not quiet]' : r.freeze && !r.freeze.stopped ? '  [not all threads stopped]' : '';
  const serve = r.kind === 'kill-then-cut' ? `, served ${(r.serveMs / 1000).toFixed(1)} s after the kill` : '';
  return `[${String(r.index).padStart(w)}/${total}] ${r.service.padEnd(15)} ${r.kind.padEnd(13)} load ${(r.loadMs / 1000).toFixed(1)} s${serve}  ${fmtCounters(r.checked)}  violations ${r.violations}  (${(r.ms / 1000).toFixed(1)} s${r.copy ? `, copy ${Math.round(r.copy.ms)} ms` : ''})${extra}`;
}

/** The closing summary. */
export function formatSummary(r: PowercutResult): string {
  const lines: string[] = [];
  const chains = r.cuts.filter((c) => c.kind === 'kill-then-cut').length;
  lines.push(`powercut summary: seed ${r.seed}, ${r.cuts.length} cuts (${chains} kill-then-cut) in ${(r.elapsedMs / 1000).toFixed(0)} s, started ${r.startedAt.toISOString()}${r.interrupted ? ' — INTERRUPTED' : ''}`);
  for (const s of r.services) lines.push(`  ${s.service.padEnd(15)} ${String(s.cuts).padStart(3)} cuts (${s.chains} kill-then-cut)  ${fmtCounters(s.checked)}  violations ${s.violations}`);
  lines.push(`  ${'total'.padEnd(15)} ${String(r.cuts.length).padStart(3)} cuts (${chains} kill-then-cut)  ${fmtCounters(r.totals)}  violations ${r.violations.length}`);
  if (r.unquietCopies > 0 || r.unstoppedFreezes > 0) lines.push(`  note: ${r.unquietCopies} copies taken while the device was still receiving writes, ${r.unstoppedFreezes} freezes with threads still running`);
  if (r.violations.length === 0) lines.push('  violations: none');
  else {
    lines.push(`  violations by kind: ${Object.entries(r.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const [k, n] of Object.entries(r.byKind)) lines.push(`    ${k} (${n}): ${VIOLATION_KINDS[k as ViolationKind]}`);
    const shown = r.violations.slice(0, 40);
    for (const v of shown) lines.push(`  ✗ ${v.kind} ${v.service} cut ${v.cut} ${v.phase}: ${v.message}`);
    if (r.violations.length > shown.length) lines.push(`  … and ${r.violations.length - shown.length} more`);
  }
  for (const e of r.harnessErrors) lines.push(`  harness error: ${e}`);
  for (const p of r.cleanupProblems) lines.push(`  cleanup problem: ${p}`);
  lines.push(`  replay: npm run powercut -- --seed ${r.seed} --cuts ${r.options.cuts} --services ${r.options.services.join(',')}`);
  return lines.join('\n');
}

/**
 * Run the power cuts. Needs root and loop devices (throws saying why not).
 * Always kills its servers, unmounts, detaches and removes what it created.
 */
export async function runPowercut(partial: Partial<PowercutOptions> = {}): Promise<PowercutResult> {
  const reason = unavailableReason();
  if (reason !== undefined) throw new Error(`powercut cannot run here: ${reason}`);
  const seed = partial.seed ?? Math.floor(Math.random() * 2 ** 31);
  const cuts = partial.cuts ?? DEFAULT_OPTIONS.cuts;
  const opts: PowercutOptions = { ...DEFAULT_OPTIONS, maxMs: 120_000 + cuts * 60_000, log: (l) => console.log(l), ...partial, seed, cuts };
  if (!Number.isSafeInteger(opts.cuts) || opts.cuts < 1) throw new Error(`cuts must be a positive integer, got ${opts.cuts}`);
  if (opts.services.length === 0) throw new Error('no services');
  for (const s of opts.services) if (!SERVICES.includes(s)) throw new Error(`unknown service ${s} (known: ${SERVICES.join(', ')})`);
  if (!(opts.shardCount >= 1 && opts.shardCount <= 1024)) throw new Error(`shardCount must be in 1..1024, got ${opts.shardCount}`);
  const schedule = makeSchedule(opts);
  const startedAt = new Date();
  const t0 = performance.now();
  const machine = Machine.create(opts.tmpDir);
  active.add(machine);
  const controller = new AbortController();
  const abort = (why: Error) => {
    if (controller.signal.aborted) return;
    controller.abort(why);
    // Stopped and waiting servers die at once, so every await on them ends.
    machine.killTracked();
  };
  const onOuterAbort = () => abort(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('aborted'));
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const deadline = setTimeout(() => abort(new Error(`time limit of ${opts.maxMs} ms reached`)), opts.maxMs);

  const allViolations: Violation[] = [];
  const reports: CutReport[] = [];
  const harnessErrors: string[] = [];
  let printedViolations = 0;
  const shared: Shared = {
    opts,
    machine,
    signal: controller.signal,
    onViolation: (v) => {
      allViolations.push(v);
      if (printedViolations++ < 100) opts.log(`  ✗ ${v.kind} ${v.service} cut ${v.cut} ${v.phase}: ${v.message}`);
    },
    onCut: (r) => {
      const report = { ...r, index: reports.length + 1 };
      reports.push(report);
      opts.log(formatCut(report, opts.cuts));
    },
  };
  const lanes = opts.services.map((s, i) => new Lane(s, shared, i));
  opts.log(
    `powercut: seed ${seed}, ${opts.cuts} cuts over ${opts.services.join(', ')}; shards 0-${opts.shardCount - 1} per server; ${opts.imageMiB} MiB ext4 images (mount -o ${MOUNT_OPTIONS}) on loop devices under ${machine.dir}`,
  );
  let cleanupProblems: string[] = [];
  try {
    await Promise.all(
      lanes.map((lane) =>
        lane.runAll(schedule.filter((c) => c.service === lane.service)).catch((err: unknown) => {
          if (!controller.signal.aborted) {
            harnessErrors.push(`${lane.service}: ${(err as Error)?.stack ?? String(err)}`);
            opts.log(`powercut: ${lane.service} lane stopped: ${(err as Error)?.message ?? String(err)}`);
          }
        }),
      ),
    );
  } finally {
    clearTimeout(deadline);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.all(lanes.map((l) => l.teardown()));
    cleanupProblems = await machine.cleanup();
    active.delete(machine);
  }
  if (controller.signal.aborted && !opts.signal?.aborted) harnessErrors.push(String((controller.signal.reason as Error)?.message ?? controller.signal.reason));
  const services: ServiceSummary[] = lanes.map((l) => ({
    service: l.service,
    cuts: reports.filter((r) => r.service === l.service).length,
    chains: reports.filter((r) => r.service === l.service && r.kind === 'kill-then-cut').length,
    checked: { ...l.counters },
    violations: l.violations.length,
  }));
  const byKind: Partial<Record<ViolationKind, number>> = {};
  for (const v of allViolations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
  const { log: _log, signal: _signal, ...options } = opts;
  return {
    seed,
    options,
    startedAt,
    elapsedMs: performance.now() - t0,
    cuts: reports,
    services,
    totals: services.reduce((a, s) => addCounters(a, s.checked), zeroCounters()),
    violations: allViolations,
    byKind,
    harnessErrors,
    cleanupProblems,
    interrupted: opts.signal?.aborted === true,
    unquietCopies: reports.filter((r) => r.copy && !r.copy.quiet).length,
    unstoppedFreezes: reports.filter((r) => r.freeze && !r.freeze.stopped).length,
  };
}
