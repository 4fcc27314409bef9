/**
 * A bare protocol client for tests: speaks frames directly (no routing,
 * batching or retries) so tests control exactly what goes on the wire.
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
      for (const [id, cb] of this.pending) cb({ t: 'res', id, err: { code: 'CONNECTION_CLOSED', message: 'closed' } });
      this.pending.clear();
    });
  }

  /** `options`: ws client options, e.g. `{ headers: { authorization: 'Bearer …' }, ca }`. */
  static connect(url: string, timeoutMs = 10_000, options: ClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
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

  /** Send `{id, op, ...args}` and resolve with the response frame (ok or err). */
  request(op: string, args: Record<string, unknown> = {}): Promise<Res> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeFrame({ id, op, ...args }));
    });
  }

  /** Like request, but throws unless the answer is ok; returns `ok`. */
  async ok<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const r = await this.request(op, args);
    if (!r.ok) throw new Error(`${op} failed: ${r.err?.code} ${r.err?.message}`);
    return r.ok as T;
  }

  sendRaw(data: Buffer | Uint8Array | string): void {
    this.ws.send(data);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}
