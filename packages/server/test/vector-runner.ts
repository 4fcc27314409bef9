/**
 * Replays one conformance case (docs/protocol/vectors/) against a server over
 * a real WebSocket: connect with the case's token, check the hello, then for
 * each step send the frame (or text, raw WebSocket bytes, pings) and check
 * what comes back: one response frame, a close code, or pongs.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { decodeFrame } from '@pharaoh/protocol';
import { fillHex, matchShape, pick, show, type Setup, type Step, type VectorCase, type Vars } from '@pharaoh/protocol/testing';

const STEP_TIMEOUT_MS = 10_000;
/** Words of the implementation an error message must not show a client (it says what a field must be instead). */
export const JS_INTERNALS = /bigint|Buffer|Uint8Array|C1Type|undefined|\[object|TypeError|received/;

type Event = { kind: 'message'; data: Buffer } | { kind: 'close'; code: number } | { kind: 'pong'; data: Buffer };

/** Everything the server sent on one connection, in order, awaited one by one. */
class Inbox {
  private readonly events: Event[] = [];
  private wake: (() => void) | undefined;
  constructor(ws: WebSocket) {
    ws.on('message', (data) => this.push({ kind: 'message', data: data as Buffer }));
    ws.on('pong', (data) => this.push({ kind: 'pong', data }));
    ws.on('close', (code) => this.push({ kind: 'close', code }));
  }
  private push(e: Event): void {
    this.events.push(e);
    this.wake?.();
  }
  async next(what: string): Promise<Event> {
    const end = Date.now() + STEP_TIMEOUT_MS;
    while (this.events.length === 0) {
      if (Date.now() > end) throw new Error(`no ${what} within ${STEP_TIMEOUT_MS} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
      this.wake = undefined;
    }
    return this.events.shift()!;
  }
}

function connect(url: string, token: string | undefined): Promise<{ ws: WebSocket; inbox: Inbox } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, maxPayload: 1 << 20 });
    const inbox = new Inbox(ws);
    ws.once('open', () => resolve({ ws, inbox }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

function send(ws: WebSocket, step: Step, vars: Vars): void {
  if (step.send !== undefined) ws.send(fillHex(step.send, vars), { binary: true });
  else if (step.sendText !== undefined) ws.send(step.sendText, { binary: false });
  else if (step.fill !== undefined) ws.send(Buffer.alloc(step.fill.length, Number.parseInt(step.fill.byte, 16)), { binary: true });
  else if (step.sendRawWs !== undefined) (ws as unknown as { _socket: Socket })._socket.write(Buffer.from(step.sendRawWs, 'hex'));
  else if (step.pings !== undefined) for (const p of step.pings) ws.ping(Buffer.from(p, 'hex'));
}

/** Check one step's answer; returns mismatch lines (empty: it conforms). */
async function check(inbox: Inbox, step: Step, vars: Vars): Promise<string[]> {
  const e = step.expect;
  if ('pongs' in e) {
    const got: string[] = [];
    for (const want of e.pongs) {
      const ev = await inbox.next('pong');
      if (ev.kind !== 'pong') return [`expected pong ${want}, got ${ev.kind}${ev.kind === 'close' ? ` ${ev.code}` : ''}`];
      got.push(ev.data.toString('hex'));
    }
    return got.join(',') === e.pongs.join(',') ? [] : [`pongs out of order or altered: ${got.slice(0, 5).join(',')}…`];
  }
  const ev = await inbox.next('close' in e ? `close ${e.close}` : 'response');
  if ('close' in e) {
    if (ev.kind === 'close') return ev.code === e.close ? [] : [`expected close ${e.close}, got close ${ev.code}`];
    return [`expected close ${e.close}, got ${ev.kind === 'message' ? show(decodeFrame(ev.data)) : 'a pong'}`];
  }
  if (ev.kind !== 'message') return [`expected a response, got ${ev.kind}${ev.kind === 'close' ? ` ${ev.code}` : ''}`];
  const frame = decodeFrame(ev.data) as Record<string, unknown>;
  const problems: string[] = [];
  if (frame.t !== 'res') problems.push(`t: expected "res", got ${show(frame.t)}`);
  if (!matchesId(frame.id, e.id)) problems.push(`id: expected ${e.id}, got ${show(frame.id)}`);
  if ('ok' in e) {
    if (!('ok' in frame)) return [...problems, `expected ok, got ${show(frame)}`];
    problems.push(...matchShape(frame.ok, e.ok, vars, '$.ok'));
    for (const [name, path] of Object.entries(step.capture ?? {})) vars.set(name, pick(frame.ok, path));
  } else {
    if (!('err' in frame)) return [...problems, `expected err, got ${show(frame)}`];
    problems.push(...matchShape(frame.err, e.err, vars, '$.err'));
    const message = String((frame.err as { message?: unknown }).message);
    if (JS_INTERNALS.test(message)) problems.push(`$.err.message speaks of JS internals: ${message}`);
  }
  return problems;
}

function matchesId(actual: unknown, expected: number | null): boolean {
  return expected === null ? actual === null : actual === expected;
}

/** Run `c` against the server at `url`; resolves with every mismatch (empty: conforming). */
export async function runCase(url: string, setup: Setup, c: VectorCase): Promise<string[]> {
  const token = c.token === 'none' ? undefined : setup.tokens[c.token ?? 'admin'];
  const conn = await connect(url, token);
  if ('status' in conn) {
    return c.httpStatus === conn.status ? [] : [`upgrade answered HTTP ${conn.status}, expected ${c.httpStatus ?? 101}`];
  }
  const { ws, inbox } = conn;
  try {
    if (c.httpStatus !== undefined) return [`upgrade accepted, expected HTTP ${c.httpStatus}`];
    const hello = await inbox.next('hello');
    if (hello.kind !== 'message') return [`expected hello, got ${hello.kind}`];
    const problems = c.hello === undefined ? [] : matchShape(decodeFrame(hello.data), c.hello, new Map(), '$hello');
    const vars: Vars = new Map();
    for (const [i, step] of c.steps.entries()) {
      if (step.waitMs !== undefined) await new Promise((r) => setTimeout(r, step.waitMs));
      send(ws, step, vars);
      const found = await check(inbox, step, vars);
      problems.push(...found.map((p) => `step ${i + 1}${step.note ? ` (${step.note})` : ''}: ${p}`));
      if (found.length > 0) break;
    }
    return problems;
  } finally {
    ws.terminate();
  }
}
