/**
 * Test doubles: an in-memory transport that connects URLs to FakeNodes (no
 * network), and a manual clock whose timers fire only when a test advances it.
 */
import type { Clock, SocketHandlers, Transport, TransportSocket } from '../src/index.js';
import type { FakeNode } from './fake-node.js';

/** Let every pending microtask and setImmediate run (the transport delivers on setImmediate). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export class ManualClock implements Clock {
  t = 1_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextHandle = 1;
  /** Every delay ever requested, in order (to check backoff). */
  readonly requested: number[] = [];

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const h = this.nextHandle++;
    this.requested.push(ms);
    this.timers.set(h, { at: this.t + ms, fn });
    return h;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
  /** Move time forward, firing due timers in order, letting I/O settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      await settle();
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (due === undefined || e[1].at < due[1].at)) due = e;
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
    await settle();
  }
}

interface FakeSocket extends TransportSocket {
  drop(): void;
}

/** Routes `open(url)` to the FakeNode registered for that URL; unregistered or down URLs refuse. */
export class FakeTransport implements Transport {
  readonly nodes = new Map<string, FakeNode>();
  readonly down = new Set<string>();
  readonly opened: string[] = [];
  private readonly sockets = new Map<string, Set<FakeSocket>>();

  add(url: string, node: FakeNode): void {
    this.nodes.set(url, node);
  }

  /** Drop every socket to `url` and refuse new ones until `up(url)`. */
  kill(url: string): void {
    this.down.add(url);
    for (const s of this.sockets.get(url) ?? []) s.drop();
  }

  up(url: string, node?: FakeNode): void {
    this.down.delete(url);
    if (node) this.nodes.set(url, node);
  }

  open(url: string, h: SocketHandlers): TransportSocket {
    this.opened.push(url);
    const node = this.nodes.get(url);
    let closed = false;
    const set = this.sockets.get(url) ?? new Set();
    this.sockets.set(url, set);
    const finish = (code: number, reason: string, err?: Error): void => {
      if (closed) return;
      closed = true;
      set.delete(sock);
      setImmediate(() => h.onClose(code, reason, err));
    };
    const sock: FakeSocket = {
      send: (data) => {
        if (closed || node === undefined) return;
        node.outstanding++;
        node.inFlightPeak = Math.max(node.inFlightPeak, node.outstanding);
        const answer = node.handle(data);
        if (answer !== undefined) {
          setImmediate(() => {
            node.outstanding--;
            if (!closed) h.onMessage(answer);
          });
        }
      },
      close: () => finish(1000, 'closed by client'),
      terminate: () => finish(1006, 'terminated'),
      drop: () => finish(1006, '', new Error('connection reset')),
    };
    set.add(sock);
    if (node === undefined || this.down.has(url)) {
      finish(1006, '', new Error(`connect ECONNREFUSED ${url}`));
    } else {
      setImmediate(() => {
        if (closed) return;
        h.onOpen();
        if (!node.silent) h.onMessage(node.hello());
      });
    }
    return sock;
  }

  openSockets(): number {
    let n = 0;
    for (const s of this.sockets.values()) n += s.size;
    return n;
  }
}
