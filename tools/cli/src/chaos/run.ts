/**
 * The cross-shard crash test. Starts a fleet (several processes per service),
 * drives it with client worker processes, SIGKILLs random server processes
 * at random moments and restarts them, then stops the workers, crashes and
 * restarts every server once more, reads back every decision and epoch, and
 * checks everything the clients received (see check.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { mulberry32 } from '@pharaoh/storage';
import { exited } from '../fleet/child.js';
import { CHAOS_WORKER_TS, TSX_IMPORT } from '../paths.js';
import { runChecks } from './check.js';
import type { CheckResult } from './check.js';
import { readNdjson } from './events.js';
import type { HarnessEvent, WorkerEvent } from './events.js';
import { ownersOf, producerNames, writeChaosFleet } from './fleet-setup.js';
import { ChaosServers } from './servers.js';
import { readBack } from './readback.js';
import { HarnessActions } from './actions.js';
import { PLUGINS } from './services/index.js';
import type { PluginEvent } from './services/plugin.js';
import type { WorkerConfig } from './worker.js';

export interface ChaosOptions {
  /** How long crashes are injected, in ms. */
  durationMs: number;
  procsPerService: number;
  shardsPerService: number;
  workers: number;
  loopsPerWorker: number;
  seed: number;
  /** Pause between kills: uniform in [min, max] ms. */
  killGapMs: [number, number];
  /** Pause between a kill and the restart: uniform in [0, max] ms. */
  maxRestartDelayMs: number;
  /** Harness actions beside SIGKILL (actions.ts): online shard moves between two processes of a service. */
  moves: boolean;
  /** ... and restores: a live backup of a process's shards, later put back in its place (check.ts allows what a restore may lose, nothing else). */
  restores: boolean;
  dir?: string;
  keep?: boolean;
  log?: (line: string) => void;
}

/** The CI run: about a minute in all on a 2-core machine. */
export const DEFAULT_CHAOS_OPTIONS: ChaosOptions = {
  durationMs: 30_000,
  procsPerService: 2,
  shardsPerService: 64,
  workers: 3,
  loopsPerWorker: 4,
  seed: 1,
  killGapMs: [1_000, 3_000],
  maxRestartDelayMs: 500,
  moves: true,
  restores: true,
};

export interface ChaosSummary extends CheckResult {
  seed: number;
  durationMs: number;
  wallMs: number;
  processes: number;
  shardsPerService: number;
  workers: number;
  kills: number;
  /** Shard moves and restores the harness made. */
  moves: number;
  restores: number;
  /** Each move's unavailability (release → claim answered), ms. */
  moveMs: number[];
  events: Record<string, number>;
  errors: Record<string, number>;
  dir: string;
  /** 1-minute load average when the run started and when it ended (other work on the machine slows everything). */
  load: [number, number];
}

const READY_TIMEOUT_MS = 120_000;
const CLIENT_TIMEOUT_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const t0 = Date.now();
  const load0 = loadavg()[0]!;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'pharaoh-chaos-'));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const { fleet, path: fleetPath } = await writeChaosFleet(dir, opts.procsPerService, opts.shardsPerService, PLUGINS.map((p) => p.service));
  const servers = new ChaosServers(fleet, join(dir, 'logs'), join(dir, 'harness.ndjson'));
  const workers: ChildProcess[] = [];
  const rnd = mulberry32(opts.seed);
  try {
    log(`chaos: ${servers.labels.length} server processes (${opts.shardsPerService} shards per service), ${opts.workers} workers, seed ${opts.seed}, in ${dir}`);
    for (const l of servers.labels) servers.start(l);
    await servers.waitReady(READY_TIMEOUT_MS);
    log(`chaos: servers ready after ${((Date.now() - t0) / 1000).toFixed(1)} s; starting workers`);
    for (let w = 0; w < opts.workers; w++) workers.push(startWorker(dir, fleetPath, w, opts));
    await Promise.all(workers.map((p) => workerReady(p)));
    log(`chaos: workers running after ${((Date.now() - t0) / 1000).toFixed(1)} s; crashing servers for ${opts.durationMs / 1000} s`);
    const actions = new HarnessActions(servers, fleetPath, dir, rnd, log);
    await killRounds(servers, rnd, opts, log, actions);
    log(`chaos: ${servers.events.filter((e) => e.k === 'kill').length} kills done; stopping workers`);
    await Promise.all(workers.map(async (p) => { p.kill('SIGTERM'); await exited(p); }));
    await servers.waitReady(READY_TIMEOUT_MS);
    log('chaos: final crash of every server, then restart');
    await Promise.all(servers.labels.map((l) => servers.kill(l)));
    for (const l of servers.labels) servers.start(l);
    await servers.waitReady(READY_TIMEOUT_MS);
    const all = workers.flatMap((_, w) => readNdjson<WorkerEvent | PluginEvent>(join(dir, `worker-${w}.ndjson`)));
    const events = all.filter((e): e is WorkerEvent => !('svc' in e));
    log(`chaos: restarted after ${((Date.now() - t0) / 1000).toFixed(1)} s; reading back the decisions and epochs of ${all.length} events`);
    const { finalTx, finalSessions, plugins } = await readBack(fleetPath, events, PLUGINS, all.filter((e): e is PluginEvent => 'svc' in e));
    const result = runChecks({ events, harness: servers.events, owners: ownersOf(fleet), finalTx, finalSessions, plugins });
    return { ...summarize(opts, dir, t0, servers.events, all, result, servers.labels.length), load: [load0, loadavg()[0]!] };
  } finally {
    for (const p of workers) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await servers.stopAll();
    if (!opts.keep && opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function startWorker(dir: string, fleetFile: string, w: number, opts: ChaosOptions): ChildProcess {
  const cfg: WorkerConfig = {
    w,
    fleetFile,
    log: join(dir, `worker-${w}.ndjson`),
    seed: opts.seed * 1000 + w,
    producers: producerNames(w, opts.loopsPerWorker, 3, opts.shardsPerService),
    timeoutMs: CLIENT_TIMEOUT_MS,
    shards: opts.shardsPerService,
    plugins: PLUGINS.map((p) => p.service),
  };
  return spawn(process.execPath, ['--import', TSX_IMPORT, CHAOS_WORKER_TS, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Resolves when the worker printed `ready` (connected, loops running); rejects if it exits or takes over a minute. */
function workerReady(p: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a chaos worker did not connect within 60 s')), 60_000);
    const rl = createInterface({ input: p.stdout! });
    rl.on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`a chaos worker exited with code ${code} before it was ready`));
    });
  });
}

/**
 * Until the time is up, at random moments: a due restore (actions.ts), else
 * with moves on a shard move (~30% of rounds), else with restores on a live
 * backup (~15%, one pending at a time), else a SIGKILL of a random server,
 * restarted after a short random pause. A restore still pending at the end
 * is done once every process is back.
 */
async function killRounds(servers: ChaosServers, rnd: () => number, opts: ChaosOptions, log: (l: string) => void, actions: HarnessActions): Promise<void> {
  const end = Date.now() + opts.durationMs;
  const restarts: Array<Promise<void>> = [];
  const down = new Set<string>();
  let kills = 0;
  while (Date.now() < end) {
    const [lo, hi] = opts.killGapMs;
    await sleep(Math.min(lo + rnd() * (hi - lo), Math.max(0, end - Date.now())));
    if (Date.now() >= end) break;
    if (opts.restores && actions.restoreDue(down)) {
      await actions.restore();
      continue;
    }
    const roll = rnd();
    // A third into the run, an action that has not happened yet is forced, so every run exercises each one enabled.
    const late = Date.now() - (end - opts.durationMs) > opts.durationMs / 3;
    if (opts.moves && (roll < 0.3 || (late && actions.moves === 0)) && (await actions.move(down))) continue;
    if (opts.restores && ((roll >= 0.3 && roll < 0.45) || (late && actions.restores === 0)) && !actions.restorePending && (await actions.backup(down))) continue;
    // Only a running (or starting) process is killed: one waiting for its restart is already down.
    const up = servers.labels.filter((l) => !down.has(l));
    if (up.length === 0) continue;
    const label = up[Math.floor(rnd() * up.length)]!;
    down.add(label);
    await servers.kill(label);
    kills++;
    const delay = rnd() * opts.maxRestartDelayMs;
    restarts.push(
      sleep(delay).then(() => {
        servers.start(label);
        down.delete(label);
      }),
    );
    if (kills % 5 === 0) log(`chaos: ${kills} kills, ${Math.max(0, Math.round((end - Date.now()) / 1000))} s left`);
  }
  await Promise.all(restarts);
  if (actions.restorePending) {
    await servers.waitReady(READY_TIMEOUT_MS);
    await actions.restore();
  }
}

function summarize(
  opts: ChaosOptions, dir: string, t0: number, harness: HarnessEvent[], events: Array<WorkerEvent | PluginEvent>, result: CheckResult, processes: number,
): Omit<ChaosSummary, 'load'> {
  const count: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const e of events) {
    count[e.k] = (count[e.k] ?? 0) + 1;
    if (e.k === 'err') errors[`${e.op} ${e.code}`] = (errors[`${e.op} ${e.code}`] ?? 0) + 1;
  }
  return {
    ...result,
    seed: opts.seed,
    durationMs: opts.durationMs,
    wallMs: Date.now() - t0,
    processes,
    shardsPerService: opts.shardsPerService,
    workers: opts.workers,
    kills: harness.filter((e) => e.k === 'kill').length,
    moves: harness.filter((e) => e.k === 'move').length,
    restores: harness.filter((e) => e.k === 'restore').length,
    moveMs: harness.flatMap((e) => (e.k === 'move' ? [e.unavailableMs] : [])),
    events: count,
    errors,
    dir,
  };
}
