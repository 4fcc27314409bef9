/**
 * Client router benchmark: 1, 64 and 1024 concurrent `client.tso.next()`
 * callers in this process against one real TSO process (all 1024 shards),
 * keyless (the router picks the shard) and keyed (one key, so one shard); and,
 * in the same run, the raw protocol without the router: the same number of
 * callers each sending single-ID `ts.get` requests over one WebSocket.
 * Every run also reports the CPU time each side spent per call.
 *
 * Usage: npm run bench:client [-- --quick]
 * Floors: with 1024 callers the router reaches >= 3x the raw single-ID request
 * rate (issue 7); >= 2 M keyless and >= 1.5 M keyed calls/s, median of the runs (issue 16).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { PharaohClient } from '@pharaoh/client';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';
import { LatencyHistogram } from './lib/latency.js';
import { boundFsyncs, scrapeMetrics } from './lib/metrics.js';
import { REPO_ROOT, describeMachine, fmt, machineLine, writeSection } from './lib/report.js';
import { PHARAOH_BIN } from '../tools/cli/src/paths.js';
import { SERVE_NODE_FLAGS } from '../tools/cli/src/node-flags.js';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 0.3 : 4;
/** Runs of each case; they alternate (raw, router, keyed, raw, ...) and the median is reported (a shared 2-core machine is noisy). */
const REPEATS = QUICK ? 1 : 3;
const WARMUP_SECONDS = QUICK ? 0.1 : 1;
const CONCURRENCY = [1, 64, 1024];
/** Keyed calls: every caller uses this one key, so they all go to one shard (`shardForKey`). */
const KEY = 'orders';
/** Each caller times one call in this many (two clock reads), so timing costs the loop little. */
const SAMPLE_EVERY = 8;
const FLOOR_RATIO_1024 = 3;
const FLOOR_NEXT_1024 = 2_000_000;
const FLOOR_KEYED_1024 = 1_500_000;

type Mode = 'raw' | 'router' | 'keyed';
const MODES: Mode[] = ['raw', 'router', 'keyed'];
const LABEL: Record<Mode, string> = {
  raw: 'raw `ts.get` count 1 (no router)',
  router: '`client.tso.next()` (router, batched)',
  keyed: '`client.tso.next({ key })` (one key: one shard)',
};

interface Run {
  mode: Mode;
  callers: number;
  calls: number;
  seconds: number;
  latency: LatencyHistogram;
  /** CPU time (user + system) of this process (the callers and the client) during the run, µs. */
  clientCpuUs: number;
  /** CPU time of the TSO process during the run, µs (from /proc, 10 ms ticks). */
  serverCpuUs: number;
}

const perSec = (r: Run): number => r.calls / r.seconds;

async function startTso(dataDir: string): Promise<{ child: ChildProcess; url: string; httpUrl: string }> {
  const child = spawn(process.execPath, [...SERVE_NODE_FLAGS, PHARAOH_BIN, 'serve', 'tso', '--port', '0', '--http-port', '0', '--shards', '0-1023', '--data', dataDir, '--log-level', 'warn'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const [url, httpUrl] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tso did not start within 60 s:\n${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (ws:\/\/\S+) .*?(http:\/\/[^\s;,]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve([m[1]!, m[2]!]);
      }
    });
    child.on('exit', (code) => reject(new Error(`tso exited with ${code}:\n${err}`)));
  });
  return { child, url, httpUrl };
}

/** The TSO process's durable-bound fdatasyncs so far (count and total seconds), from /metrics. */
async function fsyncs(httpUrl: string): Promise<{ count: number; seconds: number }> {
  return boundFsyncs(await scrapeMetrics(httpUrl));
}

/** CPU time (user + system) a process has used so far, in µs (from /proc, 10 ms ticks). */
function procCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * `callers` loops of `call` for `seconds`; each loop times one call in
 * SAMPLE_EVERY into `latency`, and checks the time only then.
 */
async function drive(callers: number, seconds: number, call: () => Promise<unknown>, latency?: LatencyHistogram): Promise<{ calls: number; seconds: number }> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let calls = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (;;) {
        const s = performance.now();
        if (s >= end) return;
        await call();
        latency?.record((performance.now() - s) * 1000);
        for (let k = 1; k < SAMPLE_EVERY; k++) await call();
        calls += SAMPLE_EVERY;
      }
    }),
  );
  return { calls, seconds: (performance.now() - t0) / 1000 };
}

/** Warm up, then measure `call` with CPU time on both sides. */
async function measure(mode: Mode, callers: number, serverPid: number, call: () => Promise<unknown>): Promise<Run> {
  await drive(callers, WARMUP_SECONDS, call);
  const latency = new LatencyHistogram();
  const c0 = process.cpuUsage();
  const s0 = procCpuUs(serverPid);
  const r = await drive(callers, SECONDS, call, latency);
  const c = process.cpuUsage(c0);
  return { mode, callers, ...r, latency, clientCpuUs: c.user + c.system, serverCpuUs: procCpuUs(serverPid) - s0 };
}

async function routerRun(url: string, serverPid: number, callers: number, keyed: boolean): Promise<Run> {
  const client = await PharaohClient.connect({ endpoints: [url] }, { timeoutMs: 30_000 });
  const opts = { key: KEY };
  const call = keyed ? () => client.tso.next(opts) : () => client.tso.next();
  const r = await measure(keyed ? 'keyed' : 'router', callers, serverPid, call);
  await client.close();
  return r;
}

/** The raw protocol: one socket, one request per ID, ids matched through a Map, shards round-robin. */
async function rawRun(url: string, serverPid: number, callers: number): Promise<Run> {
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
  const r = await measure('raw', callers, serverPid, call);
  ws.terminate();
  return r;
}

/** The run with the median rate. */
function medianRun(runs: Run[]): Run {
  return [...runs].sort((a, b) => perSec(a) - perSec(b))[Math.floor(runs.length / 2)]!;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Case {
  mode: Mode;
  callers: number;
  runs: Run[];
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const load0 = os.loadavg();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'pharaoh-bench-client-'));
  const { child, url, httpUrl } = await startTso(dataDir);
  const cases: Case[] = [];
  let syncs = { before: { count: NaN, seconds: NaN }, after: { count: NaN, seconds: NaN }, wallSeconds: NaN };
  try {
    const f0 = await fsyncs(httpUrl);
    const w0 = performance.now();
    for (const n of CONCURRENCY) {
      const byMode = new Map<Mode, Run[]>(MODES.map((m) => [m, []]));
      for (let i = 0; i < REPEATS; i++) {
        byMode.get('raw')!.push(await rawRun(url, child.pid!, n));
        byMode.get('router')!.push(await routerRun(url, child.pid!, n, false));
        byMode.get('keyed')!.push(await routerRun(url, child.pid!, n, true));
        console.log(`${n} callers, run ${i + 1}: ${MODES.map((m) => `${m} ${fmt(perSec(byMode.get(m)![i]!))}/s`).join(', ')}`);
      }
      for (const m of MODES) cases.push({ mode: m, callers: n, runs: byMode.get(m)! });
    }
    syncs = { before: f0, after: await fsyncs(httpUrl), wallSeconds: (performance.now() - w0) / 1000 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  report(machine, load0, cases, syncs);
}

interface Syncs {
  before: { count: number; seconds: number };
  after: { count: number; seconds: number };
  wallSeconds: number;
}

function report(machine: ReturnType<typeof describeMachine>, load0: number[], cases: Case[], syncs: Syncs): void {
  const find = (mode: Mode, callers: number): Case => cases.find((c) => c.mode === mode && c.callers === callers)!;
  const rate = (c: Case): number => perSec(medianRun(c.runs));
  const cpu = (c: Case, side: 'clientCpuUs' | 'serverCpuUs'): number => median(c.runs.map((r) => r[side] / r.calls));
  const rows = cases.map((c) => {
    const m = medianRun(c.runs);
    const raw = rate(find('raw', c.callers));
    return (
      `| ${LABEL[c.mode]} | ${c.callers} | ${fmt(perSec(m))} | ${c.runs.map((r) => fmt(perSec(r))).join(' / ')} | ${fmt(perSec(m) / raw, 2)}x | ` +
      `${fmt(m.latency.percentile(50), 0)} | ${fmt(m.latency.percentile(99), 0)} | ${fmt(cpu(c, 'clientCpuUs'), 2)} | ${fmt(cpu(c, 'serverCpuUs'), 2)} |`
    );
  });
  const ratioRuns = find('router', 1024).runs.map((r, i) => perSec(r) / perSec(find('raw', 1024).runs[i]!));
  const floors = [
    floor('1024 callers via router vs raw single-ID rate (same run)', ratioRuns, FLOOR_RATIO_1024, `≥ ${FLOOR_RATIO_1024}x (issue 7)`, (v) => `${fmt(v, 1)}x`),
    floor('`tso.next()` calls/s, 1024 callers', find('router', 1024).runs.map(perSec), FLOOR_NEXT_1024, '≥ 2 M/s (issue 16)', mps),
    floor('`tso.next({ key })` calls/s, 1024 callers, one key', find('keyed', 1024).runs.map(perSec), FLOOR_KEYED_1024, '≥ 1.5 M/s (issue 16)', mps),
  ];
  // Every call of every run, warm-ups included, took one ID (raw calls too: count 1).
  const ids = cases.reduce((n, c) => n + c.runs.reduce((m, r) => m + r.calls, 0), 0);
  const syncCount = syncs.after.count - syncs.before.count;
  const syncMeanMs = ((syncs.after.seconds - syncs.before.seconds) * 1000) / syncCount;
  const syncLine =
    `Durable time bound of the TSO process during the whole load phase (${fmt(syncs.wallSeconds)} s, warm-ups included; from its /metrics): ` +
    `${fmt(syncCount)} fdatasync(s), ${fmt(syncCount / syncs.wallSeconds, 2)} per second, mean ${fmt(syncMeanMs, 2)} ms, ` +
    `while it issued at least ${fmt(ids / 1e6, 1)} M IDs (the measured calls): one per process, not per shard or per call.`;
  const floorLines = floors.map((f) => `- ${f.measure}: median **${f.shownMedian}** of ${f.perRun.map((v) => f.show(v)).join(', ')} — floor ${f.floorText}: **${f.met ? 'met' : 'missed'}**.`);
  const md = [
    '## Client router (`@pharaoh/client`)',
    '',
    `Command: \`npm run bench:client${QUICK ? ' -- --quick' : ''}\` (\`bench/client.bench.ts\`)${QUICK ? ' — QUICK smoke run, numbers not meaningful' : ''}.`,
    `Machine: ${machineLine(machine)}; load average (1/5/15 min) at the start ${load0.map((l) => l.toFixed(2)).join(' / ')}, at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}.`,
    '',
    `One TSO process (\`pharaoh serve tso\`, all 1024 shards, real durable bounds on disk) and the callers in this process, on the same 2 cores (and whatever else the machine runs). Each case ran ${REPEATS} times for ${SECONDS} s (after ${WARMUP_SECONDS} s of warm-up each), the modes alternating; the table shows the run with the median rate, and every run's rate side by side.`,
    'Router rows: N async loops of `await client.tso.next()` (keyless: the router keeps one home shard; keyed: every caller passes the same key, so one shard too); concurrent calls are batched into one `ts.get` per shard per event-loop turn, a full batch (4096 IDs) leaves at once, and every request carries `after`.',
    'Raw rows, the baseline measured in the same run: N async loops each sending a single-ID `ts.get` over one WebSocket, answers matched by id, shards round-robin, no router.',
    `Latency: each loop times one call in ${SAMPLE_EVERY} (p50/p99 of those). CPU per call: user + system time of each process over the run divided by the calls made — client = this process (the callers' loops included), server = the TSO process (from /proc, 10 ms ticks); median over the runs.`,
    '',
    '| mode | callers | calls/s (median run) | each run | vs raw, same callers | p50 µs | p99 µs | client CPU µs/call | server CPU µs/call |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    syncLine,
    '',
    'Floors:',
    ...floorLines,
    '',
    'What these costs per call and per ID, and the fsync rate, mean for a fleet (the seed\'s 500 K IDs/s × 1024 coordinators): [SCALING.md](SCALING.md).',
  ].join('\n');
  writeSection('client', md, {
    machine,
    quick: QUICK,
    seconds: SECONDS,
    repeats: REPEATS,
    sampleEvery: SAMPLE_EVERY,
    load0,
    ratio1024: median(ratioRuns),
    fsyncs: { count: syncCount, perSecond: syncCount / syncs.wallSeconds, meanMs: syncMeanMs, wallSeconds: syncs.wallSeconds, measuredIds: ids },
    floors: floors.map(({ show: _show, ...f }) => f),
    results: cases.map((c) => {
      const m = medianRun(c.runs);
      return {
        mode: c.mode,
        callers: c.callers,
        calls: m.calls,
        seconds: m.seconds,
        perSec: perSec(m),
        perRun: c.runs.map(perSec),
        p50ms: m.latency.percentile(50) / 1000,
        p99ms: m.latency.percentile(99) / 1000,
        clientCpuUsPerCall: cpu(c, 'clientCpuUs'),
        serverCpuUsPerCall: cpu(c, 'serverCpuUs'),
      };
    }),
  });
  console.log(md);
}

function mps(v: number): string {
  return `${fmt(v / 1e6, 2)} M/s`;
}

/** A floor over the runs of one case: met when the median run meets it. */
function floor(measure: string, perRun: number[], floorValue: number, floorText: string, show: (v: number) => string) {
  const m = median(perRun);
  return { measure, perRun, median: m, floor: floorValue, floorText, shownMedian: show(m), met: m >= floorValue, show };
}

await main();
