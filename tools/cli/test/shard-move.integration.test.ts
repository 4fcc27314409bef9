/**
 * `pharaoh shard move` with real processes: two `pharaoh serve` processes per
 * service sharing one data dir, client traffic (through @pharaoh/client,
 * keyed to the moving shards) running during the move, then the move back.
 * One move goes across data dirs with the step commands and a copy of the
 * shard directory (the procedure for volumes on other hosts).
 * Fault model: none injected here (a graceful move under load); the crash
 * points of a move are explored in packages/server/test/moves.crash.test.ts.
 * Invariants checked: no caller sees an error; per shard every ID is above
 * every ID issued before it, across both moves (so none is issued twice); a
 * decision made before the move is answered by the new owner; a transaction
 * open (begun, not decided) when the move starts is open at the new owner,
 * whose commit commits it; a session
 * epoch opened after the move is above the one before, which stays fenced;
 * the fleet file, both hellos and the client's routing agree afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PharaohClient } from '@pharaoh/client';
import { shardForKey } from '@pharaoh/protocol';
import { TSO_LAYOUT } from '@pharaoh/snowflake';
import { RawClient, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { BIN, runCli } from './helpers.js';

const apps: RunningApp[] = [];
const raws: RawClient[] = [];
const scratch = tempDir('pharaoh-move-');
afterAll(async () => {
  for (const c of raws.splice(0)) c.terminate();
  for (const a of apps.splice(0)) await stopApp(a);
  scratch.remove();
});

async function serve(service: string, shards: string, data: string): Promise<RunningApp> {
  const app = await startApp(BIN, ['serve', service, '--shards', shards, '--data', data, '--port', '0', '--http-port', '0'], { tsx: false, name: `pharaoh serve ${service} ${shards}` });
  apps.push(app);
  return app;
}

/** A key whose shard (hash % 1024) is `shard`. */
function keyFor(shard: number): string {
  for (let i = 0; ; i++) if (shardForKey(`k${i}`) === shard) return `k${i}`;
}

/** Keyed calls in a loop until `stop()`, bounded by `maxMs`: every answer kept, every error counted. */
function traffic<T>(call: () => Promise<T>, maxMs = 30_000): { results: T[]; errors: Error[]; stop: () => Promise<void> } {
  const results: T[] = [];
  const errors: Error[] = [];
  let stopped = false;
  const until = Date.now() + maxMs;
  const loop = (async () => {
    while (!stopped && Date.now() < until) {
      try {
        results.push(await call());
      } catch (err) {
        errors.push(err as Error);
      }
    }
  })();
  return {
    results,
    errors,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function strictlyIncreasing(ids: bigint[]): boolean {
  return ids.every((v, i) => i === 0 || v > ids[i - 1]!);
}

describe('pharaoh shard move', () => {
  it('moves tso shards online and back: callers see no error, IDs keep rising per shard, fleet file and routing follow', async () => {
    const data = join(scratch.dir, 'data-tso');
    const a = await serve('tso', '0-3', data);
    const b = await serve('tso', '4-7', data);
    const fleet = join(scratch.dir, 'tso-fleet.json');
    writeFileSync(fleet, JSON.stringify({ data, services: { tso: [{ endpoint: a.url, shards: '0-3' }, { endpoint: b.url, shards: '4-7' }] } }, null, 2));
    const client = await PharaohClient.connect({ endpoints: [a.url, b.url] }, { timeoutMs: 10_000 });
    try {
      const keys = [keyFor(2), keyFor(3)];
      const loads = keys.map((key) => traffic(async () => (await client.tso.range(4, { key })).first));
      await new Promise((r) => setTimeout(r, 300));
      const there = await runCli(['shard', 'move', '--service', 'tso', '--shards', '2-3', '--from', a.url, '--to', b.url, '--fleet', fleet]);
      expect(there.stderr).toBe('');
      expect(there.code).toBe(0);
      expect(there.stdout).toMatch(/moved tso shard\(s\) 2-3 .* unavailable [\d.]+ ms/);
      await new Promise((r) => setTimeout(r, 300));
      const back = await runCli(['shard', 'move', '--service', 'tso', '--shards', '2', '--from', b.url, '--to', a.url, '--fleet', fleet]);
      expect(back.code, back.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      for (const l of loads) await l.stop();
      for (const [i, l] of loads.entries()) {
        expect(l.errors.map((e) => e.message), `key of shard ${i + 2}`).toEqual([]);
        expect(l.results.length).toBeGreaterThan(10);
        expect(strictlyIncreasing(l.results), `shard ${i + 2} IDs strictly increasing across the moves`).toBe(true);
      }
      // Both processes, the fleet file and the client agree.
      const ra = await RawClient.connect(a.url);
      const rb = await RawClient.connect(b.url);
      raws.push(ra, rb);
      expect(ra.hello.shards).toEqual([[0, 2]]);
      expect(rb.hello.shards).toEqual([[3, 7]]);
      const file = JSON.parse(readFileSync(fleet, 'utf8'));
      expect(file.services.tso.map((m: { shards: string }) => m.shards)).toEqual(['0-2', '3-7']);
      const status = await runCli(['fleet', 'status', fleet, '--json']);
      expect(status.code, status.stdout + status.stderr).toBe(0);
      // The old owner names the new one; the new one serves.
      const moved = await ra.request('ts.get', { shard: 3, count: 1 });
      expect(moved.err?.code).toBe('NOT_OWNER');
      expect((moved.err as { movedTo?: string }).movedTo).toBe(b.url);
      expect(moved.err?.shards).toEqual([[0, 2]]);
      const last = loads[1]!.results.at(-1)!;
      const after = await rb.ok<{ first: bigint }>('ts.get', { shard: 3, count: 1, after: 0n });
      expect(after.first).toBeGreaterThan(last);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('moves txcoord and session-mgr shards: decisions, open transactions and epochs arrive with the shard; epochs keep rising and the old one stays fenced', async () => {
    const data = join(scratch.dir, 'data-tx');
    const ta = await serve('txcoord', '0-3', data);
    const tb = await serve('txcoord', '4-7', data);
    const sa = await serve('session-mgr', '0-3', data);
    const sb = await serve('session-mgr', '4-7', data);
    const client = await PharaohClient.connect({ endpoints: [ta.url, tb.url, sa.url, sb.url] }, { timeoutMs: 10_000 });
    try {
      const key = keyFor(1);
      const committed = await client.tx.begin({ key });
      await client.tx.commit(committed.txId);
      // Open (begun, not decided) when the move starts: the move carries them to the target.
      const openToCommit = await client.tx.begin({ key, timeoutMs: 60_000 });
      const openToAbort = await client.tx.begin({ key, timeoutMs: 60_000 });
      const producer = keyFor(1);
      const s0 = await client.sessions.open({ producer });
      // Decisions during the move: begin + commit pairs keyed to the moving shard.
      const load = traffic(async () => {
        const t = await client.tx.begin({ key });
        await client.tx.commit(t.txId);
        return t.txId;
      });
      await new Promise((r) => setTimeout(r, 300));
      for (const [service, from, to] of [
        ['txcoord', ta.url, tb.url],
        ['session-mgr', sa.url, sb.url],
      ] as const) {
        const r = await runCli(['shard', 'move', '--service', service, '--shards', '1', '--from', from, '--to', to]);
        expect(r.code, r.stderr).toBe(0);
      }
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
      // A commit that raced the move is answered by the source before it closed, or retried at the
      // target, where the move carried its transaction open: no caller sees an error.
      expect(load.errors.map((e) => e.message)).toEqual([]);
      expect(strictlyIncreasing(load.results)).toBe(true);
      // Transactions open before the move are open at the target, which decides them.
      expect(await client.tx.status(openToCommit.txId)).toBe('ACTIVE');
      const { commitTs } = await client.tx.commit(openToCommit.txId);
      expect(commitTs).toBeGreaterThan(load.results.at(-1)!);
      expect(await client.tx.status(openToCommit.txId)).toBe('COMMITTED');
      await client.tx.abort(openToAbort.txId);
      expect(await client.tx.status(openToAbort.txId)).toBe('ABORTED');
      expect(committed.txId < load.results[0]!).toBe(true);
      const rb = await RawClient.connect(tb.url);
      raws.push(rb);
      expect(rb.hello.shards).toEqual([[1, 1], [4, 7]]);
      expect(await client.tx.status(committed.txId)).toBe('COMMITTED');
      const fresh = await client.tx.begin({ key });
      expect(fresh.txId).toBeGreaterThan(load.results.at(-1)!);
      const s1 = await client.sessions.open({ producer });
      expect(s1.sessionId).toBe(s0.sessionId);
      expect(s1.epoch).toBeGreaterThan(s0.epoch);
      expect(await client.sessions.validate(s0)).toBe('FENCED');
      expect(await client.sessions.validate(s1)).toBe('OK');
    } finally {
      await client.close();
    }
  }, 120_000);

  it('moves a shard across data dirs with the step commands and a copy of its directory (the documented procedure for volumes on other hosts)', async () => {
    const [d1, d2] = [join(scratch.dir, 'host1'), join(scratch.dir, 'host2')];
    const a = await serve('tso', '0-1', d1);
    const b = await serve('tso', '2', d2);
    const ra = await RawClient.connect(a.url);
    raws.push(ra);
    // Push shard 1 about 5.5 s ahead of the clock with `after` (allowed: within lead + skew), so that only
    // the bound the release carries — not the target's clock, nor the caller — keeps the target above it.
    const ahead = TSO_LAYOUT.encode({ time: Date.now() - TSO_LAYOUT.epochMs + 5_500, shard: 1, seq: 0 });
    let last = (await ra.ok<{ first: bigint }>('ts.get', { shard: 1, count: 100, after: ahead })).first + 99n;
    expect(last).toBeGreaterThan(ahead);
    for (let i = 0; i < 20; i++) last = (await ra.ok<{ first: bigint }>('ts.get', { shard: 1, count: 100 })).first + 99n;
    const step = async (args: string[]) => {
      const r = await runCli(['shard', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const released = await step(['release', '--endpoint', a.url, '--shards', '1']);
    expect(released.carried).toBe(true);
    expect((await ra.request('ts.get', { shard: 1, count: 1 })).err?.code).toBe('SHARD_UNAVAILABLE');
    mkdirSync(join(d2, 'tso'), { recursive: true });
    execFileSync('cp', ['-a', '--sparse=always', join(d1, 'tso', 'shard-1'), join(d2, 'tso', 'shard-1')]);
    renameSync(join(d1, 'tso', 'shard-1'), join(d1, 'tso', 'moved-away-shard-1'));
    await step(['claim', '--endpoint', b.url, '--shards', '1']);
    await step(['forward', '--endpoint', a.url, '--shards', '1', '--to', b.url]);
    const rb = await RawClient.connect(b.url);
    raws.push(rb);
    expect(rb.hello.shards).toEqual([[1, 2]]);
    const next = await rb.ok<{ first: bigint }>('ts.get', { shard: 1, count: 1 });
    expect(next.first).toBeGreaterThan(last);
    const moved = await ra.request('ts.get', { shard: 1, count: 1 });
    expect(moved.err?.code).toBe('NOT_OWNER');
  }, 60_000);

  it('refuses bad requests with BAD_REQUEST, a client token with FORBIDDEN, and a move of a shard the source does not host, changing nothing', async () => {
    const data = join(scratch.dir, 'data-bad');
    const tokens = join(scratch.dir, 'tokens');
    writeFileSync(tokens, 'admin:admintoken0123456789abcdef\nclient:clienttoken0123456789abcdef\n');
    const a = await startApp(BIN, ['serve', 'tso', '--shards', '0-1', '--data', data, '--port', '0', '--http-port', '0', '--token-file', tokens], { tsx: false, name: 'tso a' });
    apps.push(a);
    const admin = await RawClient.connect(a.url, { ws: { headers: { authorization: 'Bearer admintoken0123456789abcdef' } } });
    const user = await RawClient.connect(a.url, { ws: { headers: { authorization: 'Bearer clienttoken0123456789abcdef' } } });
    raws.push(admin, user);
    expect((await user.request('admin.shards.release', { shards: '0' })).err?.code).toBe('FORBIDDEN');
    for (const args of [{}, { shards: 'abc' }, { shards: 5 }, { shards: '0-2000' }, { shards: '0', drainMs: 0 }, { shards: '0', drainMs: 1.5 }]) {
      const r = await admin.request('admin.shards.release', args);
      expect(r.err?.code, JSON.stringify(args)).toBe('BAD_REQUEST');
    }
    expect((await admin.request('admin.shards.release', { shards: '7' })).err?.code).toBe('BAD_REQUEST');
    expect((await admin.request('admin.shards.forward', { shards: '0', to: 'http://x' })).err?.code).toBe('BAD_REQUEST');
    expect((await admin.request('admin.shards.forward', { shards: '0', to: 'ws://127.0.0.1:1' })).err?.code).toBe('BAD_REQUEST');
    // A claim of a shard that never served in this data dir: refused, nothing created.
    const claim = await admin.request('admin.shards.claim', { shards: '9' });
    expect(claim.err?.code).toBe('SHARD_UNAVAILABLE');
    expect(claim.err?.message).toMatch(/never creates one/);
    // Still serving both shards.
    for (const shard of [0, 1]) expect((await admin.request('ts.get', { shard, count: 1 })).ok).toBeDefined();
    const cli = await runCli(['shard', 'move', '--service', 'tso', '--shards', '5', '--from', a.url, '--to', 'ws://127.0.0.1:1']);
    expect(cli.code).toBe(1);
  }, 60_000);
});
