/**
 * Start and stop Pharaoh service processes for the benchmarks as deployed:
 * `pharaoh serve <service>` (the launcher's bundle), one node process each, so
 * the pid we hold is the server itself and can be signalled and measured (RSS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../report.js';
import { PHARAOH_BIN, appMainPath } from '../../../tools/cli/src/paths.js';
import { SERVE_NODE_FLAGS } from '../../../tools/cli/src/node-flags.js';
import { peakRssBytes, rssBytes, stopChild, tail, waitFor } from './common.js';
import type { ConnectClient, TsoClient } from './targets.js';

export type ServiceName = 'tso' | 'txcoord' | 'session-mgr';

export interface ServiceProcess {
  service: ServiceName;
  url: string;
  httpUrl: string;
  pid: number;
  /** Spawn → the "listening" line (node start, loading the bundle, opening every shard). */
  startMs: number;
  /** The server's own measure of opening its shards, from its `listening` log line (NaN if absent). */
  openMs: number;
  rss(): number;
  peakRss(): number;
  /** SIGTERM (graceful) or SIGKILL, then wait for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function serviceAvailable(service: ServiceName): boolean {
  return existsSync(appMainPath(service));
}

export interface StartOptions {
  shards: string;
  dataDir: string;
  extraArgs?: string[];
  timeoutMs?: number;
}

const LISTENING = /listening on (ws:\/\/\S+) .*?(http:\/\/\S+) serves/;

export async function startService(service: ServiceName, o: StartOptions): Promise<ServiceProcess> {
  const args = [...SERVE_NODE_FLAGS, PHARAOH_BIN, 'serve', service, '--shards', o.shards, '--port', '0', '--http-port', '0', '--data', o.dataDir];
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...args, ...(o.extraArgs ?? [])], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = tail(child);
  let stderr = '';
  let stdout = '';
  let listenedAt = NaN;
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 64_000) stderr += d.toString();
    if (Number.isNaN(listenedAt) && LISTENING.test(stderr)) listenedAt = performance.now();
  });
  child.stdout!.on('data', (d: Buffer) => {
    if (stdout.length < 64_000) stdout += d.toString();
  });
  let m: RegExpExecArray;
  try {
    m = await waitFor(`${service} to listen`, o.timeoutMs ?? 120_000, () => {
      if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode}: ${output()}`);
      return LISTENING.exec(stderr) ?? undefined;
    });
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    throw err;
  }
  const openRe = /"openMs":(\d+(?:\.\d+)?)/;
  // The JSON `listening` log line (stdout) may arrive just after the human one (stderr).
  const openMs = await waitFor('listening log line', 2000, () => openRe.exec(stdout)?.[1]).then(Number, () => NaN);
  return {
    service,
    url: m[1]!,
    httpUrl: m[2]!,
    pid: child.pid!,
    startMs: listenedAt - t0,
    openMs,
    rss: () => rssBytes(child.pid!),
    peakRss: () => peakRssBytes(child.pid!),
    stop: (signal = 'SIGTERM') => stopChild(child, signal, 30_000),
  };
}

/** A way to connect a @pharaoh/client router, or why there is none (the client is loaded lazily so its absence is a skip). */
export async function loadClient(): Promise<ConnectClient | string> {
  const spec = '@pharaoh/client';
  try {
    const mod = (await import(spec)) as { PharaohClient?: { connect(o: { endpoints: string[] }): Promise<TsoClient> } };
    const pc = mod.PharaohClient;
    if (!pc || typeof pc.connect !== 'function') return '@pharaoh/client does not export PharaohClient.connect';
    return (endpoints) => pc.connect({ endpoints });
  } catch (err) {
    return `@pharaoh/client cannot be loaded: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Sum of a Prometheus counter on a service's /metrics (all label sets), or NaN. */
export async function metricTotal(httpUrl: string, name: string): Promise<number> {
  try {
    const res = await fetch(`${httpUrl}/metrics`);
    if (!res.ok) return NaN; // e.g. /metrics restricted to an admin token
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(name) && /^[\w]+(\{[^}]*\})? /.test(line)) sum += Number(line.split(' ').pop());
    return sum;
  } catch {
    return NaN;
  }
}
