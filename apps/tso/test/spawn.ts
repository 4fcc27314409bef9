/**
 * Start the real TSO app as ONE child process (node --import tsx main.ts: no
 * tsx CLI wrapper, so the pid we signal is the server itself) and find its
 * ports from the line it prints on stderr.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TSO_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');

export interface TsoProcess {
  proc: ChildProcess;
  port: number;
  httpPort: number;
  url: string;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL it (by pid) if it is still running, and wait for the exit. */
  kill(): Promise<void>;
}

/** Spawn `main.ts` with `args`; resolves once it listens, rejects if it exits first. */
export function startTso(args: string[], timeoutMs = 60_000): Promise<TsoProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', TSO_MAIN, '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stdout!.resume();
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill();
      reject(new Error(`tso did not listen within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    const check = (): void => {
      const m = / listening on (ws:\/\/[^ ]+:(\d+)) .*http:\/\/[^ ]+:(\d+) serves/.exec(err);
      if (!m) return;
      clearTimeout(timer);
      proc.stderr!.off('data', check);
      resolve({ proc, url: m[1]!, port: Number(m[2]), httpPort: Number(m[3]), stderr: () => err, exited, kill });
    };
    proc.stderr!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tso exited (code ${code}, signal ${signal}) before listening; stderr: ${err}`));
    });
  });
}

/** Run `main.ts` expecting it to fail at start; resolves with its exit code and stderr. */
export async function startTsoExpectingFailure(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stderr: string }> {
  try {
    const p = await startTso(args, timeoutMs);
    await p.kill();
    throw new Error('expected the tso process to fail at start, but it listened');
  } catch (e) {
    const m = /exited \(code (\w+), signal \w+\) before listening; stderr: ([\s\S]*)$/.exec((e as Error).message);
    if (!m) throw e;
    return { code: m[1] === 'null' ? null : Number(m[1]), stderr: m[2]! };
  }
}

export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pharaoh-tso-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
