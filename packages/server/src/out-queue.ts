import type { Socket } from 'node:net';

/** RFC 6455 §5.2: FIN + opcode; server frames are never masked. */
const BINARY = 0x82;
const PONG = 0x8a;

/**
 * The answers of one connection that are waiting for the end of the current
 * event-loop turn, as complete WebSocket frames. They leave as ONE socket
 * write per turn: thousands of small answers cost one buffer, not one write
 * request (and its ~200 bytes of bookkeeping) each, so the bytes counted
 * against `highWaterBytes` are the bytes held in memory.
 */
export class OutQueue {
  private chunks: Buffer[] = [];
  /** Bytes queued here, not yet handed to the socket. */
  bytes = 0;

  constructor(private readonly socket: Socket) {}

  /** Queue one binary message. */
  binary(payload: Buffer): void {
    this.push(header(BINARY, payload.length), payload);
  }

  /** Queue a pong echoing a ping's payload (≤ 125 bytes: ws refuses longer control frames with 1002). */
  pong(payload: Buffer): void {
    this.push(header(PONG, payload.length), payload);
  }

  /** Bytes queued here plus bytes the socket has not yet passed to the kernel. */
  get buffered(): number {
    return this.bytes + this.socket.writableLength;
  }

  /** Hand everything queued to the socket in one write. */
  flush(): void {
    if (this.bytes === 0) return;
    const chunk = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    this.socket.write(chunk);
  }

  /** Forget what is queued (the connection is closing: nothing may follow a close frame). */
  drop(): void {
    this.chunks = [];
    this.bytes = 0;
  }

  private push(head: Buffer, payload: Buffer): void {
    this.chunks.push(head, payload);
    this.bytes += head.length + payload.length;
  }
}

function header(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([opcode, length]);
  if (length < 0x10000) return Buffer.from([opcode, 126, length >>> 8, length & 0xff]);
  const h = Buffer.allocUnsafe(10);
  h[0] = opcode;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}
