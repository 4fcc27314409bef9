/**
 * The usual shape of a process test: one app on one data directory, with a
 * RawClient to it, killed or stopped and started again on the same data, and
 * finally ended (by pid) and its directory removed.
 */
import { RawClient } from './raw-client.js';
import { startApp, stopApp, tempDir, type RunningApp } from './spawn.js';

export class DataDirApp {
  app: RunningApp | undefined;
  client: RawClient | undefined;
  private data: { dir: string; remove(): void } | undefined;

  /** `args` are passed before `--data <dir>`; `prefix` names the temporary data directories. */
  constructor(
    private readonly script: string,
    private readonly args: string[],
    private readonly prefix = 'pharaoh-it-',
  ) {}

  /** The current data directory (one is made on first use). */
  get dir(): string {
    this.data ??= tempDir(this.prefix);
    return this.data.dir;
  }

  /** Start the app on the current data directory and connect a client to it. */
  async start(): Promise<RawClient> {
    this.app = await startApp(this.script, [...this.args, '--data', this.dir]);
    this.client = await RawClient.connect(this.app.url);
    return this.client;
  }

  /** Signal the app by pid and wait for its exit (the data directory stays); resolves with the exit code. */
  stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    return stopApp(this.app, signal);
  }

  /** Drop the client, SIGKILL the app if it runs, and remove the data directory (the next start gets a fresh one). */
  async cleanup(): Promise<void> {
    this.client?.terminate();
    this.client = undefined;
    await stopApp(this.app);
    this.app = undefined;
    this.data?.remove();
    this.data = undefined;
  }
}
