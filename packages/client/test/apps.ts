/**
 * Run the real apps (apps/<service>/src/main.ts) as ONE child process each, so
 * that a SIGKILL hits the server itself. Every child is ended by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '@pharaoh/protocol';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const children = new Set<ChildProcess>();
const dirs: string[] = [];

export interface App {
  service: ServiceName;
  shards: string;
  dataDir: string;
  port: number;
  url: string;
  /** http://host:port serving /healthz /readyz /metrics. */
  http: string;
  child: ChildProcess;
}

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pharaoh-client-it-'));
  dirs.push(d);
  return d;
}

/** Start `service` hosting `shards`; `port` 0 = any free port. Resolves once it prints its listening line. */
export function startApp(service: ServiceName, shards: string, dataDir: string, port = 0, extra: string[] = []): Promise<App> {
  const main = join(REPO_ROOT, 'apps', service, 'src', 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', String(port), '--http-port', '0', '--shards', shards, '--data', dataDir, '--log-level', 'warn', ...extra], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${service} did not listen within 45 s: ${err}`)), 45_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (wss?:\/\/[\d.]+:(\d+)).*?(https?:\/\/[\d.]+:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ service, shards, dataDir, port: Number(m[2]), url: m[1]!, http: m[3]!, child });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${service} exited (${code ?? signal}) before listening: ${err}`));
    });
  });
}

/** SIGKILL the app by pid and wait for it to be gone. */
export async function killApp(app: App): Promise<void> {
  const c = app.child;
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
  const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  process.kill(c.pid, 'SIGKILL');
  await gone;
}

/** Kill every child still running and remove temp dirs. */
export async function cleanupApps(): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      process.kill(c.pid, 'SIGKILL');
      await gone;
    }),
  );
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
