/** A FakeNode behind a real WebSocket server on 127.0.0.1 (port 0 unless given). */
import { WebSocketServer, type WebSocket } from 'ws';
import type { FakeNode } from './fake-node.js';

export class WsFake {
  private wss: WebSocketServer | undefined;
  private readonly clients = new Set<WebSocket>();
  port = 0;

  constructor(readonly node: FakeNode) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<this> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    this.port = (wss.address() as { port: number }).port;
    wss.on('connection', (ws) => {
      this.clients.add(ws);
      ws.on('close', () => this.clients.delete(ws));
      ws.send(this.node.hello());
      ws.on('message', (data: Buffer) => {
        const answer = this.node.handle(data);
        if (answer !== undefined) ws.send(answer);
      });
    });
    this.wss = wss;
    return this;
  }

  /** Like a crashed process: connections reset, port closed. */
  async kill(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
    const wss = this.wss;
    this.wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
