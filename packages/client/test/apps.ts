/**
 * Run the real apps (apps/<service>/src/main.ts) as ONE child process each, so
 * that a SIGKILL hits the server itself. Every child is ended by pid.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from '@pharaoh/registry';
import { killAll, REPO_ROOT, startApp as startChild, stopApp } from '@pharaoh/testkit';
import type { RunningApp } from '@pharaoh/testkit';

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
  running: RunningApp;
}

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pharaoh-client-it-'));
  dirs.push(d);
  return d;
}

/** Start `service` hosting `shards`; `port` 0 = any free port. Resolves once it prints its listening line. */
export async function startApp(service: ServiceName, shards: string, dataDir: string, port = 0, extra: string[] = []): Promise<App> {
  const main = join(REPO_ROOT, 'apps', service, 'src', 'main.ts');
  const args = ['--port', String(port), '--http-port', '0', '--shards', shards, '--data', dataDir, '--log-level', 'warn', ...extra];
  const running = await startChild(main, args, { timeoutMs: 45_000, name: service });
  return { service, shards, dataDir, port: running.port, url: running.url, http: running.httpUrl!, child: running.child, running };
}

/** SIGKILL the app by pid and wait for it to be gone. */
export async function killApp(app: App): Promise<void> {
  await stopApp(app.running, 'SIGKILL');
}

/** Kill every child still running and remove temp dirs. */
export async function cleanupApps(): Promise<void> {
  await killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
