import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, FrameError, decodeFrame } from '@pharaoh/protocol';
import type { Role } from '@pharaoh/protocol';
import type { Logger } from 'pino';
import type { Dispatcher, ReplyTarget } from './dispatch.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerLimits } from './options.js';

/**
 * Frames one connection may have handled in one event-loop turn. Beyond it the
 * rest of what was already read waits for the next turn (and reading pauses),
 * so a connection that sends thousands of frames in one TCP read cannot hold
 * the event loop while other connections wait: ~256 cheap requests is ~1 ms.
 */
export const FRAMES_PER_TURN = 256;

/**
 * One client connection. Reads binary frames, hands them to the dispatcher,
 * writes answers. Two ways it protects the process from a peer:
 * - back-pressure: while more than `highWaterBytes` of answers wait in the
 *   socket's send buffer, it stops reading (the peer's requests pile up in
 *   TCP, not in our memory), and resumes once the buffer drains;
 * - answers written in one event-loop turn are corked into one `writev`;
 * - fairness: at most FRAMES_PER_TURN frames per event-loop turn, the rest of
 *   a burst is handled on later turns, interleaved with other connections.
 */
export class Connection implements ReplyTarget {
  inFlight = 0;
  /** Answered a ping since the last heartbeat tick? */
  alive = true;
  /** performance.now() of the last request (or of the upgrade): the idle timeout counts from here. */
  lastActive = performance.now();
  private corked = false;
  /** Reading paused because the peer does not read its answers. */
  private paused = false;
  /** Frames handled in this turn (reset by `endTurn` on the next turn). */
  private turnFrames = 0;
  /** Frames read but not yet handled (a burst beyond FRAMES_PER_TURN), in arrival order. */
  private backlog: Array<{ data: Buffer; isBinary: boolean }> = [];
  private readonly endTurn = (): void => {
    this.turnFrames = 0;
    if (this.backlog.length === 0) return;
    const batch = this.backlog.splice(0, FRAMES_PER_TURN);
    this.turnFrames = batch.length;
    setImmediate(this.endTurn);
    for (const f of batch) this.handleFrame(f.data, f.isBinary);
    if (this.backlog.length === 0 && !this.paused && this.ws.readyState === 1) this.ws.resume();
  };
  private readonly socket: Socket;
  /**
   * Pause threshold: at least the socket's own high-water mark, so that when we
   * pause, the socket's last write returned false and a 'drain' will follow.
   */
  private readonly highWater: number;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
  private readonly onDrain = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.metrics.pausedConnections.dec();
    if (this.backlog.length === 0) this.ws.resume();
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
    // ws keeps the TCP socket private; it is the only handle on cork/drain.
    this.socket = (ws as unknown as { _socket: Socket })._socket;
    this.highWater = Math.max(limits.highWaterBytes, this.socket.writableHighWaterMark);
    ws.once('close', () => this.onDrain());
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
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

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.backlog.length > 0 || this.turnFrames >= FRAMES_PER_TURN) {
      // Over budget for this turn: keep the frame (in order) and stop reading until the backlog is handled.
      // ws delivers the rest of the current read synchronously, so the backlog is bounded by one read.
      if (this.backlog.length === 0) this.ws.pause();
      this.backlog.push({ data, isBinary });
      return;
    }
    if (this.turnFrames++ === 0) setImmediate(this.endTurn);
    this.handleFrame(data, isBinary);
  }

  private handleFrame(data: Buffer, isBinary: boolean): void {
    // After we started closing, ws may still deliver frames that arrived in the same read.
    if (this.ws.readyState !== 1 /* OPEN */) return;
    this.lastActive = performance.now();
    if (!isBinary) {
      this.metrics.rejected('text');
      this.close(CLOSE_CODES.UNSUPPORTED_DATA, 'binary frames only');
      return;
    }
    let frame: unknown;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.metrics.rejected('undecodable');
      const code = err instanceof FrameError ? err.closeCode : CLOSE_CODES.INVALID_PAYLOAD;
      this.close(code, 'undecodable frame');
      return;
    }
    this.dispatcher.handle(frame, this);
  }

  send(bytes: Buffer): void {
    if (this.ws.readyState !== 1 /* OPEN */) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.ws.send(bytes);
    if (!this.paused && this.ws.bufferedAmount > this.highWater) {
      // The peer is not reading its answers: stop reading its requests until the buffer drains.
      this.paused = true;
      this.metrics.pausedConnections.inc();
      this.metrics.pauses.inc();
      this.ws.pause();
      if (this.socket.writableNeedDrain) this.socket.once('drain', this.onDrain);
      else setImmediate(this.onDrain); // cannot happen above the socket's mark; never stay paused without a wake-up
    }
  }

  /** Close with `code`; a peer that does not finish the close handshake is cut off by ws after 30 s. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === 0 || this.ws.readyState === 1) this.ws.close(code, reason);
  }
}
