/**
 * Run a real app as ONE child process (`node --import tsx main.ts`: no tsx CLI
 * wrapper, so the pid we signal is the server itself), find where it listens
 * from the line it prints on stderr, and end it by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root: the working directory of every child started here. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Default wait for a child to print its listening line: starting tsx is slow on a loaded 2-core machine. */
export const DEFAULT_START_TIMEOUT_MS = 60_000;

export interface Listening {
  /** ws:// or wss:// URL of the protocol endpoint. */
  url: string;
  port: number;
  /** http(s):// URL serving /healthz /readyz /metrics, when the line names one. */
  httpUrl?: string;
  httpPort?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningApp extends Listening {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  /** Resolves when the process exits. */
  exited: Promise<ExitStatus>;
}

export interface StartAppOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Names the child in error messages (default: the script's path). */
  name?: string;
  /** false: run `script` with plain node (a .cjs/.mjs bin); default: through tsx's loader. */
  tsx?: boolean;
  /** Node's own flags, before the script (e.g. SERVE_NODE_FLAGS, as `pharaoh serve` is deployed). */
  nodeArgs?: readonly string[];
}

/** The app exited before it printed its listening line. */
export class AppExitedError extends Error {
  constructor(
    readonly app: string,
    readonly status: ExitStatus,
    readonly stderr: string,
  ) {
    super(`${app} exited (code ${status.code}, signal ${status.signal}) before listening; stderr: ${stderr}`);
    this.name = 'AppExitedError';
  }
}

// A complete line only: a chunk may end in the middle of the port number.
const LISTENING_LINE = /listening on (wss?:\/\/\S*:(\d+))[^\n]*?(?:(https?:\/\/\S*:(\d+)) serves[^\n]*)?\n/;

/** Where the first complete `… listening on ws://host:port …; http://host:port serves …` line says the app listens. */
export function parseListening(text: string): Listening | undefined {
  const m = LISTENING_LINE.exec(text);
  if (!m) return undefined;
  const found: Listening = { url: m[1]!, port: Number(m[2]) };
  if (m[3] !== undefined) {
    found.httpUrl = m[3];
    found.httpPort = Number(m[4]);
  }
  return found;
}

const children = new Set<ChildProcess>();

function exitOf(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function spawnTracked(script: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; tsx?: boolean; nodeArgs?: readonly string[]; stdout: 'pipe' | 'ignore' }): ChildProcess {
  const node = [...(opts.nodeArgs ?? []), ...(opts.tsx === false ? [script, ...args] : ['--import', 'tsx', script, ...args])];
  const child = spawn(process.execPath, node, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', opts.stdout, 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Start `script` with `args` and resolve once it printed its listening line.
 * Rejects with {@link AppExitedError} if it exits first; on timeout it is
 * SIGKILLed (by pid) and the promise rejects.
 */
export function startApp(script: string, args: string[], opts: StartAppOptions = {}): Promise<RunningApp> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const name = opts.name ?? script;
  const child = spawnTracked(script, args, { ...opts, stdout: 'ignore' });
  const exited = exitOf(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child, 'SIGKILL');
      reject(new Error(`${name} did not listen within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const found = parseListening(err);
      if (!found || child.pid === undefined) return;
      clearTimeout(timer);
      resolve({ ...found, child, pid: child.pid, stderr: () => err, exited });
    });
    void exited.then((status) => {
      clearTimeout(timer);
      reject(new AppExitedError(name, status, err));
    });
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<ExitStatus> {
  const exited = exitOf(child);
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, signal);
  return exited;
}

/** Send `signal` to the app by pid (if it still runs) and wait until it has exited; resolves with its exit code. */
export async function stopApp(app: RunningApp | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  if (!app) return null;
  return (await stopChild(app.child, signal)).code;
}

/** SIGKILL every child started here that still runs, by pid, and wait for each (afterAll safety net). */
export async function killAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 'SIGKILL')));
}

export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

/**
 * Run `script` to its exit as ONE node process and collect its output.
 * `tsx: false` runs a plain script (e.g. a bin that registers tsx itself).
 * On timeout the child is SIGKILLed by pid and the promise rejects.
 */
export function runToExit(
  script: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; tsx?: boolean } = {},
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const child = spawnTracked(script, args, { ...opts, stdout: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child, 'SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    // 'close', not 'exit': the pipes are drained by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'pharaoh-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
