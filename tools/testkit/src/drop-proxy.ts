/**
 * A WebSocket proxy between a client and a server process that can lose an
 * answer: the fault "the server acted on a request (and answered), but the
 * answer never reached the client" (a connection drop at the wrong moment).
 * Frames pass through unchanged; when `dropAnswer` matches an answer (by the
 * op of the request it answers), the proxy discards it and cuts both sockets,
 * and — with `blockAfterDrop` — refuses new connections until `upstream` is
 * set again (so a test can kill and restart the server before the client's
 * retry gets through).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { decodeFrame } from '@pharaoh/protocol';

export interface DroppedAnswer {
  op: string;
  request: Record<string, unknown>;
  answer: Record<string, unknown>;
}

export class DropProxy {
  /** Where new connections go; undefined: refuse them (closed at once). */
  upstream: string | undefined;
  /** Lose the next answer whose request this matches (then cleared). */
  dropAnswer: ((op: string, request: Record<string, unknown>) => boolean) | undefined;
  /** After a drop, set `upstream` to undefined (refuse connections until the test sets it). */
  blockAfterDrop = false;
  /** Answers lost so far. */
  readonly dropped: DroppedAnswer[] = [];
  /** Connections accepted so far (a reconnect is one more). */
  connections = 0;
  private readonly sockets = new Set<WebSocket>();
  private readonly waiters: Array<(d: DroppedAnswer) => void> = [];

  private constructor(
    private readonly server: WebSocketServer,
    upstream: string,
  ) {
    this.upstream = upstream;
    server.on('connection', (client, req) => this.accept(client, req.url ?? '/'));
  }

  static async start(upstream: string): Promise<DropProxy> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    return new DropProxy(server, upstream);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves at the next lost answer (or the last one, if one was lost since the last call). */
  nextDrop(): Promise<DroppedAnswer> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: WebSocket, path: string): void {
    this.connections++;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.upstream === undefined) {
      client.terminate();
      return;
    }
    const up = new WebSocket(this.upstream.replace(/\/$/, '') + path);
    this.sockets.add(up);
    up.on('error', () => undefined);
    const ops = new Map<number, { op: string; request: Record<string, unknown> }>();
    const early: RawData[] = [];
    const cut = (): void => {
      client.terminate();
      up.terminate();
    };
    client.on('message', (data) => {
      try {
        const f = decodeFrame(data as Buffer) as Record<string, unknown>;
        if (typeof f['id'] === 'number' && typeof f['op'] === 'string') ops.set(f['id'], { op: f['op'], request: f });
      } catch {
        // Not a frame: passed on as is (the server refuses it).
      }
      if (up.readyState === WebSocket.OPEN) up.send(data, { binary: true });
      else early.push(data);
    });
    up.on('open', () => {
      for (const d of early.splice(0)) up.send(d, { binary: true });
    });
    up.on('message', (data) => {
      let f: Record<string, unknown> | undefined;
      try {
        f = decodeFrame(data as Buffer) as Record<string, unknown>;
      } catch {
        f = undefined;
      }
      const asked = f !== undefined && typeof f['id'] === 'number' ? ops.get(f['id']) : undefined;
      if (asked !== undefined && f !== undefined && this.dropAnswer?.(asked.op, asked.request)) {
        this.dropAnswer = undefined;
        if (this.blockAfterDrop) this.upstream = undefined;
        const d = { op: asked.op, request: asked.request, answer: f };
        this.dropped.push(d);
        cut();
        for (const w of this.waiters.splice(0)) w(d);
        return;
      }
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: true });
    });
    up.on('close', () => client.terminate());
    client.on('close', () => up.terminate());
  }
}
