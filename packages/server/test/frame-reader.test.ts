import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { readFramesFast } from '../src/frame-reader.js';

/** One message as the server saw it, and by which reader. */
interface Seen {
  data: string;
  binary: boolean;
  via: 'fast' | 'ws';
  last?: boolean;
}

interface Rig {
  wss: WebSocketServer;
  seen: Seen[];
  closes: number[];
  installed: boolean[];
  client: Socket;
  /** Bytes the server sent back (after the upgrade response). */
  received: () => Buffer;
}

let rig: Rig | undefined;
afterEach(async () => {
  rig?.client.destroy();
  await new Promise((r) => rig?.wss.close(r) ?? r(undefined));
  rig = undefined;
});

const MAX_PAYLOAD = 1024;

/** A ws server whose connections read simple frames fast, and a raw TCP client past the upgrade. */
async function start(): Promise<Rig> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
  const seen: Seen[] = [];
  const closes: number[] = [];
  const installed: boolean[] = [];
  wss.on('connection', (ws: WebSocket) => {
    installed.push(readFramesFast(ws, MAX_PAYLOAD, (data, last) => seen.push({ data: data.toString('latin1'), binary: true, via: 'fast', last })));
    ws.on('message', (data, binary) => seen.push({ data: (data as Buffer).toString('latin1'), binary, via: 'ws' }));
    ws.on('error', () => {});
    ws.on('close', () => closes.push(sentCloseCode(rigReceived())));
  });
  await new Promise((r) => wss.once('listening', r));
  const { port } = wss.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let headerEnd = -1;
  const rigReceived = (): Buffer => (headerEnd < 0 ? Buffer.alloc(0) : buf.subarray(headerEnd));
  client.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
  client.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await until(() => buf.includes('\r\n\r\n'));
  expect(buf.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
  headerEnd = buf.indexOf('\r\n\r\n') + 4;
  return { wss, seen, closes, installed, client, received: rigReceived };
}

/** The code of the close frame the server sent (-1: none), from the bytes it sent. */
function sentCloseCode(bytes: Buffer): number {
  let pos = 0;
  while (pos + 2 <= bytes.length) {
    const len = bytes[pos + 1]! & 0x7f;
    if (len >= 126) return -1; // the server sends nothing that large in these tests
    if (bytes[pos] === 0x88) return len >= 2 ? bytes.readUInt16BE(pos + 2) : 1005;
    pos += 2 + len;
  }
  return -1;
}

async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A client frame: FIN/opcode byte, masked payload (or unmasked when `mask` is false). */
function frame(first: number, payload: string | Buffer, mask = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const len = data.length;
  const head = len < 126 ? Buffer.from([first, (mask ? 0x80 : 0) | len]) : Buffer.from([first, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!mask) return Buffer.concat([head, data]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.from(data.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([head, key, body]);
}
const binary = (s: string | Buffer): Buffer => frame(0x82, s);

describe('fast frame reader', () => {
  it('hands the simple binary frames of one read over in order, unmasked, marking the last', async () => {
    rig = await start();
    expect(rig.installed).toEqual([true]);
    const payloads = ['a', 'bc', 'def', 'ghij', 'klmno', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(1000)];
    rig.client.write(Buffer.concat(payloads.map(binary)));
    await until(() => rig!.seen.length === payloads.length);
    expect(rig.seen.map((s) => s.data)).toEqual(payloads);
    expect(rig.seen.every((s) => s.via === 'fast' && s.binary)).toBe(true);
    expect(rig.seen.map((s) => s.last)).toEqual([...payloads.slice(1).map(() => false), true]);
  });

  it('leaves a frame split across reads to ws, then reads fast again', async () => {
    rig = await start();
    const f = binary('split-frame');
    rig.client.write(f.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 30));
    rig.client.write(f.subarray(1, 9));
    await new Promise((r) => setTimeout(r, 30));
    rig.client.write(Buffer.concat([f.subarray(9), binary('after')]));
    await until(() => rig!.seen.length === 2);
    rig.client.write(binary('later'));
    await until(() => rig!.seen.length === 3);
    expect(rig.seen.map((s) => s.data)).toEqual(['split-frame', 'after', 'later']);
    expect(rig.seen[2]!.via).toBe('fast');
  });

  it('keeps order across frames ws must read: fragments, text, a ping in between', async () => {
    rig = await start();
    rig.client.write(
      Buffer.concat([binary('one'), frame(0x02, 'fr'), frame(0x89, 'p'), frame(0x80, 'ag'), binary('two'), frame(0x81, 'text'), binary('three')]),
    );
    await until(() => rig!.seen.length === 5);
    expect(rig.seen.map((s) => [s.data, s.binary])).toEqual([
      ['one', true],
      ['frag', true],
      ['two', true],
      ['text', false],
      ['three', true],
    ]);
    expect(rig.seen[1]!.via).toBe('ws');
    // ws answered the ping with a pong carrying its payload.
    await until(() => rig!.received().includes(Buffer.from([0x8a, 0x01, 0x70])));
  });

  it('leaves protocol errors to ws: it closes with 1002 for an unmasked frame, 1009 for an oversized one', async () => {
    rig = await start();
    rig.client.write(Buffer.concat([binary('ok'), frame(0x82, 'bare', false), binary('never')]));
    await until(() => rig!.closes.length === 1);
    expect(rig.closes).toEqual([1002]);
    expect(rig.seen.map((s) => s.data)).toEqual(['ok']);
    rig.client.destroy();
    await new Promise((r) => rig!.wss.close(r));

    rig = await start();
    rig.client.write(Buffer.concat([binary('ok'), binary('x'.repeat(MAX_PAYLOAD + 1))]));
    await until(() => rig!.closes.length === 1);
    expect(rig.closes).toEqual([1009]);
    expect(rig.seen.map((s) => s.data)).toEqual(['ok']);
  });

  it('installs nothing when the socket has other data listeners than ws (ws internals not as expected)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    const results: boolean[] = [];
    wss.on('connection', (ws: WebSocket) => {
      (ws as unknown as { _socket: Socket })._socket.on('data', () => {});
      results.push(readFramesFast(ws, MAX_PAYLOAD, () => {}));
    });
    await new Promise((r) => wss.once('listening', r));
    const { WebSocket: Client } = await import('ws');
    const c = new Client(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    await new Promise((r) => c.once('open', r));
    await until(() => results.length === 1);
    expect(results).toEqual([false]);
    c.terminate();
    await new Promise((r) => wss.close(r));
  });
});
