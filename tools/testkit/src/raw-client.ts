/**
 * A bare protocol client for tests: speaks frames directly (no routing,
 * batching or retries) so tests control exactly what goes on the wire. Many
 * requests may be in flight; answers are matched by id.
 */
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';
import type { HelloFrame } from '@pharaoh/protocol';

export interface Res {
  t: 'res';
  id: number | null;
  ok?: Record<string, unknown>;
  err?: { code: string; message: string; shards?: Array<[number, number]>; shard?: number; field?: string; supported?: number[] };
}

export interface RawConnectOptions {
  /** How long to wait for the server's hello (default 10 s). */
  timeoutMs?: number;
  /** ws client options, e.g. `{ headers: { authorization: 'Bearer …' }, ca }`. */
  ws?: ClientOptions;
}

export class RawClient {
  private nextId = 1;
  private readonly pending = new Map<number, (r: Res) => void>();
  /** Error frames whose request id could not be read. */
  readonly anonymous: Res[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    readonly hello: HelloFrame,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const frame = decodeFrame(data as Buffer) as Res;
      if (frame.id === null) {
        this.anonymous.push(frame);
        return;
      }
      const cb = this.pending.get(frame.id);
      if (cb) {
        this.pending.delete(frame.id);
        cb(frame);
      }
    });
    ws.on('close', () => {
      for (const [id, cb] of this.pending) cb({ t: 'res', id, err: { code: 'CONNECTION_CLOSED', message: 'connection closed' } });
      this.pending.clear();
    });
  }

  /** Connect and resolve once the server's hello frame arrived. */
  static connect(url: string, options: RawConnectOptions = {}): Promise<RawClient> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options.ws ?? {});
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no hello from ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      ws.once('message', (data) => {
        clearTimeout(timer);
        ws.removeAllListeners('error');
        ws.on('error', () => undefined);
        resolve(new RawClient(ws, decodeFrame(data as Buffer) as HelloFrame));
      });
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Send `{id, op, ...args}` and resolve with the response frame (ok or err; CONNECTION_CLOSED if the socket closes first). */
  request(op: string, args: Record<string, unknown> = {}): Promise<Res> {
    const id = this.nextId++;
    // After the close event nothing would ever answer: say so at once.
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve({ t: 'res', id, err: { code: 'CONNECTION_CLOSED', message: 'connection closed' } });
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeFrame({ id, op, ...args }));
    });
  }

  /** Like request, but returns the `ok` payload or throws an Error carrying the answer's `code`. */
  async ok<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const r = await this.request(op, args);
    if (!r.ok) throw Object.assign(new Error(`${op} failed: ${r.err?.code} ${r.err?.message}`), { code: r.err?.code });
    return r.ok as T;
  }

  sendRaw(data: Buffer | Uint8Array | string): void {
    this.ws.send(data);
  }

  /** Close with a close handshake; resolves with the close code and reason. */
  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }

  /** Drop the connection at once (no handshake): for a server that may already be dead. */
  terminate(): void {
    this.ws.terminate();
  }
}
