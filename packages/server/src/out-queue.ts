import type { Socket } from 'node:net';

/** RFC 6455 §5.2: FIN + opcode; server frames are never masked. */
const BINARY = 0x82;
const PONG = 0x8a;

/**
 * The answers of one connection that are waiting for the end of the current
 * event-loop turn. They leave as ONE socket write per turn: thousands of small
 * answers cost one buffer, not one write request (and its ~200 bytes of
 * bookkeeping) each, so the bytes counted against `highWaterBytes` are the
 * bytes held in memory. The WebSocket frame headers are written straight into
 * that buffer when it is built: queueing an answer allocates nothing.
 */
export class OutQueue {
  private payloads: Buffer[] = [];
  private opcodes: number[] = [];
  /** Bytes queued here (headers included), not yet handed to the socket. */
  bytes = 0;

  constructor(private readonly socket: Socket) {}

  /** Queue one binary message. */
  binary(payload: Buffer): void {
    this.push(BINARY, payload);
  }

  /** Queue a pong echoing a ping's payload (≤ 125 bytes: ws refuses longer control frames with 1002). */
  pong(payload: Buffer): void {
    this.push(PONG, payload);
  }

  /** Bytes queued here plus bytes the socket has not yet passed to the kernel. */
  get buffered(): number {
    return this.bytes + this.socket.writableLength;
  }

  /** Hand everything queued to the socket in one write. */
  flush(): void {
    if (this.bytes === 0) return;
    const out = Buffer.allocUnsafe(this.bytes);
    let pos = 0;
    for (let i = 0; i < this.payloads.length; i++) {
      const payload = this.payloads[i]!;
      pos = writeHeader(out, pos, this.opcodes[i]!, payload.length);
      out.set(payload, pos);
      pos += payload.length;
    }
    this.payloads = [];
    this.opcodes = [];
    this.bytes = 0;
    this.socket.write(out);
  }

  /** Forget what is queued (the connection is closing: nothing may follow a close frame). */
  drop(): void {
    this.payloads = [];
    this.opcodes = [];
    this.bytes = 0;
  }

  private push(opcode: number, payload: Buffer): void {
    this.payloads.push(payload);
    this.opcodes.push(opcode);
    this.bytes += headerLength(payload.length) + payload.length;
  }
}

function headerLength(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/** Write an unmasked frame header at `pos`; returns where the payload starts. */
function writeHeader(out: Buffer, pos: number, opcode: number, length: number): number {
  out[pos] = opcode;
  if (length < 126) {
    out[pos + 1] = length;
    return pos + 2;
  }
  if (length < 0x10000) {
    out[pos + 1] = 126;
    out[pos + 2] = length >>> 8;
    out[pos + 3] = length & 0xff;
    return pos + 4;
  }
  out[pos + 1] = 127;
  out.writeBigUInt64BE(BigInt(length), pos + 2);
  return pos + 10;
}
