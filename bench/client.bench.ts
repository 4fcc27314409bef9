/**
 * Client router benchmark: 1, 64 and 1024 concurrent `client.tso.next()`
 * callers in this process against one real TSO process (all 1024 shards), and,
 * in the same run, the raw protocol without the router: the same number of
 * callers each sending single-ID `ts.get` requests over one WebSocket.
 *
 * Usage: npm run bench:client [-- --quick]
 * Floor (issue 7): with 1024 callers the router reaches >= 3x the raw
 * single-ID request rate; the goal is 1M calls/s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { PharaohClient } from '@pharaoh/client';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';
import { REPO_ROOT, describeMachine, fmt, machineLine, percentile, writeSection } from './lib/report.js';
import { PHARAOH_BIN } from '../tools/cli/src/paths.js';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 0.3 : 4;
/** Raw and router runs alternate this many times per concurrency; the median run is reported (a shared 2-core machine is noisy). */
const REPEATS = QUICK ? 1 : 3;
const WARMUP_SECONDS = QUICK ? 0.1 : 1;
const CONCURRENCY = [1, 64, 1024];

interface Result {
  mode: 'router' | 'raw';
  callers: number;
  calls: number;
  seconds: number;
  latenciesMs: number[];
}

async function startTso(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [PHARAOH_BIN, 'serve', 'tso', '--port', '0', '--http-port', '0', '--shards', '0-1023', '--data', dataDir, '--log-level', 'warn'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tso did not start within 60 s:\n${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`tso exited with ${code}:\n${err}`)));
  });
  return { child, url };
}

/** Run `callers` loops of `call` for `seconds`; every call's latency is kept. */
async function drive(callers: number, seconds: number, call: () => Promise<unknown>): Promise<Omit<Result, 'mode' | 'callers'>> {
  const latenciesMs: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let calls = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (;;) {
        const s = performance.now();
        if (s >= end) return;
        await call();
        latenciesMs.push(performance.now() - s);
        calls++;
      }
    }),
  );
  return { calls, seconds: (performance.now() - t0) / 1000, latenciesMs };
}

async function routerRun(url: string, callers: number): Promise<Result> {
  const client = await PharaohClient.connect({ endpoints: [url] }, { timeoutMs: 30_000 });
  await drive(callers, WARMUP_SECONDS, () => client.tso.next());
  const r = await drive(callers, SECONDS, () => client.tso.next());
  await client.close();
  return { mode: 'router', callers, ...r };
}

/** The raw protocol: one socket, one request per ID, ids matched through a Map, shards round-robin. */
async function rawRun(url: string, callers: number): Promise<Result> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const pending = new Map<number, (v: unknown) => void>();
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // hello
    ws.once('error', reject);
  });
  ws.on('message', (data: Buffer) => {
    const f = decodeFrame(data) as { id: number; ok?: unknown; err?: unknown };
    const done = pending.get(f.id);
    pending.delete(f.id);
    done?.(f.ok ?? f.err);
  });
  let nextId = 1;
  let shard = 0;
  const call = (): Promise<unknown> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      shard = (shard + 1) % 1024;
      ws.send(encodeFrame({ id, op: 'ts.get', shard, count: 1 }));
    });
  await drive(callers, WARMUP_SECONDS, call);
  const r = await drive(callers, SECONDS, call);
  ws.terminate();
  return { mode: 'raw', callers, ...r };
}

const perSec = (r: Result): number => r.calls / r.seconds;

/** The run with the median rate. */
function median(runs: Result[]): Result {
  return [...runs].sort((a, b) => perSec(a) - perSec(b))[Math.floor(runs.length / 2)]!;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'pharaoh-bench-client-'));
  const { child, url } = await startTso(dataDir);
  const results: Result[] = [];
  try {
    for (const n of CONCURRENCY) {
      const raws: Result[] = [];
      const routers: Result[] = [];
      for (let i = 0; i < REPEATS; i++) {
        raws.push(await rawRun(url, n));
        routers.push(await routerRun(url, n));
        console.log(`${n} callers, run ${i + 1}: raw ${fmt(perSec(raws[i]!))}/s, router ${fmt(perSec(routers[i]!))}/s`);
      }
      const [raw, router] = [median(raws), median(routers)];
      results.push(raw, router);
      console.log(`${n} callers (median): raw ${fmt(perSec(raw))}/s, router ${fmt(perSec(router))}/s (${fmt(perSec(router) / perSec(raw), 2)}x)`);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  const raw1024 = results.find((r) => r.mode === 'raw' && r.callers === 1024)!;
  const router1024 = results.find((r) => r.mode === 'router' && r.callers === 1024)!;
  const ratio = perSec(router1024) / perSec(raw1024);
  const rows = results.map((r) => {
    const raw = results.find((x) => x.mode === 'raw' && x.callers === r.callers)!;
    return `| ${r.mode === 'router' ? '`client.tso.next()` (router, batched)' : 'raw `ts.get` count 1 (no router)'} | ${r.callers} | ${fmt(perSec(r))} | ${fmt(perSec(r) / perSec(raw), 2)}x | ${fmt(percentile(r.latenciesMs, 50) * 1000, 0)} | ${fmt(percentile(r.latenciesMs, 99) * 1000, 0)} |`;
  });
  const md = [
    '## Client router (`@pharaoh/client`)',
    '',
    `Command: \`npm run bench:client${QUICK ? ' -- --quick' : ''}\` (\`bench/client.bench.ts\`)${QUICK ? ' — QUICK smoke run, numbers not meaningful' : ''}.`,
    `Machine: ${machineLine(machine)}; load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}.`,
    '',
    `One TSO process (all 1024 shards, real Obelisk bounds on disk) and the callers in this process. Each row is the median of ${REPEATS} runs of ${SECONDS} s (after ${WARMUP_SECONDS} s warm-up each), raw and router runs alternating.`,
    'Router rows: N async loops of `await client.tso.next()` (no key: round-robin over shards, concurrent calls batched into one `ts.get` per event-loop turn, `after` on every request).',
    'Raw rows, the baseline measured in the same run: N async loops each sending a single-ID `ts.get` over one WebSocket, answers matched by id, no router.',
    '',
    '| mode | callers | calls/s | vs raw, same callers | p50 µs | p99 µs |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Floor: 1024 callers through the router >= 3x the raw single-ID rate: **${fmt(ratio, 2)}x — ${ratio >= 3 ? 'met' : 'NOT met'}**. Goal 1M calls/s: ${fmt(perSec(router1024))} calls/s (${perSec(router1024) >= 1e6 ? 'reached' : 'not reached'}).`,
  ].join('\n');
  writeSection('client', md, {
    machine,
    quick: QUICK,
    seconds: SECONDS,
    repeats: REPEATS,
    ratio1024: ratio,
    results: results.map(({ latenciesMs, ...r }) => ({ ...r, perSec: perSec({ latenciesMs, ...r }), p50ms: percentile(latenciesMs, 50), p99ms: percentile(latenciesMs, 99) })),
  });
  console.log(md);
}

await main();
