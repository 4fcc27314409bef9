/**
 * TSO benchmark: the real `apps/tso` process under load from this process over
 * real WebSocket connections, side by side with a bare echo server (another
 * process: ws and the protocol's own msgpack reader/writer) answering the same
 * frames without doing any work.
 *   - single-ID requests (count 1) with 1 and 64 in flight on one connection;
 *   - batched requests (count 100) with 64 in flight;
 *   - startup of one process hosting all 1024 shards: fresh data dir and restart,
 *     wall time to "listening", the server's own open time, and RSS; as
 *     deployed (`pharaoh serve tso`: the launcher's bundle) and, for
 *     comparison, `apps/tso/src/main.ts` through tsx.
 * The server under load runs as deployed (`pharaoh serve tso`).
 * Floors: single-ID requests/s >= 0.7x the echo baseline's; batched >= 2M IDs/s;
 * one request in flight: p50 at or below the echo's p50 and p99 <= 300 µs (issue 16).
 * Usage: npm run bench:tso [-- --quick]     (internal: --role echo)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeFrame, encodeFrame } from '@pharaoh/protocol';
import { REPO_ROOT, describeMachine, fmt, machineLine, percentile, writeSection } from './lib/report.js';
import { boundFsyncs, metric, scrapeMetrics } from './lib/metrics.js';
import { PHARAOH_BIN } from '../tools/cli/src/paths.js';
import { SERVE_NODE_FLAGS } from '../tools/cli/src/node-flags.js';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 0.5 : 5;
const WARMUP_SECONDS = QUICK ? 0.2 : 1;
/** Interleaved rounds per case (echo, tso, echo, tso, ...), short enough that background load drifting during the run hits both alike. */
const ROUNDS = QUICK ? 1 : 6;
const FLOOR_SINGLE_RATIO = 0.7;
const FLOOR_BATCH_IDS = 2_000_000;
/** One request in flight: the TSO's p99 at most this (µs); its p50 at most the echo's p50 in the same run (issue 16). */
const FLOOR_P99_1_US = 300;
const TSO_MAIN = join(REPO_ROOT, 'apps', 'tso', 'src', 'main.ts');
/** How the TSO is started: as deployed (the launcher's bundle) or from its sources through tsx. */
const TSO_COMMANDS = {
  bundle: { label: '`pharaoh serve tso` (bundle)', args: [...SERVE_NODE_FLAGS, PHARAOH_BIN, 'serve', 'tso'], tsx: false },
  tsx: { label: '`tsx apps/tso/src/main.ts`', args: [TSO_MAIN], tsx: true },
} as const;
const START_REPEATS = QUICK ? 1 : 3;
/**
 * The environment the servers are started with: this one without
 * NODE_EXTRA_CA_CERTS. This VM exports it to every process, and Node 20
 * reads and parses that CA bundle while it starts (~80 ms of every start
 * here: see bareNodeStarts, measured in the same run). A deployed
 * `pharaoh serve` has no such variable (deploy/entrypoint.sh, the container
 * image) and makes no TLS connection of its own that would use it.
 */
const SERVER_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const BARE_NODE_REPEATS = QUICK ? 1 : 5;
const SELF = fileURLToPath(import.meta.url);
const DATA = join(REPO_ROOT, '.tmp', `bench-tso-${process.pid}`);

interface Case {
  name: string;
  count: number;
  inFlight: number;
  /** Requests rotate over shards 0..shards-1. */
  shards: number;
}
const CASES: Case[] = [
  { name: 'single ID, 1 in flight', count: 1, inFlight: 1, shards: 1024 },
  { name: 'single ID, 64 in flight', count: 1, inFlight: 64, shards: 1024 },
  { name: 'batch of 100, 64 in flight', count: 100, inFlight: 64, shards: 1024 },
  // One busy shard: the per-request cost without 1024 shards' bound fsyncs in the background.
  { name: 'single ID, 64 in flight, one shard', count: 1, inFlight: 64, shards: 1 },
];

interface Run {
  requests: number;
  ids: number;
  seconds: number;
  latenciesUs: number[];
  errors: number;
  regressions: number;
  /** CPU ms the server process used during the run. */
  serverCpuMs: number;
}

// ---------------------------------------------------------------- echo role

function runEcho(): void {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const f = decodeFrame(data as Buffer) as { id: number; count: number };
      ws.send(encodeFrame({ t: 'res', id: f.id, ok: { first: 0n, count: f.count } }));
    });
  });
  wss.on('listening', () => {
    const { port } = wss.address() as { port: number };
    process.stdout.write(JSON.stringify({ msg: 'listening', port }) + '\n');
  });
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------- processes

interface Child {
  proc: ChildProcess;
  port: number;
  httpPort?: number;
  openMs: number | undefined;
  wallMs: number;
}

/**
 * Spawn one node process (no tsx CLI wrapper) and wait for where it listens: the
 * JSON `listening` log line on stdout (port, openMs) or, when logs are quieter
 * than info, the human line on stderr.
 */
function spawnListening(args: readonly string[], o: { tsx: boolean }, timeoutMs = 60_000): Promise<Child> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, o.tsx ? ['--import', 'tsx', ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT, env: SERVER_ENV });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    // Keep both pipes drained so a chatty child never blocks on a full pipe.
    let done = false;
    const finish = (port: number, openMs: number | undefined, httpPort?: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ proc, port, openMs, wallMs: performance.now() - t0, ...(httpPort === undefined ? {} : { httpPort }) });
    };
    const timer = setTimeout(() => reject(new Error(`no listening line within ${timeoutMs} ms: ${err}`)), timeoutMs);
    proc.stderr!.on('data', (d) => {
      err += d;
      const m = / listening on ws:\/\/[^:]+:(\d+) .*opened in (\d+) ms[^;]*\); http:\/\/[^ ]+:(\d+) /.exec(err);
      if (m) finish(Number(m[1]), Number(m[2]), Number(m[3]));
    });
    proc.stdout!.on('data', (d) => {
      // The echo server prints a JSON line; the tso process's logs are drained and ignored.
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"') && !l.includes('"level"'));
      if (line) finish((JSON.parse(line) as { port: number }).port, undefined);
    });
    proc.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${err}`)));
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU time (user + system) the process has used so far, in ms (from /proc, 10 ms ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function stop(c: Child): Promise<void> {
  return new Promise((resolve) => {
    if (c.proc.exitCode !== null) return resolve();
    c.proc.once('exit', () => resolve());
    c.proc.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- load generator

function connect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/**
 * Keep `inFlight` requests outstanding on one connection for `seconds`; shards
 * rotate over 0..c.shards-1. Checks each answer is above the shard's previous one.
 */
async function load(server: Child, c: Case, seconds: number, record: boolean, maxRequests = Infinity): Promise<Run> {
  const ws = await connect(server.port);
  await new Promise((r) => setTimeout(r, 50)); // let hello arrive
  const sentAt = new Float64Array(1 << 16);
  const lastByShard = new Array<bigint>(1024).fill(-1n);
  const run: Run = { requests: 0, ids: 0, seconds: 0, latenciesUs: [], errors: 0, regressions: 0, serverCpuMs: 0 };
  const cpu0 = cpuMs(server.proc.pid!);
  let nextId = 1;
  let stopping = false;
  let outstanding = 0;
  // Requests are pre-encoded per shard with a uint32 id placeholder that is
  // patched in place: the load generator (one JS thread, shared by both
  // servers) then costs less per request than either server.
  const templates = Array.from({ length: 1024 }, (_, shard) => encodeFrame({ id: 0xfffffffe, op: 'ts.get', shard, count: c.count }));
  const idAt = templates.map((t) => t.indexOf(Buffer.from([0xce, 0xff, 0xff, 0xff, 0xfe])) + 1);
  const send = (): void => {
    if (nextId > maxRequests) return;
    const id = nextId++ & 0xffff_ffff;
    const shard = id % c.shards;
    const frame = Buffer.from(templates[shard]!);
    frame.writeUInt32BE(id, idAt[shard]!);
    sentAt[id & 0xffff] = performance.now();
    ws.send(frame);
    outstanding++;
  };
  const start = performance.now();
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const f = decodeFrame(data as Buffer) as { t: string; id: number; ok?: { first: bigint | number; count: number }; err?: unknown };
      if (f.t !== 'res') return;
      outstanding--;
      const now = performance.now();
      if (f.ok) {
        run.requests++;
        run.ids += f.ok.count;
        const shard = f.id % c.shards;
        // Integers decode by value: the echo's 0 arrives as a number, real IDs (> 2^53) as bigints.
        const first = typeof f.ok.first === 'bigint' ? f.ok.first : BigInt(f.ok.first);
        if (first !== 0n) {
          if (first <= lastByShard[shard]!) run.regressions++;
          lastByShard[shard] = first + BigInt(f.ok.count - 1);
        }
        if (record) run.latenciesUs.push((now - sentAt[f.id & 0xffff]!) * 1000);
      } else run.errors++;
      // Either a time budget (seconds) or a request budget (maxRequests).
      const more = maxRequests === Infinity ? now - start < seconds * 1000 : nextId <= maxRequests;
      if (!stopping && more) send();
      else {
        stopping = true;
        if (outstanding === 0) resolve();
      }
    });
  });
  for (let i = 0; i < c.inFlight; i++) send();
  await done;
  run.seconds = (performance.now() - start) / 1000;
  run.serverCpuMs = cpuMs(server.proc.pid!) - cpu0;
  ws.close();
  return run;
}

/** One request to every shard, 64 in flight, not measured. */
async function touchAll(server: Child): Promise<void> {
  await load(server, { name: 'touch', count: 1, inFlight: 64, shards: 1024 }, 0, false, 1024);
}

/** fsync count and mean latency, and bound waits, from the server's /metrics. */
async function tsoMetrics(server: Child): Promise<{ fsyncs: number; fsyncMeanMs: number; windowWaits: number }> {
  const text = await scrapeMetrics(`http://127.0.0.1:${server.httpPort}`);
  const { count, seconds } = boundFsyncs(text);
  return { fsyncs: count, fsyncMeanMs: (seconds * 1000) / count, windowWaits: metric(text, 'pharaoh_window_waits_total') };
}

function merge(runs: Run[]): Run {
  return runs.reduce(
    (a, r) => ({
      requests: a.requests + r.requests,
      ids: a.ids + r.ids,
      seconds: a.seconds + r.seconds,
      latenciesUs: a.latenciesUs.concat(r.latenciesUs),
      errors: a.errors + r.errors,
      regressions: a.regressions + r.regressions,
      serverCpuMs: a.serverCpuMs + r.serverCpuMs,
    }),
    { requests: 0, ids: 0, seconds: 0, latenciesUs: [], errors: 0, regressions: 0, serverCpuMs: 0 },
  );
}

// ---------------------------------------------------------------- main

/** `node -e 0`, spawn → exit, each run (ms): in the servers' environment, and with this machine's NODE_EXTRA_CA_CERTS when it has one. */
interface BareNode {
  server: number[];
  withCaCerts?: number[];
}

interface StartFigure {
  command: keyof typeof TSO_COMMANDS;
  kind: 'fresh' | 'restart';
  wallMs: number;
  openMs: number | undefined;
  rssMiB: number;
  /** Fresh runs: the file system's own time for the same creates, just before (see rawCreateMs). */
  rawCreateMs?: number;
}

/**
 * Baseline for a fresh start: the bare file-system cost of what a fresh
 * 1024-shard start creates (1024 directories with two empty files each, 32 at
 * a time like the server, no fsync), measured just before it. On ext4 without
 * a journal (this VM's disk) every create scans past inodes deleted in the last
 * minutes (the kernel's recently_deleted() check), so a fresh start right after
 * a large delete is several times slower; this baseline moves with it. Nothing
 * here is deleted before the end of the run, for the same reason.
 */
async function rawCreateMs(dir: string): Promise<number> {
  const t0 = performance.now();
  await fsp.mkdir(dir, { recursive: true });
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < 1024) {
        const d = join(dir, `shard-${next++}`);
        await fsp.mkdir(d);
        for (const f of ['a', 'b']) await (await fsp.open(join(d, f), 'wx')).close();
      }
    }),
  );
  return performance.now() - t0;
}

/** Spawn → exit of `node -e 0`, each run (ms): Node's own start, in `env`. */
async function bareNodeStarts(env: NodeJS.ProcessEnv): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < BARE_NODE_REPEATS; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env });
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
    out.push(performance.now() - t0);
  }
  return out;
}

async function startup(command: keyof typeof TSO_COMMANDS, kind: StartFigure['kind'], data: string): Promise<StartFigure> {
  const how = TSO_COMMANDS[command];
  const raw = kind === 'fresh' ? await rawCreateMs(`${data}-raw`) : undefined;
  const c = await spawnListening([...how.args, '--shards', '0-1023', '--port', '0', '--http-port', '0', '--data', data, '--log-level', 'info'], how);
  const r = { command, kind, wallMs: c.wallMs, openMs: c.openMs, rssMiB: rssMiB(c.proc.pid!), ...(raw === undefined ? {} : { rawCreateMs: raw }) };
  await stop(c);
  return r;
}

/**
 * Per command: START_REPEATS fresh starts (each on a new data dir), then as many
 * restarts over the last one. Fresh and restart alternate between the two
 * commands so a slow spell of the disk hits both alike.
 */
async function startups(): Promise<StartFigure[]> {
  const out: StartFigure[] = [];
  const dirs = { bundle: '', tsx: '' };
  for (let i = 0; i < START_REPEATS; i++) {
    for (const command of ['bundle', 'tsx'] as const) {
      dirs[command] = join(DATA, `start-${command}-${i}`);
      const f = await startup(command, 'fresh', dirs[command]);
      out.push(f);
      console.log(`start ${command} fresh: ${fmt(f.wallMs)} ms (open ${f.openMs} ms; bare creates ${fmt(f.rawCreateMs ?? NaN)} ms)`);
    }
  }
  for (let i = 0; i < START_REPEATS; i++) {
    for (const command of ['bundle', 'tsx'] as const) {
      const f = await startup(command, 'restart', dirs[command]);
      out.push(f);
      console.log(`start ${command} restart: ${fmt(f.wallMs)} ms (open ${f.openMs} ms)`);
    }
  }
  return out; // removed with DATA at the end of the run
}

async function main(): Promise<void> {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true });
  const machine = describeMachine(DATA);
  const load0 = loadavg()[0]!;
  const bare: BareNode = { server: await bareNodeStarts(SERVER_ENV), ...(process.env.NODE_EXTRA_CA_CERTS === undefined ? {} : { withCaCerts: await bareNodeStarts(process.env) }) };
  const starts = await startups();

  const tso = await spawnListening([...TSO_COMMANDS.bundle.args, '--shards', '0-1023', '--port', '0', '--http-port', '0', '--data', DATA, '--log-level', 'warn'], TSO_COMMANDS.bundle);
  const echo = await spawnListening([SELF, '--role', 'echo'], { tsx: true });
  const results: Array<{ case: Case; echo: Run; tso: Run; rounds: Array<{ echo: Run; tso: Run }> }> = [];
  let firstTouchMs = NaN;
  let serverStats = { fsyncs: 0, fsyncMeanMs: NaN, windowWaits: NaN };
  try {
    // The first request to each shard after a start waits for one fsync (its
    // durable bound starts at the last one; idle shards cost no fsyncs). Touch
    // every shard once before measuring steady state, and report what it cost.
    const t0 = performance.now();
    await touchAll(tso);
    firstTouchMs = performance.now() - t0;
    for (const c of CASES) {
      await load(echo, c, WARMUP_SECONDS, false);
      await load(tso, c, WARMUP_SECONDS, false);
      const e: Run[] = [];
      const t: Run[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        e.push(await load(echo, c, SECONDS / ROUNDS, true));
        // While the echo round ran, tso's shards sat idle and their bound windows
        // may have lapsed; re-touch them (unmeasured) so the round measures steady state.
        await touchAll(tso);
        t.push(await load(tso, c, SECONDS / ROUNDS, true));
      }
      results.push({ case: c, echo: merge(e), tso: merge(t), rounds: e.map((x, i) => ({ echo: x, tso: t[i]! })) });
      console.log(c.name, 'echo', fmt(merge(e).requests / merge(e).seconds), 'req/s; tso', fmt(merge(t).requests / merge(t).seconds), 'req/s');
    }
    serverStats = await tsoMetrics(tso);
  } finally {
    var tsoRss = rssMiB(tso.proc.pid!);
    await stop(tso);
    await stop(echo);
    rmSync(DATA, { recursive: true, force: true });
  }
  report(machine, load0, bare, starts, results, tsoRss, firstTouchMs, serverStats);
}

function report(
  machine: ReturnType<typeof describeMachine>,
  load0: number,
  bare: BareNode,
  starts: StartFigure[],
  results: Array<{ case: Case; echo: Run; tso: Run; rounds: Array<{ echo: Run; tso: Run }> }>,
  rssAfterLoad: number,
  firstTouchMs: number,
  serverStats: { fsyncs: number; fsyncMeanMs: number; windowWaits: number },
): void {
  const fmtFsync = (): string =>
    `${fmt(serverStats.fsyncs)} fsyncs, mean ${fmt(serverStats.fsyncMeanMs, 2)} ms; callers that waited for a bound: ${fmt(serverStats.windowWaits)}`;
  const rps = (r: Run): number => r.requests / r.seconds;
  const ips = (r: Run): number => r.ids / r.seconds;
  const cpuUs = (r: Run): number => (r.serverCpuMs * 1000) / r.requests;
  const lat = (r: Run): string => `${fmt(percentile(r.latenciesUs, 50))} / ${fmt(percentile(r.latenciesUs, 99))} / ${fmt(percentile(r.latenciesUs, 99.9))}`;
  const rows = results.flatMap(({ case: c, echo, tso }) => [
    `| ${c.name} | echo baseline | ${fmt(rps(echo))} | ${fmt(ips(echo))} | ${lat(echo)} | ${fmt(cpuUs(echo), 1)} | |`,
    `| ${c.name} | **tso** | ${fmt(rps(tso))} | ${fmt(ips(tso))} | ${lat(tso)} | ${fmt(cpuUs(tso), 1)} | ${fmt(rps(tso) / rps(echo), 2)}x |`,
  ]);
  const single = results.filter((r) => r.case.count === 1 && r.case.shards === 1024).map((r) => rps(r.tso) / rps(r.echo));
  const batch = results.find((r) => r.case.count > 1)!;
  const worstSingle = Math.min(...single);
  const batchIds = ips(batch.tso);
  const checks = results.reduce((n, r) => n + r.tso.regressions + r.tso.errors, 0);
  const one = results.find((r) => r.case.inFlight === 1 && r.case.shards === 1024)!;
  const p = (r: Run, q: number): number => percentile(r.latenciesUs, q);
  const p50Ratio = p(one.tso, 50) / p(one.echo, 50);
  const p99One = p(one.tso, 99);
  const roundRows = one.rounds.map(
    (x, i) => `| ${i + 1} | ${fmt(p(x.echo, 50))} / ${fmt(p(x.echo, 99))} | ${fmt(p(x.tso, 50))} / ${fmt(p(x.tso, 99))} | ${fmt(p(x.tso, 50) / p(x.echo, 50), 2)}x |`,
  );
  const floors = [
    { measure: 'one request in flight: p50 vs the echo p50 (same run)', median: 1 / p50Ratio, floor: 1, floorText: '≤ echo (issue 16)', shownMedian: `${fmt(p(one.tso, 50))} µs vs ${fmt(p(one.echo, 50))} µs`, met: p50Ratio <= 1 },
    { measure: 'one request in flight: p99', median: FLOOR_P99_1_US / p99One, floor: 1, floorText: `≤ ${FLOOR_P99_1_US} µs (issue 16)`, shownMedian: `${fmt(p99One)} µs`, met: p99One <= FLOOR_P99_1_US },
  ];
  const md = `## TSO (\`npm run bench:tso\`)

${machineLine(machine)}. Load average at start: ${fmt(load0, 2)}.${QUICK ? ' **Quick run (tiny sizes): numbers are not meaningful.**' : ''}

One \`pharaoh serve tso\` process (apps/tso, as deployed: \`node ${SERVE_NODE_FLAGS.join(' ')} pharaoh.cjs serve tso\`) hosting shards 0-1023, loaded from the benchmark process over one
WebSocket connection per case (requests rotate over shards 0..1023 unless the case says one shard). Baseline in the same run: a bare
echo server in its own process (ws and the protocol's own msgpack reader/writer), decoding each request and answering a
same-shaped response without any work. ${ROUNDS} interleaved rounds per case, ${SECONDS} s per side.
Before measuring, every shard was touched once (1024 requests, 64 in flight: ${fmt(firstTouchMs)} ms after
start), and again before each tso round (unmeasured). The process keeps one durable time bound for all the
shards it hosts, advanced in the background while IDs are issued (about every 1.5-2 s); the first requests
after the start wait for its first advance. Measured from the server's /metrics during this run: ${fmtFsync()}.

| case | server | requests/s | IDs/s | latency p50 / p99 / p999 (µs) | server CPU µs/request | requests/s vs echo |
|---|---|---:|---:|---:|---:|---:|
${rows.join('\n')}

Floors: single-ID requests/s >= ${FLOOR_SINGLE_RATIO}x echo — worst measured over the 1024-shard cases **${fmt(worstSingle, 2)}x** (${worstSingle >= FLOOR_SINGLE_RATIO ? 'met' : 'NOT met'});
batched >= ${fmt(FLOOR_BATCH_IDS)} IDs/s — measured **${fmt(batchIds)}** (${batchIds >= FLOOR_BATCH_IDS ? 'met' : 'NOT met'}).
One request in flight (issue 16), over all ${ROUNDS} rounds: p50 at or below the echo's — **${fmt(p(one.tso, 50))} µs vs ${fmt(p(one.echo, 50))} µs (${fmt(p50Ratio, 2)}x): ${p50Ratio <= 1 ? 'met' : 'missed'}**;
p99 <= ${FLOOR_P99_1_US} µs — **${fmt(p99One)} µs: ${p99One <= FLOOR_P99_1_US ? 'met' : 'missed'}**. Each round (p50 / p99 µs), echo and TSO back to back:

| round | echo | tso | p50 tso / echo |
|---:|---:|---:|---:|
${roundRows.join('\n')}

Server CPU per request (user + system time of the server process over the run, from /proc)
is less sensitive to other load on the machine than requests/s: tso/echo CPU per single-ID
request: ${results.filter((r) => r.case.count === 1).map((r) => `${fmt(cpuUs(r.tso) / cpuUs(r.echo), 2)}x (${r.case.name})`).join(', ')}.
Every answer was checked to be above its shard's previous one: ${checks === 0 ? 'no regressions or errors' : `${checks} regressions/errors`}.

Startup of one process hosting all 1024 shards (issue 16). Where the time went before
(CPU profiles, \`strace -c\`): loading a 1.9 MB bundle of which 0.8 MB was the fleet
tools' zod (~60 ms to parse); ~6 thread-pool round trips per shard at 35-60 µs of
main-thread CPU each (open, fstat, read, stat, a failing mkdir and its stat); and on a
fresh data dir 4 flushes per shard (fdatasync identity, fsync dir, fdatasync mark, fsync
dir: 4,096 in all). Now: the bundle is split at the CLI's dynamic imports (\`serve\`
loads no fleet tooling); the start's reads are blocking syscalls (~5 µs; nothing is
served yet), and so are its creates while none of its syncs runs; a fresh start makes
every identity durable with one \`syncfs\` and every first-open mark with a second
(docs/DESIGN.md §8). Wall time from spawn to the
\`listening\` line (Node start, loading the code, opening every shard); "open" is the
server's own time to open every shard. ${START_REPEATS} runs of each, fresh runs on a new data dir
each, alternating the two commands. Baseline for a fresh start: "bare creates", the file
system's own time for what it creates (1024 directories with two empty files each, 32 at a
time, no fsync), measured just before it. On this VM's disk (ext4 without a journal) a create
scans past every inode deleted in the last minutes (the kernel's \`recently_deleted()\`; seen
with \`perf\`: 7.2 s of kernel CPU for these 4,096 creates, ~1.75 ms each, while tests and
benchmarks were deleting thousands of files, against 0.38 s two minutes after the last delete),
so fresh starts right after such deletes are several times slower, and the baseline moves with them:

| command | start | wall ms, each run | open ms, each run | under the floor | bare creates ms (baseline) | open / baseline | RSS MiB |
|---|---|---|---|---:|---|---|---:|
${startRows(starts)}

Every server here is started without this machine's \`NODE_EXTRA_CA_CERTS\` (see \`SERVER_ENV\`), as deployed: Node alone
(\`node -e 0\`, spawn → exit) took ${bare.server.map((v) => fmt(v)).join(', ')} ms in that environment${
    bare.withCaCerts === undefined
      ? ''
      : ` and ${bare.withCaCerts.map((v) => fmt(v)).join(', ')} ms with the variable (Node 20 reads and parses the CA bundle it names while it starts), which would add the difference to every start above`
  }.

RSS of the 1024-shard process after the load runs: ${fmt(rssAfterLoad, 1)} MiB (${fmt((rssAfterLoad * 2 ** 20) / 1e6, 1)} MB). Floors (issue 16, median of the runs of \`pharaoh serve\`): fresh start < 800 ms, restart < 500 ms, RSS after load < 100 MB.`;
  console.log(md);
  writeSection('tso', md, {
    machine,
    quick: QUICK,
    load0,
    bare,
    starts,
    rssAfterLoad,
    firstTouchMs,
    serverStats,
    floors,
    results: results.map((r) => ({ case: r.case, echo: summary(r.echo), tso: summary(r.tso), rounds: r.rounds.map((x) => ({ echo: summary(x.echo), tso: summary(x.tso) })) })),
  });
}

function startRows(starts: StartFigure[]): string {
  const rows: string[] = [];
  for (const command of ['bundle', 'tsx'] as const) {
    for (const kind of ['fresh', 'restart'] as const) {
      const fs = starts.filter((s) => s.command === command && s.kind === kind);
      if (fs.length === 0) continue;
      const under = fs.filter((f) => f.wallMs < (kind === 'fresh' ? 800 : 500)).length;
      rows.push(
        `| ${TSO_COMMANDS[command].label} | ${kind === 'fresh' ? 'fresh data dir (creates 1024 shard dirs)' : 'restart (existing dirs)'} | ` +
          `${fs.map((f) => fmt(f.wallMs)).join(', ')} | ${fs.map((f) => (f.openMs === undefined ? '?' : fmt(f.openMs))).join(', ')} | ` +
          `${under} of ${fs.length} | ${kind === 'fresh' ? fs.map((f) => fmt(f.rawCreateMs ?? NaN)).join(', ') : ''} | ` +
          `${kind === 'fresh' ? fs.map((f) => `${fmt((f.openMs ?? NaN) / (f.rawCreateMs ?? NaN), 2)}x`).join(', ') : ''} | ${fmt(Math.max(...fs.map((f) => f.rssMiB)), 1)} |`,
      );
    }
  }
  return rows.join('\n');
}

function summary(r: Run): Record<string, number> {
  return {
    requests: r.requests,
    ids: r.ids,
    seconds: r.seconds,
    requestsPerSec: r.requests / r.seconds,
    idsPerSec: r.ids / r.seconds,
    p50us: percentile(r.latenciesUs, 50),
    p99us: percentile(r.latenciesUs, 99),
    p999us: percentile(r.latenciesUs, 99.9),
    errors: r.errors,
    regressions: r.regressions,
    serverCpuUsPerRequest: (r.serverCpuMs * 1000) / r.requests,
  };
}

if (process.argv.includes('--role') && process.argv[process.argv.indexOf('--role') + 1] === 'echo') runEcho();
else
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
