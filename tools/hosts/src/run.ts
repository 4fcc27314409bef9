/**
 * One run: build the bed, start the fleet and the clients, run the chosen
 * scenarios in order, stop the clients (each reads its acknowledged commits
 * back), check everything they received, tear everything down.
 * `runHosts()` is the library entry; main.ts is the CLI.
 */
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS } from '@pharaoh/client';

import { Bed, CLIENT_HOSTS } from './bed.js';
import { checkAll, type CheckTotals, type Violation } from './check.js';
import { SERVER_HOSTS, SERVICES, SHARDS_PER_POD } from './fleet.js';
import { ms, now } from './measure.js';
import { RUNNERS, SCENARIOS, type ScenarioName, type ScenarioOptions, type ScenarioResult } from './scenarios.js';

export interface HostsOptions {
  scenarios: readonly ScenarioName[];
  /** The clients' timeoutMs (a call's whole budget). */
  timeoutMs: number;
  connectTimeoutMs: number;
  partitionMs: number;
  recoverMs: number;
  slowPhaseMs: number;
  slowDelayMs: number;
  /** Pause between calls of the keyless loop (keyed and tx loops: 4×). */
  pauseMs: number;
  /** Load before the first scenario, so every client has a keyless home and history. */
  warmupMs: number;
  /** Abort (and clean up) after this long. */
  maxMs: number;
  dir?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * The clients run with the client's own defaults (timeoutMs 5 s, so silenceMs
 * 2 s): the measured failover is what a producer gets out of the box. A
 * partition outlasts a call's timeout, so keyed callers do see it.
 */
export const DEFAULT_OPTIONS: Omit<HostsOptions, 'log' | 'signal' | 'dir'> = {
  scenarios: SCENARIOS,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  partitionMs: 8_000,
  recoverMs: 20_000,
  slowPhaseMs: 12_000,
  slowDelayMs: 100,
  pauseMs: 5,
  warmupMs: 2_000,
  maxMs: 10 * 60_000,
};

export interface HostsResult {
  options: Omit<HostsOptions, 'log' | 'signal'>;
  scenarios: ScenarioResult[];
  violations: Violation[];
  totals: CheckTotals;
  /** Acknowledged commits and producer epochs read back at the end. */
  commitsChecked: number;
  /** Setup, a scenario or the teardown failed (not a finding about the fleet). */
  harnessErrors: string[];
  cleanupProblems: string[];
  interrupted: boolean;
  ms: number;
}

let active: Bed | undefined;

/** For exit handlers and a second Ctrl-C: kill every process and remove the network now. */
export function cleanupActiveSync(): string[] {
  const bed = active;
  active = undefined;
  return bed ? bed.destroy() : [];
}

export async function runHosts(input: Partial<HostsOptions> = {}): Promise<HostsResult> {
  const o = { ...DEFAULT_OPTIONS, ...input };
  // A fault shorter than a call's timeout would let keyed callers simply wait it out: the checks would mean nothing.
  if (o.partitionMs <= o.timeoutMs) throw new Error(`partitionMs (${o.partitionMs}) must be longer than the clients' timeoutMs (${o.timeoutMs})`);
  if (o.slowPhaseMs <= o.timeoutMs) throw new Error(`slowPhaseMs (${o.slowPhaseMs}) must be longer than the clients' timeoutMs (${o.timeoutMs})`);
  const log = o.log ?? ((line: string) => console.log(line));
  const started = now();
  const limit = AbortSignal.timeout(o.maxMs);
  const signal = o.signal ? AbortSignal.any([o.signal, limit]) : limit;
  const result: HostsResult = {
    options: { ...o, log: undefined, signal: undefined } as HostsResult['options'],
    scenarios: [],
    violations: [],
    totals: { calls: 0, ok: 0, errors: 0, ids: 0 },
    commitsChecked: 0,
    harnessErrors: [],
    cleanupProblems: [],
    interrupted: false,
    ms: 0,
  };
  const bed = new Bed({
    ...(o.dir !== undefined ? { dir: o.dir } : {}),
    timeoutMs: o.timeoutMs,
    connectTimeoutMs: o.connectTimeoutMs,
    pauseMs: o.pauseMs,
    maxLifeMs: o.maxMs,
    startTimeoutMs: 120_000,
    log,
  });
  active = bed;
  const sopts: ScenarioOptions = { ...o, log, signal };
  try {
    bed.createNetwork();
    log(`hosts: ${SERVER_HOSTS} server hosts (10.77.0.10-12) + a spare (10.77.0.13), client hosts ${CLIENT_HOSTS.join(', ')} (10.77.0.20-21) on bridge phh-br; TLS and tokens on`);
    const t0 = now();
    await raceAbort(bed.startPods(), signal);
    log(`hosts: ${bed.pods.length} pods (${SERVICES.join(', ')}; SHARDS_PER_POD=${SHARDS_PER_POD}, ranges from deploy/entrypoint.sh) listening after ${ms(now() - t0)}`);
    await raceAbort(Promise.all(CLIENT_HOSTS.map((c) => bed.startWorker(bed.net.host(c), c))), signal);
    log(`hosts: clients connected on ${CLIENT_HOSTS.join(', ')} (timeoutMs ${o.timeoutMs}, connectTimeoutMs ${o.connectTimeoutMs}); warming up ${ms(o.warmupMs)}`);
    await sleepAbort(o.warmupMs, signal);
    for (const name of o.scenarios) {
      const r = await raceAbort(RUNNERS[name](bed, sopts), signal);
      result.scenarios.push(r);
      for (const line of r.lines) log(`  ${name}: ${line}`);
      for (const v of r.violations) log(`  ✗ ${v.kind} ${v.client}: ${v.detail}`);
      log(`${name}: done in ${ms(r.ms)}, ${r.violations.length} violations`);
    }
    log('hosts: stopping the clients (each reads every acknowledged commit back)');
    await raceAbort(Promise.all([...bed.workers.values()].map((w) => bed.stopWorker(w, 120_000))), signal);
  } catch (err) {
    if (o.signal?.aborted) result.interrupted = true;
    else result.harnessErrors.push((err as Error)?.stack ?? String(err));
  } finally {
    const events = new Map(bed.allWorkers.map((w) => [w.name, w.events] as const));
    const checked = checkAll(events, o.timeoutMs);
    result.totals = checked.totals;
    result.violations = [...checked.violations, ...result.scenarios.flatMap((s) => s.violations)];
    for (const w of bed.allWorkers) for (const e of w.events) if (e.e === 'verify') result.commitsChecked += e.checked;
    active = undefined;
    result.cleanupProblems = bed.destroy();
    result.ms = now() - started;
  }
  return result;
}

function sleepAbort(ms: number, signal: AbortSignal): Promise<void> {
  return raceAbort(new Promise<void>((r) => setTimeout(r, ms)), signal);
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}

export function formatSummary(r: HostsResult): string {
  const out: string[] = [];
  out.push(`hosts summary: ${r.scenarios.length} scenarios in ${(r.ms / 1000).toFixed(0)} s (client timeoutMs ${r.options.timeoutMs}, partitions ${r.options.partitionMs} ms)`);
  for (const s of r.scenarios) {
    out.push(`  ${s.name} (${(s.ms / 1000).toFixed(1)} s, violations ${s.violations.length})`);
    for (const l of s.lines) out.push(`    ${l}`);
  }
  const t = r.totals;
  out.push(`  calls ${t.calls.toLocaleString('en')} (ok ${t.ok.toLocaleString('en')}, errors surfaced to callers ${t.errors.toLocaleString('en')}), IDs checked ${t.ids.toLocaleString('en')}, commits and epochs read back ${r.commitsChecked.toLocaleString('en')}`);
  const kinds = new Map<string, number>();
  for (const v of r.violations) kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
  out.push(`  violations: ${r.violations.length === 0 ? 'none' : [...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const v of r.violations.slice(0, 40)) out.push(`    ✗ ${v.kind} ${v.client}: ${v.detail}`);
  for (const e of r.harnessErrors) out.push(`  harness error: ${e}`);
  for (const p of r.cleanupProblems) out.push(`  cleanup problem: ${p}`);
  if (r.interrupted) out.push('  interrupted');
  return out.join('\n');
}
