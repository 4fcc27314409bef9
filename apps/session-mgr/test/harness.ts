/**
 * Integration-test harness: run the real app as ONE child process (node
 * --import tsx, so a SIGKILL hits the server itself, not a tsx wrapper), read
 * where it listens, and talk to it over WebSocket with the shared codec.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface RunningApp {
  child: ChildProcess;
  pid: number;
  url: string;
  stderr: () => string;
}

const children = new Set<ChildProcess>();

/** Start `main` and resolve once it printed its listening line (rejects on exit or after `timeoutMs`). */
export function startApp(main: string, args: string[], timeoutMs = 30_000): Promise<RunningApp> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--http-port', '0', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stdout!.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(err);
      if (m && child.pid !== undefined) {
        clearTimeout(timer);
        resolve({ child, pid: child.pid, url: m[1]!, stderr: () => err });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`app exited (${code ?? signal}) before listening; stderr: ${err}`));
    });
  });
}

/** Send `signal` to the child by pid and wait until it has exited. */
export async function stopApp(app: RunningApp | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  if (!app) return null;
  const { child } = app;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(app.pid, signal);
  return exited;
}

/** Kill every child still running (afterAll safety net), by pid. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      process.kill(c.pid, 'SIGKILL');
      await exited;
    }),
  );
}

export type Reply = { ok: Record<string, unknown>; err?: undefined } | { ok?: undefined; err: { code: string; message: string; [k: string]: unknown } };

/** A minimal protocol client: many requests in flight, replies matched by id. */
export class Client {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  hello: Record<string, unknown> | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeFrame(data) as Record<string, unknown>;
      if (frame['t'] === 'hello') {
        this.hello = frame;
        return;
      }
      const cb = this.waiting.get(frame['id'] as number);
      if (!cb) return;
      this.waiting.delete(frame['id'] as number);
      cb(frame as unknown as Reply);
    });
    ws.on('close', () => {
      for (const cb of this.waiting.values()) cb({ err: { code: 'CONNECTION_CLOSED', message: 'connection closed' } });
      this.waiting.clear();
    });
  }

  static connect(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const c = new Client(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  call(op: string, args: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(encodeFrame({ id, op, ...args }));
    });
  }

  /** The `ok` payload, or throw with the error code. */
  async ok<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const r = await this.call(op, args);
    if (r.err) throw Object.assign(new Error(`${op}: ${r.err.code}: ${r.err.message}`), { code: r.err.code });
    return r.ok as T;
  }

  close(): void {
    this.ws.terminate();
  }
}
