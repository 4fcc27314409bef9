/**
 * A short cut in front of ws's frame parser, for the frames a client sends all
 * the time: a complete, masked, unfragmented binary frame within the size
 * limit. Such frames are unmasked in place and handed to `onBinary` directly,
 * skipping ws's Writable-stream parser (a few µs per frame on the hot path).
 * Everything else — a partial frame, a text, control or continuation frame, a
 * reserved bit, an unmasked or oversized frame, any frame while ws's own parser
 * holds bytes or a fragmented message, or once the connection is closing — goes
 * to ws unchanged, from that byte on, so ws keeps deciding every protocol
 * matter (close handshake, pings, close codes 1002/1007/1009) exactly as before.
 *
 * It needs three things ws does not document: the socket's one 'data' listener
 * is ws's, and `_receiver` exposes its parse state. When they are not as
 * expected (another ws version), nothing is installed and ws reads every frame.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** ws's Receiver fields read here (ws 8). */
interface WsReceiver {
  _state: number;
  _bufferedBytes: number;
  _fragmented: number;
  _errored: boolean;
  writableLength: number;
}

/** ws's parser state between frames. */
const GET_INFO = 0;
/** FIN + opcode 2 (binary), no reserved bit. */
const FIN_BINARY = 0x82;
const MASKED = 0x80;
const OPEN = 1;

/**
 * Read `ws`'s simple binary frames with `onBinary` (as ws's 'message' event
 * would, in order; `last`: no byte of the read follows the frame); returns
 * false when ws's internals are not as expected and ws keeps reading
 * everything. `maxPayload` is ws's limit (larger frames go to ws, which closes with 1009).
 */
export function readFramesFast(ws: WebSocket, maxPayload: number, onBinary: (data: Buffer, last: boolean) => void): boolean {
  const internals = ws as unknown as { _socket?: Socket; _receiver?: Partial<WsReceiver> };
  const socket = internals._socket;
  const receiver = internals._receiver;
  if (socket === undefined || receiver === undefined) return false;
  if (typeof receiver._state !== 'number' || typeof receiver._bufferedBytes !== 'number' || typeof receiver._fragmented !== 'number') return false;
  const listeners = socket.listeners('data');
  if (listeners.length !== 1) return false;
  const wsOnData = listeners[0] as (this: Socket, chunk: Buffer) => void;
  const r = receiver as WsReceiver;
  socket.removeListener('data', wsOnData);
  socket.on('data', (chunk: Buffer) => {
    let pos = 0;
    if (ws.readyState === OPEN && r._state === GET_INFO && r._bufferedBytes === 0 && r._fragmented === 0 && !r._errored && r.writableLength === 0) {
      pos = readSimpleFrames(chunk, maxPayload, ws, onBinary);
    }
    if (pos < chunk.length) wsOnData.call(socket, pos === 0 ? chunk : chunk.subarray(pos));
  });
  return true;
}

/**
 * Hand every complete simple binary frame at the start of `chunk` to
 * `onBinary`; returns the offset of the first byte left for ws.
 */
function readSimpleFrames(chunk: Buffer, maxPayload: number, ws: WebSocket, onBinary: (data: Buffer, last: boolean) => void): number {
  const n = chunk.length;
  let pos = 0;
  while (n - pos >= 6 && ws.readyState === OPEN) {
    if (chunk[pos] !== FIN_BINARY) break;
    const b1 = chunk[pos + 1]!;
    if ((b1 & MASKED) === 0) break;
    let len = b1 & 0x7f;
    let mask = pos + 2;
    if (len === 126) {
      len = (chunk[pos + 2]! << 8) | chunk[pos + 3]!;
      mask = pos + 4;
    } else if (len === 127) break;
    if (len > maxPayload) break;
    const start = mask + 4;
    const end = start + len;
    if (end > n) break;
    const m0 = chunk[mask]!;
    const m1 = chunk[mask + 1]!;
    const m2 = chunk[mask + 2]!;
    const m3 = chunk[mask + 3]!;
    // Unmasked in place, as ws does: the chunk is this connection's own read buffer.
    let i = start;
    for (; i + 3 < end; i += 4) {
      chunk[i] = chunk[i]! ^ m0;
      chunk[i + 1] = chunk[i + 1]! ^ m1;
      chunk[i + 2] = chunk[i + 2]! ^ m2;
      chunk[i + 3] = chunk[i + 3]! ^ m3;
    }
    const rest = end - i; // 0..3 bytes after the last whole 4-byte group
    if (rest > 0) chunk[i] = chunk[i]! ^ m0;
    if (rest > 1) chunk[i + 1] = chunk[i + 1]! ^ m1;
    if (rest > 2) chunk[i + 2] = chunk[i + 2]! ^ m2;
    pos = end;
    onBinary(chunk.subarray(start, end), end === n);
  }
  return pos;
}
