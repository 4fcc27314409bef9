/**
 * One fleet process: how to start it (ONE node process running
 * `pharaoh serve <service>`, so its pid is the server's pid), how to tell it
 * is ready, and how to stop it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { formatShardRanges } from '@pharaoh/protocol';
import type { FleetMember } from '../fleet-file.js';
import { PHARAOH_BIN } from '../paths.js';
import { SERVE_NODE_FLAGS } from '../node-flags.js';

/** Command-line markers of a fleet process serving `service` (see isOurProcess). */
export function memberMarkers(service: string): string[] {
  return [PHARAOH_BIN, 'serve', service];
}

/** Arguments after `node` that start `member`: `<node flags> pharaoh serve <service> <flags>`. */
export function childArgs(member: FleetMember, extra: readonly string[] = []): string[] {
  return [
    ...SERVE_NODE_FLAGS,
    PHARAOH_BIN,
    'serve',
    member.service,
    '--shards',
    formatShardRanges(member.shards),
    '--host',
    member.host,
    '--port',
    String(member.port),
    '--http-port',
    String(member.httpPort ?? 0),
    '--data',
    member.dataDir,
    ...extra,
  ];
}

/**
 * Spawn `member` with stdout and stderr forwarded line by line through `onLine`.
 * The child gets its own process group: Ctrl-C in a terminal reaches only the
 * supervisor, which sends each child ONE SIGTERM (a server treats a second
 * signal as "exit now", which would skip the graceful drain).
 */
export function spawnMember(member: FleetMember, extra: readonly string[], onLine: (line: string, stream: 'out' | 'err') => void): ChildProcess {
  const child = spawn(process.execPath, childArgs(member, extra), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  createInterface({ input: child.stdout! }).on('line', (l) => onLine(l, 'out'));
  createInterface({ input: child.stderr! }).on('line', (l) => onLine(l, 'err'));
  return child;
}

/** One readiness probe: `GET <http>/readyz` answers 2xx, or (without an HTTP port) the WebSocket port accepts. */
export async function probeReady(member: FleetMember, timeoutMs = 1000): Promise<boolean> {
  if (member.http !== undefined) {
    try {
      const res = await fetch(new URL('/readyz', member.http), { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
  return new Promise((resolve) => {
    const sock = connect({ host: member.host, port: member.port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Resolves when `child` has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if it is still running after `graceMs`. Resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited(child), killed]);
  clearTimeout(timer);
  await exited(child);
}
