import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, FrameError, decodeFrame, readTsGetFrame } from '@pharaoh/protocol';
import type { Role } from '@pharaoh/protocol';
import type { Logger } from 'pino';
import type { Dispatcher, ReplyTarget } from './dispatch.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerLimits } from './options.js';
import { readFramesFast } from './frame-reader.js';
import { OutQueue } from './out-queue.js';

/**
 * Frames one connection may have handled in one event-loop turn. Beyond it the
 * rest of what was already read waits for the next turn (and reading pauses),
 * so a connection that sends thousands of frames in one TCP read cannot hold
 * the event loop while other connections wait: ~256 cheap requests is ~1 ms.
 */
export const FRAMES_PER_TURN = 256;

/**
 * One client connection. Reads binary frames, hands them to the dispatcher,
 * writes answers. How it protects the process from a peer:
 * - bounded answers: answers of one turn are queued as WebSocket frames and
 *   leave in one socket write (OutQueue). While more than `highWaterBytes` of
 *   answers wait (queued or in the socket's buffer), the connection handles no
 *   further request, not even those already read, and stops reading; it goes
 *   on once the socket drained. So a peer that does not read holds at most
 *   `highWaterBytes` plus the answers of requests already in flight (at most
 *   `maxInFlight`), and its requests pile up in TCP, not in our memory.
 * - pings are answered here (ws's automatic pong is off), through the same
 *   queue: a ping burst from a peer that does not read is bounded alike.
 * - fairness: at most FRAMES_PER_TURN frames per event-loop turn, the rest of
 *   a burst is handled on later turns, interleaved with other connections.
 */
export class Connection implements ReplyTarget {
  inFlight = 0;
  /** Answered a ping since the last heartbeat tick? */
  alive = true;
  /** performance.now() of the last request (or of the upgrade): the idle timeout counts from here. */
  lastActive = performance.now();
  /** Handling and reading stopped because the peer does not read its answers. */
  private paused = false;
  /** Frames handled in this turn (reset by `endTurn` on the next turn). */
  private turnFrames = 0;
  private turnScheduled = false;
  private flushScheduled = false;
  /** Handling the last frame of a read: its answer is written at once (see handleFrame). */
  private lastOfRead = false;
  /** Frames read but not yet handled (over the turn's budget, or while paused), in arrival order from `head`. */
  private backlog: Array<{ data: Buffer; isBinary: boolean }> = [];
  private head = 0;
  private readonly socket: Socket;
  private readonly receiver: { _bufferedBytes?: number } | undefined;
  private readonly out: OutQueue;
  /**
   * Pause threshold: at least the socket's own high-water mark, so that once
   * the queue is written the socket's write returned false and a 'drain' follows.
   */
  private readonly highWater: number;
  private readonly endTurn = (): void => {
    this.turnScheduled = false;
    this.turnFrames = 0;
    this.drainBacklog();
  };
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.writeOut();
  };
  private readonly onDrain = (): void => {
    if (this.paused && this.out.buffered <= this.highWater) this.unpause();
  };

  constructor(
    readonly ws: WebSocket,
    private readonly dispatcher: Dispatcher<unknown>,
    private readonly limits: ServerLimits,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
    /** What the connection's token allows ('admin' when authentication is off). */
    readonly role: Role,
  ) {
    // ws keeps the TCP socket private; it is the only handle on its buffer and 'drain'.
    this.socket = (ws as unknown as { _socket: Socket })._socket;
    // Likewise its frame parser, read only to know whether a read's last frame was handled (see handleFrame).
    this.receiver = (ws as unknown as { _receiver?: { _bufferedBytes?: number } })._receiver;
    this.out = new OutQueue(this.socket);
    this.highWater = Math.max(limits.highWaterBytes, this.socket.writableHighWaterMark);
    this.socket.on('drain', this.onDrain);
    ws.once('close', () => {
      this.out.drop();
      this.backlog = [];
      if (this.paused) this.metrics.pausedConnections.dec();
      this.paused = false;
    });
    // Simple binary frames are read straight off the socket (frame-reader.ts); ws reads the rest.
    readFramesFast(ws, limits.maxFrameBytes, (data, last) => this.onMessage(data, true, last));
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary, this.receiverDrained()));
    ws.on('ping', (data: Buffer) => {
      if (this.ws.readyState !== 1) return;
      this.out.pong(data);
      this.queued();
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err) => {
      // ws reports protocol violations (oversized frame → 1009, bad UTF-8, ...) here and closes.
      const code = (err as { code?: string }).code;
      if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.metrics.rejected('oversized');
      this.logger.debug({ err }, 'connection error');
    });
  }

  /** Bytes of answers not yet taken by the network (queued here or in the socket). */
  get buffered(): number {
    return this.out.buffered;
  }

  /** `last`: no further byte of the read that brought this frame waits to be parsed. */
  private onMessage(data: Buffer, isBinary: boolean, last: boolean): void {
    if (this.paused || this.head < this.backlog.length || this.turnFrames >= FRAMES_PER_TURN) {
      // Keep the frame (in order) and stop reading: ws delivers the rest of the
      // current read synchronously, so the backlog is bounded by one read.
      if (this.head === this.backlog.length) this.ws.pause();
      this.backlog.push({ data, isBinary });
      if (!this.paused) this.scheduleTurn();
      return;
    }
    const first = this.turnFrames++ === 0;
    this.handleFrame(data, isBinary, last);
    // Scheduled after the frame was answered: it is not on the way to the answer.
    if (first) this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.endTurn);
  }

  /** Handle backlogged frames within this turn's budget; resume reading once none is left. */
  private drainBacklog(): void {
    while (this.head < this.backlog.length && !this.paused && this.ws.readyState === 1) {
      if (this.turnFrames >= FRAMES_PER_TURN) {
        this.scheduleTurn();
        return;
      }
      if (this.turnFrames++ === 0) this.scheduleTurn();
      const f = this.backlog[this.head]!;
      this.backlog[this.head++] = undefined as never;
      this.handleFrame(f.data, f.isBinary, this.head === this.backlog.length);
    }
    if (this.head === this.backlog.length) {
      this.backlog = [];
      this.head = 0;
      if (!this.paused && this.ws.readyState === 1) this.ws.resume();
    }
  }

  private handleFrame(data: Buffer, isBinary: boolean, lastOfRead: boolean): void {
    // After we started closing, ws may still deliver frames that arrived in the same read.
    if (this.ws.readyState !== 1 /* OPEN */) return;
    const now = performance.now();
    this.lastActive = now;
    if (!isBinary) {
      this.metrics.rejected('text');
      this.close(CLOSE_CODES.UNSUPPORTED_DATA, 'binary frames only');
      return;
    }
    // The most frequent request, read straight from its bytes when it has the common shape.
    const tsGet = isBinary && this.dispatcher.answersTsGet ? readTsGetFrame(data) : undefined;
    let frame: unknown;
    try {
      if (tsGet === undefined) frame = decodeFrame(data);
    } catch (err) {
      this.metrics.rejected('undecodable');
      const code = err instanceof FrameError ? err.closeCode : CLOSE_CODES.INVALID_PAYLOAD;
      this.close(code, 'undecodable frame');
      return;
    }
    // The last frame of what was read (nothing more buffered in ws, no backlog): its answer, and
    // those of the frames before it in the same read, leave at once in one write, before the
    // metrics and ws's own bookkeeping of the read, instead of at the end of the turn.
    this.lastOfRead = lastOfRead && !this.paused && this.head >= this.backlog.length;
    if (tsGet !== undefined) this.dispatcher.handleTsGet(tsGet, this, now);
    else this.dispatcher.handle(frame, this, now);
    // An answer that will come later (a promise) leaves with the next flush; earlier ones go now.
    if (this.lastOfRead && this.out.bytes > 0) this.writeOut();
    this.lastOfRead = false;
  }

  /** Hand the queued answers to the socket (the end-of-turn flush, or at once after a read's last frame). */
  private writeOut(): void {
    if (this.ws.readyState !== 1 /* OPEN */) {
      this.out.drop();
      return;
    }
    this.out.flush();
    if (this.paused && !this.socket.writableNeedDrain) this.unpause();
  }

  /** ws has no unparsed bytes of this connection buffered (false when that cannot be told). */
  private receiverDrained(): boolean {
    return this.receiver?._bufferedBytes === 0;
  }

  send(bytes: Buffer): void {
    if (this.ws.readyState !== 1 /* OPEN */) return;
    this.out.binary(bytes);
    if (this.lastOfRead) {
      this.writeOut();
      this.lastOfRead = false;
      this.checkHighWater();
    } else this.queued();
  }

  /** Something was queued: write it at the end of this turn; stop handling requests past the high-water mark. */
  private queued(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
    this.checkHighWater();
  }

  private checkHighWater(): void {
    if (!this.paused && this.out.buffered > this.highWater) {
      // The peer is not reading its answers: handle and read nothing more until the socket drains.
      this.paused = true;
      this.metrics.pausedConnections.inc();
      this.metrics.pauses.inc();
      this.ws.pause();
    }
  }

  private unpause(): void {
    this.paused = false;
    this.metrics.pausedConnections.dec();
    if (this.head < this.backlog.length) this.scheduleTurn();
    else if (this.ws.readyState === 1) this.ws.resume();
  }

  /**
   * Send what is queued, then close with `code`. A peer that does not finish
   * the close handshake is cut off by ws after 30 s.
   */
  close(code: number, reason: string): void {
    if (this.ws.readyState === 1) this.out.flush();
    if (this.ws.readyState === 0 || this.ws.readyState === 1) this.ws.close(code, reason);
  }
}
