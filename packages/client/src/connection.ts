/**
 * One endpoint: one socket at a time, its hello, the requests in flight on it
 * (one Map from request id to callback), and reconnecting with backoff. It knows
 * nothing about shards or retries; the router decides what to do with errors.
 */
import {
  CLOSE_CODES,
  MAX_REQUEST_ID,
  SUPPORTED_VERSIONS,
  decodeFrame,
  encodeFrame,
  parseShardRanges,
  type HelloFrame,
  type ShardRanges,
  type WireLimits,
} from '@pharaoh/protocol';
import { REGISTRY, type Registry } from '@pharaoh/registry';
import { defineLayout, type Layout } from '@pharaoh/snowflake';
import { Deadlines, type Expirable } from './deadlines.js';
import { ConnectionLostError, ProtocolViolationError, TimeoutError, fromWireError, type PharaohError } from './errors.js';
import { backoffDelay, type ResolvedOptions } from './options.js';
import type { Transport, TransportSocket } from './transport.js';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

/** What a hello told us, validated. */
export interface Hello {
  /** A service of the client's registry. */
  service: string;
  shards: ShardRanges;
  layout: Layout;
  limits: WireLimits;
  server: string;
}

export type ResponseCallback = (err: PharaohError | undefined, ok: Record<string, unknown> | undefined) => void;

export interface ConnectionEvents {
  onOpen(conn: Connection, hello: Hello, reconnected: boolean): void;
  onDown(conn: Connection, err: PharaohError): void;
  onBackoff(conn: Connection, attempt: number, delayMs: number): void;
}

interface InFlight extends Expirable {
  id: number;
  cb: ResponseCallback;
}

interface Queued {
  frame: Record<string, unknown>;
  cb: ResponseCallback;
}

export class Connection {
  state: ConnectionState = 'idle';
  hello: Hello | undefined;
  /** Shards this endpoint is believed to host: from the fleet file, then its hello, then NOT_OWNER answers. */
  claim: ShardRanges | undefined;
  claimSource: 'file' | 'hello' | 'not-owner' | undefined;
  /** `clock.now()` when the current claim was established (older live claims win conflicts). */
  claimSince = 0;
  /** Service named by the fleet file, until a hello says otherwise. */
  expectedService: string | undefined;
  /** Resolves after the first attempt either got a hello or failed. */
  readonly firstAttempt: Promise<void>;

  private socket: TransportSocket | undefined;
  private readonly pending = new Map<number, InFlight>();
  private readonly waiting: Queued[] = [];
  private readonly deadlines: Deadlines;
  private nextId = 1;
  private attempt = 0;
  private everOpened = false;
  private timer: unknown = undefined;
  private helloTimer: unknown = undefined;
  /** Armed while requests are in flight: drops a socket whose server fell silent (see DEFAULT_SILENCE_MS). */
  private watchdog: unknown = undefined;
  /** `clock.now()` when the last frame arrived on the current socket. */
  private lastHeard = 0;
  private settleFirst: (() => void) | undefined;
  private lastError: PharaohError | undefined;

  constructor(
    readonly url: string,
    private readonly opts: ResolvedOptions,
    private readonly transport: Transport,
    private readonly events: ConnectionEvents,
  ) {
    this.deadlines = new Deadlines(opts.clock, opts.timeoutMs);
    this.firstAttempt = new Promise((resolve) => (this.settleFirst = resolve));
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Requests sent and not yet answered, plus those queued behind the server's in-flight limit. */
  get inFlight(): number {
    return this.pending.size + this.waiting.length;
  }

  get service(): string | undefined {
    return this.hello?.service ?? this.expectedService;
  }

  get error(): PharaohError | undefined {
    return this.lastError;
  }

  start(): void {
    if (this.state === 'idle') this.open();
  }

  /** Skip the rest of the backoff delay and reconnect now (used when a shard lost its owner). */
  kick(): void {
    if (this.state !== 'backoff') return;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.open();
  }

  /**
   * Send one request. `cb` is called exactly once: with the result, a typed
   * server error, ConnectionLostError (the socket dropped, the request may or
   * may not have been executed) or TimeoutError (no answer within timeoutMs).
   * Past the server's announced in-flight limit, requests wait here in order.
   */
  request(frame: Record<string, unknown>, cb: ResponseCallback): void {
    if (this.state !== 'open') {
      cb(new ConnectionLostError(this.url, `${this.url} is not connected`, { cause: this.lastError }), undefined);
      return;
    }
    if (this.pending.size >= this.hello!.limits.maxInFlight) {
      this.waiting.push({ frame, cb });
      return;
    }
    this.transmit(frame, cb);
  }

  private transmit(frame: Record<string, unknown>, cb: ResponseCallback): void {
    const id = this.allocateId();
    const entry: InFlight = {
      id,
      cb,
      done: false,
      deadline: 0,
      expire: () => {
        this.pending.delete(id);
        cb(new TimeoutError(`no answer from ${this.url} within ${this.opts.timeoutMs} ms`), undefined);
        this.drainWaiting();
      },
    };
    this.pending.set(id, entry);
    this.deadlines.add(entry);
    frame.id = id;
    this.socket!.send(encodeFrame(frame));
    if (this.watchdog === undefined) this.armWatchdog(entry.deadline - this.opts.timeoutMs + this.opts.silenceMs);
  }

  private armWatchdog(at: number): void {
    this.watchdog = this.opts.clock.setTimeout(() => this.checkSilence(), Math.max(0, at - this.opts.clock.now()));
  }

  /**
   * A partitioned or dead host sends no FIN or RST: without this, the socket
   * would look open for minutes and every call routed to it would wait out its
   * timeout. Silence is counted from the later of the last frame heard and the
   * oldest unanswered request (the first in `pending`, which keeps send order).
   */
  private checkSilence(): void {
    this.watchdog = undefined;
    const oldest = this.pending.values().next().value;
    if (this.state !== 'open' || oldest === undefined) return;
    const quietSince = Math.max(this.lastHeard, oldest.deadline - this.opts.timeoutMs);
    if (this.opts.clock.now() - quietSince < this.opts.silenceMs) {
      this.armWatchdog(quietSince + this.opts.silenceMs);
      return;
    }
    this.fail(new ConnectionLostError(this.url, `no frame from ${this.url} for ${this.opts.silenceMs} ms with requests in flight: the host is unreachable or the server is stuck`));
  }

  private clearWatchdog(): void {
    if (this.watchdog !== undefined) this.opts.clock.clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private allocateId(): number {
    // uint32 ids, skipping any still in flight after a wrap-around.
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private open(): void {
    this.state = 'connecting';
    this.helloTimer = this.opts.clock.setTimeout(() => {
      this.helloTimer = undefined;
      this.fail(new ConnectionLostError(this.url, `no hello from ${this.url} within ${this.opts.connectTimeoutMs} ms`));
    }, this.opts.connectTimeoutMs);
    const socket = this.transport.open(this.url, {
      onOpen: () => {},
      onMessage: (data) => {
        if (this.socket !== socket) return;
        this.lastHeard = this.opts.clock.now();
        if (this.state === 'connecting') {
          this.clearHelloTimer();
          this.onHello(data);
        } else this.onResponse(data);
      },
      onClose: (code, reason, error) => {
        // A late close of an earlier socket must not touch the current one's hello timer.
        if (this.socket !== socket) return;
        this.clearHelloTimer();
        const why = error?.message ?? (reason || `close code ${code}`);
        // Before its hello a socket was never a connection: say so, so nobody looks for what "dropped" it.
        const text = this.state === 'connecting' ? `cannot connect to ${this.url}: ${why}` : `connection to ${this.url} lost: ${why}`;
        this.fail(new ConnectionLostError(this.url, text, { cause: error }));
      },
    });
    this.socket = socket;
  }

  private clearHelloTimer(): void {
    if (this.helloTimer !== undefined) this.opts.clock.clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
  }

  private onHello(data: Uint8Array): void {
    let hello: Hello;
    try {
      hello = parseHello(decodeFrame(data), this.opts.services);
    } catch (cause) {
      const err = new ProtocolViolationError(`${this.url}: bad hello: ${(cause as Error).message}`, { cause });
      this.fail(err);
      return;
    }
    const reconnected = this.everOpened;
    this.hello = hello;
    this.state = 'open';
    this.attempt = 0;
    this.everOpened = true;
    this.lastError = undefined;
    this.events.onOpen(this, hello, reconnected);
    this.settleFirst?.();
    this.settleFirst = undefined;
  }

  private onResponse(data: Uint8Array): void {
    let frame: Record<string, unknown>;
    try {
      frame = decodeFrame(data) as Record<string, unknown>;
      if (typeof frame !== 'object' || frame === null || frame.t !== 'res') throw new Error('not a response frame');
    } catch (cause) {
      this.opts.logger.warn({ endpoint: this.url, err: String(cause) }, 'undecodable frame from server; reconnecting');
      this.socket?.close(CLOSE_CODES.INVALID_PAYLOAD, 'undecodable frame');
      return;
    }
    const id = frame.id;
    if (typeof id !== 'number') {
      // An error about a request whose id the server could not read: a client bug; log it.
      this.opts.logger.error({ endpoint: this.url, err: frame.err }, 'server could not read a request id');
      return;
    }
    const entry = this.pending.get(id);
    if (entry === undefined) return; // answered after its wire timeout: already reported
    this.pending.delete(id);
    this.deadlines.finish(entry);
    if (frame.err !== undefined) entry.cb(fromWireError(frame.err, this.url), undefined);
    else entry.cb(undefined, (frame.ok ?? {}) as Record<string, unknown>);
    this.drainWaiting();
  }

  private drainWaiting(): void {
    while (this.waiting.length > 0 && this.state === 'open' && this.pending.size < this.hello!.limits.maxInFlight) {
      const q = this.waiting.shift()!;
      this.transmit(q.frame, q.cb);
    }
  }

  /** The socket is gone (or never came up): fail everything on it and schedule a reconnect. */
  private fail(err: PharaohError): void {
    if (this.state === 'closed') return;
    this.clearHelloTimer();
    this.clearWatchdog();
    const socket = this.socket;
    this.socket = undefined;
    socket?.terminate();
    const wasOpen = this.state === 'open';
    this.lastError = err;
    this.state = 'backoff';
    this.failAll(err);
    if (wasOpen) this.events.onDown(this, err);
    this.settleFirst?.();
    this.settleFirst = undefined;
    const delay = backoffDelay(this.attempt++, this.opts.reconnect, this.opts.random);
    this.events.onBackoff(this, this.attempt, delay);
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'backoff') this.open();
    }, delay);
  }

  /** One code path rejects everything pending on this connection. */
  private failAll(err: PharaohError): void {
    const entries = [...this.pending.values()];
    const queued = this.waiting.splice(0);
    this.pending.clear();
    this.deadlines.clear();
    for (const e of entries) {
      e.done = true;
      e.cb(err, undefined);
    }
    for (const q of queued) q.cb(err, undefined);
  }

  /** Close for good: no reconnect, pending requests fail with `err`, no timer or socket left. */
  async close(err: PharaohError): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.clearHelloTimer();
    this.clearWatchdog();
    const socket = this.socket;
    this.socket = undefined;
    this.failAll(err);
    this.settleFirst?.();
    this.settleFirst = undefined;
    // terminate(): a clean close handshake would arm ws's 30 s close timer when the peer is unresponsive.
    socket?.terminate();
  }
}

/** Validate a hello frame; throws with a message naming the bad field. */
export function parseHello(frame: unknown, services: Pick<Registry, 'has' | 'names'> = REGISTRY): Hello {
  const f = frame as Partial<HelloFrame> | null;
  if (typeof f !== 'object' || f === null || f.t !== 'hello') throw new Error('first frame is not a hello');
  if (typeof f.v !== 'number' || !SUPPORTED_VERSIONS.includes(f.v)) throw new Error(`unsupported protocol version ${String(f.v)}`);
  if (typeof f.service !== 'string' || !services.has(f.service)) throw new Error(`unknown service ${String(f.service)} (this client knows ${services.names.join(', ')})`);
  if (!Array.isArray(f.shards)) throw new Error('shards is not a list of ranges');
  const text = f.shards.map((r) => (Array.isArray(r) ? `${String(r[0])}-${String(r[1])}` : String(r))).join(',');
  const shards = f.shards.length === 0 ? [] : parseShardRanges(text);
  const l = f.layout;
  if (typeof l !== 'object' || l === null) throw new Error('layout missing');
  const layout = defineLayout({
    name: l.name,
    timeBits: l.timeBits,
    shardBits: l.shardBits,
    seqBits: l.seqBits,
    epoch: Number(l.epochMs),
    unitMs: l.unitMs,
  });
  const lim = (f.limits ?? {}) as Partial<WireLimits>;
  const limits: WireLimits = {
    maxFrameBytes: positive(lim.maxFrameBytes, 1 << 20),
    maxInFlight: positive(lim.maxInFlight, 1024),
    maxCount: positive(lim.maxCount, 1 << 16),
  };
  return { service: f.service, shards, layout, limits, server: String(f.server ?? '') };
}

function positive(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : dflt;
}
