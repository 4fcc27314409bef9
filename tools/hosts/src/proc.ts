/**
 * Node processes inside a host: `ip netns exec <ns> node --import tsx <script>`.
 * `ip netns exec` execs the command (no fork), so the pid we get IS the node
 * process; each is also started in a process group of its own (`detached`),
 * and ended by signalling that group — never by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '@pharaoh/testkit';
import type { Host } from './net.js';

export interface Proc {
  name: string;
  host: Host;
  child: ChildProcess;
  pid: number;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** All stderr so far (capped). */
  stderr(): string;
}

const live = new Set<Proc>();
const STDERR_CAP = 64 * 1024;

/** Start `script` (a .ts path, run through tsx's loader) in `host`'s namespace. */
export function startNode(host: Host, name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, '--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ip netns exec`);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > STDERR_CAP) err = err.slice(-STDERR_CAP);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const proc: Proc = { name, host, child, pid: child.pid, exited, stderr: () => err };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** SIGKILL the process's group (its pid is the group id) and wait for it to exit (bounded). */
export async function killProc(p: Proc, timeoutMs = 10_000): Promise<void> {
  signalGroup(p, 'SIGKILL');
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p.exited, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
  clearTimeout(t);
  if (live.has(p)) throw new Error(`${p.name} (pid ${p.pid}) did not exit within ${timeoutMs} ms of SIGKILL`);
}

function signalGroup(p: Proc, sig: NodeJS.Signals): void {
  try {
    process.kill(-p.pid, sig);
  } catch {
    try {
      process.kill(p.pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Synchronous last resort (exit handler, second Ctrl-C): SIGKILL every group we started. */
export function killAllSync(): number {
  let n = 0;
  for (const p of live) {
    signalGroup(p, 'SIGKILL');
    n++;
  }
  return n;
}

/** Processes started here that have not exited yet. */
export function liveProcs(): Proc[] {
  return [...live];
}
