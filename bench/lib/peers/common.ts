/**
 * Small process helpers shared by the peer launchers (Redis, PostgreSQL,
 * Pharaoh TSO): free loopback ports, bounded polling, temp dirs, and ending a
 * child by its pid. Every process started here is stopped by pid, never by name.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';

/** A loopback port that was free a moment ago (for servers that cannot listen on port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll `check` until it returns a value (not undefined), at most `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Base directory for benchmark data: the same file system for every system compared. */
export function benchTmpRoot(): string {
  return process.env.PHARAOH_BENCH_DIR ?? os.tmpdir();
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(benchTmpRoot(), `pharaoh-bench-${prefix}-`));
}

const doomed = new Set<string>();
let exitHook = false;

/**
 * Remove `dir` when this benchmark process exits, not now: on ext4 without a
 * journal (this VM's disk) file creates scan past inodes deleted in the last
 * minutes, so deleting a 1024-shard data dir would slow the next fresh start
 * measured in this run several-fold (see the TSO section of docs/BENCHMARKS.md).
 */
export function removeDir(dir: string): void {
  doomed.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of doomed) rmSync(d, { recursive: true, force: true });
    });
  }
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(bin: string): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim();
    return out && existsSync(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** Send `signal` to a child and wait (bounded) for it to exit; SIGKILL it if it does not. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = sleep(timeoutMs).then(() => 'timeout' as const);
  if ((await Promise.race([exited, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Resident set size of a process in bytes (Linux /proc), or NaN. */
export function rssBytes(pid: number): number {
  return procStatus(pid, 'VmRSS');
}

/** Peak resident set size of a process in bytes (Linux /proc VmHWM), or NaN. */
export function peakRssBytes(pid: number): number {
  return procStatus(pid, 'VmHWM');
}

function procStatus(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Keep the last `max` characters of a stream, for error messages. */
export function tail(child: ChildProcess, max = 4000): () => string {
  let buf = '';
  const add = (d: Buffer): void => {
    buf = (buf + d.toString()).slice(-max);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => buf;
}
