/**
 * Coordinator benchmark: the real `apps/txcoord`, `apps/session-mgr` and
 * `apps/group-coord` processes under load from this process over real WebSocket connections.
 *   - txcoord: begin+commit pairs (the commit waits for a journal fdatasync);
 *   - session-mgr: opens of named producers (each a journaled epoch bump);
 *   - group-coord: offset commits (each journaled) and heartbeats (memory only);
 * each with 1 and 64 pairs/opens in flight on one connection, with p50/p99.
 * Baseline in the same run: `ping` on the same server and connection (answered
 * by the host, no journal), so the ratio shows what the durable decision costs.
 * Usage: npm run bench:coord [-- --quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, shardForKey } from '@pharaoh/protocol';
import { measureCalls, type CallsResult } from './lib/loops.js';
import { REPO_ROOT, describeMachine, fmt, machineLine, percentile, writeSection } from './lib/report.js';
import { PHARAOH_BIN } from '../tools/cli/src/paths.js';
import { SERVE_NODE_FLAGS } from '../tools/cli/src/node-flags.js';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 0.5 : 5;
const WARMUP_SECONDS = QUICK ? 0.2 : 1;
const SHARDS = 16;
const DATA = join(REPO_ROOT, '.tmp', `bench-coord-${process.pid}`);

interface Conn {
  ws: WebSocket;
  call(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
}

function connect(url: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const waiting = new Map<number, (f: Record<string, unknown>) => void>();
    let next = 1;
    ws.on('message', (data: Buffer) => {
      const f = decodeFrame(data) as Record<string, unknown>;
      const cb = waiting.get(f['id'] as number);
      if (cb) {
        waiting.delete(f['id'] as number);
        cb(f);
      }
    });
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        call(op, args) {
          const id = next++;
          return new Promise((res, rej) => {
            waiting.set(id, (f) => (f['err'] ? rej(new Error(`${op}: ${JSON.stringify(f['err'])}`)) : res(f['ok'] as Record<string, unknown>)));
            ws.send(encodeFrame({ id, op, ...args }));
          });
        },
      }),
    );
  });
}

function startApp(app: 'txcoord' | 'session-mgr' | 'group-coord'): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [...SERVE_NODE_FLAGS, PHARAOH_BIN, 'serve', app, '--shards', `0-${SHARDS - 1}`, '--data', join(DATA, app), '--port', '0', '--http-port', '0', '--log-level', 'warn'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${app} did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.once('exit', (code) => reject(new Error(`${app} exited (${code}): ${err}`)));
  });
}

type Result = CallsResult;

const measure = (n: number, op: (caller: number, i: number) => Promise<unknown>): Promise<Result> => measureCalls(n, WARMUP_SECONDS, SECONDS, op);

function producersPerShard(n: number): string[][] {
  const out: string[][] = Array.from({ length: SHARDS }, () => []);
  for (let i = 0, left = SHARDS * n; left > 0 && i < 50_000_000; i++) {
    const name = `bench-${i}`;
    const s = shardForKey(name);
    if (s < SHARDS && out[s]!.length < n) {
      out[s]!.push(name);
      left--;
    }
  }
  return out;
}

/** One group per loop on the benchmark's shards, each with one member joined and synced (its generation formed): commits and heartbeats need no rebalance. */
async function groupMembers(c: Conn, n: number): Promise<Array<{ shard: number; group: string; member: string; generation: number }>> {
  const out: Array<{ shard: number; group: string; member: string; generation: number }> = [];
  for (let i = 0; out.length < n && i < 50_000_000; i++) {
    const group = `bench-group-${i}`;
    const shard = shardForKey(group);
    if (shard >= SHARDS) continue;
    const protocols = [{ name: 'range', metadata: new TextEncoder().encode('{"topics":{"t":4}}') }];
    const j = await c.call('group.join', { shard, group, member: `${group}-m`, protocols, sessionTimeoutMs: 300_000, rebalanceTimeoutMs: 60_000 });
    await c.call('group.sync', { shard, group, member: `${group}-m`, generation: j['generation'] });
    out.push({ shard, group, member: `${group}-m`, generation: j['generation'] as number });
  }
  return out;
}

async function main(): Promise<void> {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true });
  const machine = describeMachine(DATA);
  const loadBefore = loadavg()[0]!;
  const tx = await startApp('txcoord');
  const sm = await startApp('session-mgr');
  const gc = await startApp('group-coord');
  const rows: Array<{ service: string; what: string; inFlight: number; r: Result }> = [];
  try {
    const tc = await connect(tx.url);
    const sc = await connect(sm.url);
    const names = producersPerShard(64);
    const gcc = await connect(gc.url);
    const members = await groupMembers(gcc, 64);
    for (const inFlight of [1, 64]) {
      const ping = await measure(inFlight, async () => void (await tc.call('ping', {})));
      rows.push({ service: 'txcoord', what: 'ping (baseline)', inFlight, r: ping });
      const pairs = await measure(inFlight, async (w, i) => {
        const b = await tc.call('tx.begin', { shard: (w + i) % SHARDS });
        await tc.call('tx.commit', { txId: b['txId'] });
      });
      rows.push({ service: 'txcoord', what: 'begin+commit pair', inFlight, r: pairs });
      const sping = await measure(inFlight, async () => void (await sc.call('ping', {})));
      rows.push({ service: 'session-mgr', what: 'ping (baseline)', inFlight, r: sping });
      const opens = await measure(inFlight, async (w, i) => {
        const shard = (w + i) % SHARDS;
        const list = names[shard]!;
        await sc.call('session.open', { shard, producer: list[(w + i) % list.length] });
      });
      rows.push({ service: 'session-mgr', what: 'named session.open', inFlight, r: opens });
      const gping = await measure(inFlight, async () => void (await gcc.call('ping', {})));
      rows.push({ service: 'group-coord', what: 'ping (baseline)', inFlight, r: gping });
      const commits = await measure(inFlight, async (w, i) => {
        const m = members[w]!;
        await gcc.call('group.commitOffsets', { shard: m.shard, group: m.group, member: m.member, generation: m.generation, offsets: [{ topic: 't', partition: i % 4, offset: i }] });
      });
      rows.push({ service: 'group-coord', what: 'group.commitOffsets (1 offset)', inFlight, r: commits });
      const beats = await measure(inFlight, async (w) => {
        const m = members[w]!;
        await gcc.call('group.heartbeat', { shard: m.shard, group: m.group, member: m.member, generation: m.generation });
      });
      rows.push({ service: 'group-coord', what: 'group.heartbeat', inFlight, r: beats });
    }
    gcc.ws.terminate();
    tc.ws.terminate();
    sc.ws.terminate();
  } finally {
    for (const c of [tx.child, sm.child, gc.child]) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
    await Promise.all([tx.child, sm.child, gc.child].map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    rmSync(DATA, { recursive: true, force: true });
  }

  const loadAfter = loadavg()[0]!;
  const baseline = (service: string, inFlight: number) => rows.find((x) => x.service === service && x.inFlight === inFlight && x.what.startsWith('ping'))!.r;
  const lines = rows.map(({ service, what, inFlight, r }) => {
    const ratio = what.startsWith('ping') ? '1' : fmt(r.perSecond / baseline(service, inFlight).perSecond, 3);
    return `| ${service} | ${what} | ${inFlight} | ${fmt(r.perSecond)} | ${fmt(r.p50us / 1000, 2)} | ${fmt(r.p99us / 1000, 2)} | ${ratio} |`;
  });
  const md = [
    '## Coordinators: txcoord begin+commit, session-mgr opens, group-coord commits and heartbeats (`npm run bench:coord`)',
    '',
    `Machine: ${machineLine(machine)}; 1-min load average ${fmt(loadBefore, 1)} before, ${fmt(loadAfter, 1)} after (other work on the machine shares its cores and disk).${QUICK ? ' **Quick run (--quick): sizes too small to mean much.**' : ''}`,
    '',
    `Real \`apps/txcoord\`, \`apps/session-mgr\` and \`apps/group-coord\` processes (${SHARDS} shards each, journals on the disk above), one WebSocket connection each from the benchmark process; ${SECONDS} s per case after ${WARMUP_SECONDS} s warm-up. A begin+commit pair is two round trips, the commit waiting for its journal record's group-commit fdatasync; a named open journals an epoch bump; a group-coord commit journals one offset of one member's group (${SHARDS} shards, one group per loop), a heartbeat touches memory only. Baseline: \`ping\` on the same server and connection (no journal), same concurrency; the ratio is ops/s over baseline requests/s.`,
    '',
    '| service | operation | in flight | ops/s | p50 ms | p99 ms | vs ping |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...lines,
  ].join('\n');
  writeSection('coord', md, { machine, loadBefore, loadAfter, quick: QUICK, seconds: SECONDS, shards: SHARDS, rows });
  process.stdout.write(`${md}\n`);
}

await main();
