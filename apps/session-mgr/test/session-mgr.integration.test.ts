import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shardForKey } from '@pharaoh/protocol';
import { SESSION_LAYOUT } from '@pharaoh/snowflake';
import { DataDirApp, killAll, REPO_ROOT, type RawClient } from '@pharaoh/testkit';

const MAIN = join(REPO_ROOT, 'apps/session-mgr/src/main.ts');
const SHARDS = [0, 1, 2, 3];
const ARGS = ['--port', '0', '--http-port', '0', '--shards', '0-3', '--sweep-interval-ms', '50', '--log-level', 'warn'];

/** Producer names owned by `shard`. */
function namesFor(shard: number, n: number, prefix = 'it'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 10_000_000; i++) if (shardForKey(`${prefix}-${i}`) === shard) out.push(`${prefix}-${i}`);
  return out;
}

interface Opened {
  sessionId: bigint;
  epoch: number;
  timeoutMs: number;
}

// One process on one data directory, restarted on the same data; a fresh directory after each cleanup.
const node = new DataDirApp(MAIN, ARGS, 'session-it-');

afterAll(killAll);

describe('session-mgr over WebSocket', () => {
  // One server for the protocol checks: starting a tsx child costs seconds on a loaded machine.
  let c: RawClient;
  beforeAll(async () => {
    c = await node.start();
  });
  afterAll(() => node.cleanup());

  it('opens, fences, heartbeats, validates and closes sessions end to end', async () => {
    const anon = await c.ok<Opened>('session.open', { shard: 1 });
    expect(anon.epoch).toBe(0);
    expect(SESSION_LAYOUT.shardOf(anon.sessionId)).toBe(1);
    expect(await c.ok('session.validate', { sessionId: anon.sessionId, epoch: 0 })).toEqual({ status: 'OK' });

    const name = namesFor(2, 1)[0]!;
    const first = await c.ok<Opened>('session.open', { shard: 2, producer: name });
    const before = Math.floor((Date.now() - SESSION_LAYOUT.epochMs) / 1000);
    const second = await c.ok<Opened>('session.open', { shard: 2, producer: name, timeoutMs: 20_000 });
    expect(second).toMatchObject({ sessionId: first.sessionId, timeoutMs: 20_000 });
    // Epochs are seconds since the layout's epoch (at least the clock's, when the reopen rate stays below one a second).
    expect(second.epoch).toBeGreaterThanOrEqual(before);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    expect(await c.ok('session.validate', { sessionId: first.sessionId, epoch: first.epoch })).toEqual({ status: 'FENCED' });
    expect((await c.request('session.heartbeat', { sessionId: first.sessionId, epoch: first.epoch })).err?.code).toBe('SESSION_FENCED');
    expect(await c.ok('session.heartbeat', { sessionId: second.sessionId, epoch: second.epoch })).toEqual({ timeoutMs: 20_000 });
    expect(await c.ok('session.close', { sessionId: second.sessionId, epoch: second.epoch })).toEqual({});
    expect(await c.ok('session.validate', { sessionId: second.sessionId, epoch: second.epoch })).toEqual({ status: 'UNKNOWN' });
    const third = await c.ok<Opened>('session.open', { shard: 2, producer: name });
    expect(third.sessionId).toBe(first.sessionId);
    expect(third.epoch).toBeGreaterThan(second.epoch);
  });

  it('refuses a producer of another shard (saying which one owns it), foreign shards and IDs, and malformed fields', async () => {
    const foreign = namesFor(9, 1)[0]!;
    const r = await c.request('session.open', { shard: 2, producer: foreign });
    expect(r.err).toMatchObject({ code: 'NOT_OWNER', shard: 9 });
    expect(r.err?.message).toContain('shard 9');
    expect((await c.request('session.open', { shard: 9, producer: foreign })).err?.code).toBe('NOT_OWNER');
    const foreignId = SESSION_LAYOUT.encode({ time: 1_000, shard: 9, seq: 0 });
    expect((await c.request('session.validate', { sessionId: foreignId, epoch: 0 })).err?.code).toBe('NOT_OWNER');
    expect((await c.request('session.validate', { sessionId: 1n, epoch: -1 })).err?.code).toBe('BAD_REQUEST');
    expect((await c.request('session.open', { shard: 0, producer: '' })).err?.code).toBe('BAD_REQUEST');
    expect((await c.request('tx.begin', { shard: 0 })).err?.code).toBe('UNKNOWN_OP');
    expect(await c.ok('session.open', { shard: 0 })).toHaveProperty('sessionId');
  });

  it('expires a session that stops heartbeating (by the sweep timer)', async () => {
    const s = await c.ok<Opened>('session.open', { shard: 3, timeoutMs: 150 });
    let status = 'OK';
    for (let i = 0; i < 100 && status === 'OK'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await c.ok<{ status: string }>('session.validate', { sessionId: s.sessionId, epoch: 0 })).status;
    }
    expect(status).toBe('EXPIRED');
    expect((await c.request('session.heartbeat', { sessionId: s.sessionId, epoch: 0 })).err?.code).toBe('SESSION_EXPIRED');
  });

  it('stays up and keeps serving after hundreds of hostile but well-framed requests', async () => {
    let seed = 777;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const values: unknown[] = [0, -1, 1.5, 2 ** 31, 2 ** 53, 0n, 1n, (1n << 64n) - 1n, -(1n << 63n), 'x', '', null, true, [], {}, 'ü'.repeat(300), '\u0000', new Uint8Array(8)];
    const pick = () => values[Math.floor(rnd() * values.length)];
    const ops = ['session.open', 'session.heartbeat', 'session.close', 'session.validate'];
    const replies = [];
    for (let i = 0; i < 400; i++) {
      replies.push(c.request(ops[i % ops.length]!, { shard: pick(), producer: pick(), timeoutMs: pick(), sessionId: pick(), epoch: pick(), after: pick() }));
    }
    const allowed = ['BAD_REQUEST', 'NOT_OWNER', 'SESSION_UNKNOWN', 'SESSION_FENCED', 'SESSION_EXPIRED'];
    for (const r of await Promise.all(replies)) expect(r.ok !== undefined || allowed.includes(r.err!.code)).toBe(true);
    const s = await c.ok<Opened>('session.open', { shard: 1 });
    expect(await c.ok('session.validate', { sessionId: s.sessionId, epoch: 0 })).toEqual({ status: 'OK' });
  });
});

describe('session-mgr across restarts', () => {
  afterEach(() => node.cleanup());

  it('after SIGKILL in a stream of opens keeps every acknowledged epoch, fenced stays fenced, and new IDs are larger', async () => {
    const c = await node.start();
    const producers = SHARDS.flatMap((s) => namesFor(s, 4).map((name) => ({ name, shard: s })));
    const owner = new Map<string, bigint>();
    const epochs = new Map<bigint, number>();
    const anonymous: bigint[] = [];
    const maxPerShard = new Map<number, bigint>();
    const note = (id: bigint) => {
      const s = SESSION_LAYOUT.shardOf(id);
      if ((maxPerShard.get(s) ?? -1n) < id) maxPerShard.set(s, id);
    };
    let stop = false;
    let acks = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const named = (w + i) % 3 !== 0;
        const p = producers[(w * 7 + i) % producers.length]!;
        const r = await c.request('session.open', named ? { shard: p.shard, producer: p.name } : { shard: SHARDS[w % SHARDS.length] });
        if (!r.ok) return;
        const o = r.ok as unknown as Opened;
        note(o.sessionId);
        acks++;
        if (named) {
          expect(owner.get(p.name) ?? o.sessionId).toBe(o.sessionId);
          owner.set(p.name, o.sessionId);
        } else {
          anonymous.push(o.sessionId);
        }
        epochs.set(o.sessionId, Math.max(epochs.get(o.sessionId) ?? -1, o.epoch));
      }
    };
    const workers = Array.from({ length: 32 }, (_, w) => worker(w));
    for (let i = 0; i < 400 && acks < 600; i++) await new Promise((r) => setTimeout(r, 25));
    expect(acks).toBeGreaterThan(50);
    await node.stop('SIGKILL');
    stop = true;
    await Promise.all(workers);
    c.terminate();

    const c2 = await node.start();
    for (const [sessionId, epoch] of epochs) {
      if (epoch > 0) expect(await c2.ok('session.validate', { sessionId, epoch: epoch - 1 })).toEqual({ status: 'FENCED' });
      // Live at the kill: a restart grants a fresh timeout (or a newer, unacknowledged epoch fenced it).
      expect(['OK', 'FENCED']).toContain((await c2.ok<{ status: string }>('session.validate', { sessionId, epoch })).status);
    }
    for (const p of producers) {
      const id = owner.get(p.name);
      if (id === undefined) continue;
      const again = await c2.ok<Opened>('session.open', { shard: p.shard, producer: p.name });
      expect(again.sessionId).toBe(id);
      expect(again.epoch).toBeGreaterThan(epochs.get(id)!);
    }
    const fresh: bigint[] = [];
    for (const shard of SHARDS) {
      const s = await c2.ok<Opened>('session.open', { shard });
      expect(s.sessionId).toBeGreaterThan(maxPerShard.get(shard) ?? -1n);
      fresh.push(s.sessionId);
    }
    const all = [...owner.values(), ...anonymous, ...fresh];
    expect(new Set(all).size).toBe(all.length);
  });

  it('keeps a producer fenced across a graceful restart', async () => {
    const c = await node.start();
    const name = namesFor(0, 1, 'grace')[0]!;
    const zombie = await c.ok<Opened>('session.open', { shard: 0, producer: name });
    const current = await c.ok<Opened>('session.open', { shard: 0, producer: name });
    expect(await node.stop('SIGTERM')).toBe(0);
    const c2 = await node.start();
    expect(await c2.ok('session.validate', { sessionId: zombie.sessionId, epoch: zombie.epoch })).toEqual({ status: 'FENCED' });
    expect(await c2.ok('session.validate', { sessionId: current.sessionId, epoch: current.epoch })).toEqual({ status: 'OK' });
  });
});
