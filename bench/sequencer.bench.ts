/**
 * Sequencer benchmark: the real `apps/sequencer` process (`pharaoh serve
 * sequencer`, 16 shards) under load from this process through
 * `@pharaoh/client`, as a DLog producer calls it:
 *   - `client.cdc.next(table)`: one CDC id per call; concurrent calls for one
 *     table are batched into one `cdc.next` request;
 *   - `client.offsets.assign(partition, 1)`: one offset per call; concurrent
 *     calls for one partition are batched, and each request waits for its
 *     journal record's group-commit fdatasync;
 * each with 1 and 256 callers over 16 keys (one per shard), p50/p99 per call.
 * Baseline in the same run: `ping` on the same server over a raw connection
 * (answered by the host: no generator, no journal), same number of callers.
 * Usage: npm run bench -- --only sequencer [--quick]  (or: tsx bench/sequencer.bench.ts)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { PharaohClient } from '@pharaoh/client';
import { decodeFrame, encodeFrame, shardForKey } from '@pharaoh/protocol';
import { measureCalls, type CallsResult } from './lib/loops.js';
import { REPO_ROOT, describeMachine, fmt, machineLine, percentile, writeSection } from './lib/report.js';
import { PHARAOH_BIN } from '../tools/cli/src/paths.js';
import { SERVE_NODE_FLAGS } from '../tools/cli/src/node-flags.js';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 0.5 : 5;
const WARMUP_SECONDS = QUICK ? 0.2 : 1;
const SHARDS = 16;
const CALLERS = [1, 256];
const DATA = join(REPO_ROOT, '.tmp', `bench-sequencer-${process.pid}`);

function startSequencer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [...SERVE_NODE_FLAGS, PHARAOH_BIN, 'serve', 'sequencer', '--shards', `0-${SHARDS - 1}`, '--data', DATA, '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--log-level', 'warn'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sequencer did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.once('exit', (code) => reject(new Error(`sequencer exited (${code}): ${err}`)));
  });
}

/** A bare connection for the `ping` baseline: one pending map, no client router. */
function rawPing(url: string): Promise<{ ws: WebSocket; ping(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const waiting = new Map<number, () => void>();
    let next = 1;
    ws.on('message', (data: Buffer) => {
      const f = decodeFrame(data) as { id?: number };
      const cb = f.id === undefined ? undefined : waiting.get(f.id);
      if (cb) {
        waiting.delete(f.id!);
        cb();
      }
    });
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        ping: () =>
          new Promise((res) => {
            const id = next++;
            waiting.set(id, res);
            ws.send(encodeFrame({ id, op: 'ping' }));
          }),
      }),
    );
  });
}

type Result = CallsResult;

const measure = (n: number, op: (caller: number, i: number) => Promise<unknown>): Promise<Result> => measureCalls(n, WARMUP_SECONDS, SECONDS, op);

/** One key per hosted shard (the first name with that hash). */
function keysPerShard(prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < SHARDS && i < 10_000_000; i++) {
    const k = `${prefix}-${i}`;
    if (shardForKey(k) === out.length) out.push(k);
  }
  return out;
}

async function main(): Promise<void> {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true });
  const machine = describeMachine(DATA);
  const loadBefore = loadavg()[0]!;
  const server = await startSequencer();
  const rows: Array<{ what: string; callers: number; r: Result }> = [];
  const tables = keysPerShard('bench-table');
  const partitions = keysPerShard('bench-partition');
  try {
    const client = await PharaohClient.connect({ endpoints: [server.url] }, { timeoutMs: 30_000 });
    const raw = await rawPing(server.url);
    try {
      for (const callers of CALLERS) {
        rows.push({ what: 'ping (baseline, raw connection)', callers, r: await measure(callers, () => raw.ping()) });
        rows.push({ what: 'client.cdc.next(table)', callers, r: await measure(callers, (c, i) => client.cdc.next(tables[(c + i) % SHARDS]!)) });
        rows.push({ what: 'client.offsets.assign(partition, 1)', callers, r: await measure(callers, (c, i) => client.offsets.assign(partitions[(c + i) % SHARDS]!, 1)) });
      }
    } finally {
      raw.ws.terminate();
      await client.close();
    }
  } finally {
    if (server.child.pid !== undefined && server.child.exitCode === null) process.kill(server.child.pid, 'SIGTERM');
    if (server.child.exitCode === null) await new Promise((r) => server.child.once('exit', r));
    rmSync(DATA, { recursive: true, force: true });
  }

  const loadAfter = loadavg()[0]!;
  const baseline = (callers: number) => rows.find((x) => x.callers === callers && x.what.startsWith('ping'))!.r;
  const lines = rows.map(({ what, callers, r }) => {
    const ratio = what.startsWith('ping') ? '1' : fmt(r.perSecond / baseline(callers).perSecond, 2);
    return `| ${what} | ${callers} | ${fmt(r.perSecond)} | ${fmt(r.p50us / 1000, 3)} | ${fmt(r.p99us / 1000, 3)} | ${ratio} |`;
  });
  const md = [
    '## Sequencer: CDC ids and offsets through the client (`tsx bench/sequencer.bench.ts`)',
    '',
    `Machine: ${machineLine(machine)}; 1-min load average ${fmt(loadBefore, 1)} before, ${fmt(loadAfter, 1)} after (other work on the machine shares its cores and disk).${QUICK ? ' **Quick run (--quick): sizes too small to mean much.**' : ''}`,
    '',
    `A real \`pharaoh serve sequencer\` process (${SHARDS} shards, journals on the disk above), driven through one \`PharaohClient\` in the benchmark process; ${SECONDS} s per case after ${WARMUP_SECONDS} s warm-up. Callers spread over ${SHARDS} tables / partitions (one per shard); the client joins concurrent calls for one key into one request. \`offsets.assign\` answers after its journal record's group-commit fdatasync. Baseline: \`ping\` on the same server over a raw connection (no generator, no journal, no client router), same number of callers; the ratio is calls/s over baseline requests/s.`,
    '',
    '| call | callers | calls/s | p50 ms | p99 ms | vs ping |',
    '|---|---:|---:|---:|---:|---:|',
    ...lines,
  ].join('\n');
  writeSection('sequencer', md, { machine, loadBefore, loadAfter, quick: QUICK, seconds: SECONDS, shards: SHARDS, rows });
  process.stdout.write(`${md}\n`);
}

await main();
