/**
 * One server process of one service, started on a volume's data directory as
 * ONE node process (the app's main.ts under tsx's loader, through testkit's
 * startApp), so SIGSTOP and SIGKILL of its pid reach the server itself.
 */
import { join } from 'node:path';
import { REPO_ROOT, startApp, type RunningApp } from '@pharaoh/testkit';
import { REGISTRY, type ServiceName } from '@pharaoh/registry';
import { allThreadsStopped, type Machine } from './device.js';
import { MODELLED_SERVICES } from './models.js';

/** The services powercut has a model (workload and checks) for: those of the registry's that models.ts covers. */
export const SERVICES: readonly ServiceName[] = REGISTRY.services.map((s) => s.name).filter((s) => MODELLED_SERVICES.includes(s));

/** The app's TypeScript entry point. */
export function appMain(service: ServiceName): string {
  return join(REPO_ROOT, 'apps', service, 'src', 'main.ts');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ServerConfig {
  service: ServiceName;
  /** `--shards` value, e.g. `0-7`. */
  shards: string;
  /** Service flags on top of the host's (e.g. txcoord's `--retention-ms`). */
  extraArgs: string[];
  startTimeoutMs: number;
}

/** How the SIGSTOP went. */
export interface FreezeResult {
  /** Every thread reached the stopped state (none still inside a system call). */
  stopped: boolean;
  ms: number;
}

export class ServerProc {
  private app: RunningApp | undefined;

  constructor(
    private readonly cfg: ServerConfig,
    private readonly machine: Machine,
  ) {}

  get running(): RunningApp | undefined {
    return this.app;
  }

  /** Start on `dataDir`; resolves once it listens (rejects with the server's own message if it exits first). */
  async start(dataDir: string, label: string): Promise<RunningApp> {
    if (this.app) throw new Error(`${this.cfg.service}: a server is still running (pid ${this.app.pid})`);
    const args = ['--shards', this.cfg.shards, '--data', dataDir, '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--log-level', 'warn', ...this.cfg.extraArgs];
    const app = await startApp(appMain(this.cfg.service), args, {
      name: `${this.cfg.service} on ${label}`,
      timeoutMs: this.cfg.startTimeoutMs,
      // libuv's io_uring would run file I/O in kernel workers that a SIGSTOP does not stop.
      env: { ...process.env, UV_USE_IO_URING: '0' },
    });
    this.app = app;
    this.machine.trackPid(app.pid);
    void app.exited.then(() => this.machine.untrackPid(app.pid));
    return app;
  }

  /**
   * SIGSTOP: the server makes no more progress. Waits (at most `timeoutMs`)
   * until every thread is stopped: a thread inside a system call (an fdatasync
   * in flight) only stops when the call returns, and what that call wrote must
   * be part of the cut.
   */
  async freeze(timeoutMs = 5_000): Promise<FreezeResult> {
    const app = this.app;
    if (!app) throw new Error(`${this.cfg.service}: no server to freeze`);
    const start = performance.now();
    process.kill(app.pid, 'SIGSTOP');
    while (!allThreadsStopped(app.pid)) {
      if (performance.now() - start > timeoutMs) return { stopped: false, ms: performance.now() - start };
      await sleep(2);
    }
    return { stopped: true, ms: performance.now() - start };
  }

  /** SIGKILL by pid (a stopped process dies too) and wait until it has exited. */
  async kill(): Promise<void> {
    const app = this.app;
    if (!app) return;
    this.app = undefined;
    try {
      process.kill(app.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await app.exited;
    this.machine.untrackPid(app.pid);
  }
}
