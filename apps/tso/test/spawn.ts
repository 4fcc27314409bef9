/**
 * Start the real TSO app as ONE child process (see @pharaoh/testkit's
 * startApp) on loopback, any free ports, logging warnings only.
 */
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppExitedError, startApp, stopApp, tempDir } from '@pharaoh/testkit';
import type { ExitStatus } from '@pharaoh/testkit';

export const TSO_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');

export interface TsoProcess {
  proc: ChildProcess;
  port: number;
  httpPort: number;
  url: string;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  /** Resolves when the process exits. */
  exited: Promise<ExitStatus>;
  /** SIGKILL it (by pid) if it is still running, and wait for the exit. */
  kill(): Promise<void>;
}

const BASE_ARGS = ['--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--log-level', 'warn'];

/** Spawn `main.ts` with `args`; resolves once it listens, rejects if it exits first. */
export async function startTso(args: string[], timeoutMs = 60_000): Promise<TsoProcess> {
  const app = await startApp(TSO_MAIN, [...BASE_ARGS, ...args], { timeoutMs, name: 'tso' });
  return {
    proc: app.child,
    url: app.url,
    port: app.port,
    httpPort: app.httpPort!,
    stderr: app.stderr,
    exited: app.exited,
    kill: async () => void (await stopApp(app, 'SIGKILL')),
  };
}

/** Run `main.ts` expecting it to fail at start; resolves with its exit code and stderr. */
export async function startTsoExpectingFailure(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stderr: string }> {
  const p = await startTso(args, timeoutMs).catch((e: unknown) => {
    if (e instanceof AppExitedError) return { code: e.status.code, stderr: e.stderr };
    throw e;
  });
  if ('code' in p) return p;
  await p.kill();
  throw new Error('expected the tso process to fail at start, but it listened');
}

export function tempDataDir(): { dir: string; remove(): void } {
  return tempDir('pharaoh-tso-');
}
