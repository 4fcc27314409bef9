/**
 * The client's encoder and decoder against the conformance vectors of
 * docs/protocol/vectors: it writes the canonical bytes of every canonical
 * request, reads every decodable frame to the value the vectors say and
 * refuses exactly the frames the server refuses, understands every server
 * frame (hellos, answers, every error code), and every frame its API sends
 * is canonical and passes the server's own checks.
 */
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError, parseArgs, parseEnvelope } from '@pharaoh/protocol';
import { REGISTRY } from '@pharaoh/registry';
import { fillHex, fromTagged, loadDecodingVectors, loadExchangeVectors, type Vars } from '@pharaoh/protocol/testing';
import { parseHello } from '../src/connection.js';
import { fromWireError } from '../src/errors.js';
import { rig } from './helpers.js';

/** Values for `{var}`s: IDs above 2^53, as real IDs are. */
function varsOf(hex: string): Vars {
  const vars: Vars = new Map();
  let i = 0n;
  for (const m of hex.matchAll(/\{([A-Za-z0-9_]+)(?::i64)?\}/g)) if (!vars.has(m[1]!)) vars.set(m[1]!, (1n << 60n) + i++);
  return vars;
}

const steps = loadExchangeVectors().flatMap(([file, v]) => v.cases.flatMap((c) => c.steps.map((s, i) => ({ where: `${file} "${c.name}" step ${i + 1}`, step: s }))));

describe('the client codec against the conformance vectors', () => {
  it('encodes every canonical request to exactly the vector bytes', () => {
    let checked = 0;
    for (const { where, step } of steps) {
      if (!step.canonical || step.send === undefined || step.value === undefined) continue;
      const vars = varsOf(step.send);
      expect(encodeFrame(fromTagged(step.value, vars)).toString('hex'), where).toBe(fillHex(step.send, vars).toString('hex'));
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('decodes every request frame to the vector value, and refuses the frames the server refuses', () => {
    let refused = 0;
    for (const { where, step } of steps) {
      if (step.send === undefined) continue;
      const vars = varsOf(step.send);
      const bytes = fillHex(step.send, vars);
      if (step.value === undefined) {
        expect(() => decodeFrame(bytes), where).toThrow(FrameError);
        expect('close' in step.expect && step.expect.close, where).toBe(1007);
        refused++;
      } else {
        expect(decodeFrame(bytes), where).toEqual(fromTagged(step.value, vars));
      }
    }
    expect(refused).toBeGreaterThan(20);
  });

  it('understands every server frame: hellos, answers, every error code', () => {
    for (const v of loadDecodingVectors().frames) {
      const frame = decodeFrame(Buffer.from(v.frame, 'hex')) as Record<string, unknown>;
      expect(frame, v.name).toEqual(fromTagged(v.value));
      if (v.meaning === 'hello') {
        const hello = parseHello(frame);
        expect(hello.layout.epochMs, v.name).toBe(1735689600000);
        expect(hello.limits.maxCount, v.name).toBe(65536);
      } else if (v.meaning === 'ok') {
        expect(frame.t).toBe('res');
        expect(frame.ok, v.name).toBeTypeOf('object');
      } else {
        const err = fromWireError(frame.err, 'ws://vector');
        if (v.meaning === 'SOME_FUTURE_CODE') {
          expect(err.code).toBe('INTERNAL');
          expect(err.message).toContain('SOME_FUTURE_CODE');
        } else {
          expect(err.code, v.name).toBe(v.meaning);
        }
      }
    }
  });

  it('sends only canonical frames that pass the server checks, from every API call', async () => {
    const r = await rig([
      { service: 'tso', shards: [[0, 1023]] },
      { service: 'txcoord', shards: [[0, 1023]] },
      { service: 'session-mgr', shards: [[0, 1023]] },
    ]);
    const raw: Uint8Array[] = [];
    for (const node of r.nodes.values()) {
      const handle = node.handle.bind(node);
      node.handle = (bytes) => {
        raw.push(bytes);
        return handle(bytes);
      };
    }
    const c = r.client;
    await Promise.all([c.tso.next(), c.tso.range(100), c.tso.next({ key: 'orders' })]);
    await c.tso.next();
    const { txId } = await c.tx.begin({ timeoutMs: 1000 });
    await c.tx.heartbeat(txId);
    await c.tx.status(txId);
    await c.tx.commit(txId);
    const { txId: t2 } = await c.tx.begin();
    await c.tx.abort(t2);
    const s = await c.sessions.open({ producer: 'orders-writer', timeoutMs: 5000 });
    await c.sessions.heartbeat(s);
    await c.sessions.validate(s);
    await c.sessions.close(s);
    await c.sessions.open();
    await c.close();
    const ops = new Set<string>();
    for (const bytes of raw) {
      expect(encodeFrame(decodeFrame(bytes)).equals(Buffer.from(bytes))).toBe(true);
      const env = parseEnvelope(decodeFrame(bytes));
      const found = REGISTRY.findOp(env.op);
      expect(found, env.op).toBeDefined();
      expect(() => parseArgs(env.op, found!.spec, env.frame)).not.toThrow();
      ops.add(env.op);
    }
    expect([...ops].sort()).toEqual(['session.close', 'session.heartbeat', 'session.open', 'session.validate', 'ts.get', 'tx.abort', 'tx.begin', 'tx.commit', 'tx.heartbeat', 'tx.status']);
  });
});
