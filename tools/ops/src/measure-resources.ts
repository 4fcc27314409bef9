/**
 * Measure what one Pharaoh process of each service costs, as the StatefulSets
 * run it (tso 256 shards, txcoord and session-mgr 512 shards per pod), to set
 * the manifests' resource requests and limits from figures instead of guesses.
 *
 *   npm run measure -w @pharaoh/ops [-- --seconds 10 --callers 256 --shards 1024]
 *
 * For each service: start the real app (`node --import tsx apps/<s>/src/main.ts`,
 * 127.0.0.1, port 0, a fresh data dir), read its RSS once it is ready and idle,
 * then drive it for `--seconds` with `--callers` concurrent requests over 4
 * connections (tso: ts.get count 16; txcoord: begin + commit; session-mgr:
 * open + heartbeat) and sample /proc/<pid> every 200 ms: CPU (utime+stime),
 * RSS, and the peak RSS (VmHWM). Prints a Markdown table and the JSON.
 * Linux only (/proc). The load generator runs in this process, on the same
 * machine: the figures are for the server process alone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RawClient, killAll, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';

const SHARDS_PER_POD = { tso: 256, txcoord: 512, 'session-mgr': 512 } as const;
type Service = keyof typeof SHARDS_PER_POD;
const CONNECTIONS = 4;
const SAMPLE_MS = 200;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcSample {
  cpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

function readProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { cpuSeconds, rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

export interface ServiceFigures {
  service: Service;
  shards: number;
  startMs: number;
  idleRssMiB: number;
  loadSeconds: number;
  callers: number;
  requests: number;
  requestsPerSecond: number;
  cpuCoresUnderLoad: number;
  maxRssUnderLoadMiB: number;
  peakRssMiB: number;
  /** CPU (core-seconds) per million requests. */
  cpuSecondsPerMillionRequests: number;
}

/** One request (or pair) of the service's typical shape; returns how many requests it made. */
async function oneCall(service: Service, c: RawClient, shard: number): Promise<number> {
  if (service === 'tso') {
    await c.ok('ts.get', { shard, count: 16 });
    return 1;
  }
  if (service === 'txcoord') {
    const { txId } = await c.ok<{ txId: bigint }>('tx.begin', { shard });
    await c.ok('tx.commit', { txId });
    return 2;
  }
  const s = await c.ok<{ sessionId: bigint; epoch: number }>('session.open', { shard });
  await c.ok('session.heartbeat', { sessionId: s.sessionId, epoch: s.epoch });
  return 2;
}

async function measure(service: Service, seconds: number, callers: number, dataDir: string, shardsOverride?: number): Promise<ServiceFigures> {
  const shards = shardsOverride ?? SHARDS_PER_POD[service];
  const t0 = performance.now();
  let app: RunningApp | undefined;
  try {
    app = await startApp(join('apps', service, 'src', 'main.ts'), ['--shards', `0-${shards - 1}`, '--port', '0', '--http-port', '0', '--data', join(dataDir, service)], {
      name: service,
      env: { ...process.env, PHARAOH_LOG_LEVEL: 'warn' },
      timeoutMs: 120_000,
    });
    const startMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 2_000)); // settle: GC after the start's allocations
    const idle = readProc(app.pid);
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawClient.connect(app!.url, { timeoutMs: 30_000 })));
    let requests = 0;
    let maxRss = idle.rssBytes;
    const before = readProc(app.pid);
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, readProc(app!.pid).rssBytes);
    }, SAMPLE_MS);
    await Promise.all(
      Array.from({ length: callers }, async (_, i) => {
        const c = clients[i % CONNECTIONS]!;
        // Bounded by time; each caller spreads over the pod's shards.
        for (let n = 0; performance.now() < deadline; n++) {
          const made = await oneCall(service, c, (i * 7 + n) % shards);
          requests += made; // after the await: \`requests += await …\` would add to a stale value
        }
      }),
    );
    clearInterval(sampler);
    const elapsed = (performance.now() - started) / 1000;
    const after = readProc(app.pid);
    for (const c of clients) c.terminate();
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const mib = (b: number): number => Math.round((b / 1024 / 1024) * 10) / 10;
    return {
      service,
      shards,
      startMs: Math.round(startMs),
      idleRssMiB: mib(idle.rssBytes),
      loadSeconds: Math.round(elapsed * 10) / 10,
      callers,
      requests,
      requestsPerSecond: Math.round(requests / elapsed),
      cpuCoresUnderLoad: Math.round((cpu / elapsed) * 100) / 100,
      maxRssUnderLoadMiB: mib(Math.max(maxRss, after.rssBytes)),
      peakRssMiB: mib(after.peakRssBytes),
      cpuSecondsPerMillionRequests: Math.round((cpu / requests) * 1e6 * 10) / 10,
    };
  } finally {
    await stopApp(app, 'SIGTERM');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, callers: { type: 'string', default: '256' }, shards: { type: 'string' } } });
  const seconds = Number(values.seconds);
  const callers = Number(values.callers);
  const shards = values.shards === undefined ? undefined : Number(values.shards);
  if (!(seconds > 0 && seconds <= 600) || !(Number.isInteger(callers) && callers >= 1 && callers <= 10_000)) throw new Error('--seconds in (0, 600], --callers in 1..10000');
  if (shards !== undefined && !(Number.isInteger(shards) && shards >= 1 && shards <= 1024)) throw new Error('--shards in 1..1024 (default: the manifests\' SHARDS_PER_POD)');
  const data = tempDir('pharaoh-measure-');
  const out: ServiceFigures[] = [];
  try {
    for (const service of Object.keys(SHARDS_PER_POD) as Service[]) out.push(await measure(service, seconds, callers, data.dir, shards));
  } finally {
    await killAll();
    data.remove();
  }
  console.log('| service | shards | ready after | idle RSS | load | requests/s | CPU under load | RSS under load (max) | peak RSS (VmHWM) | CPU s per 1M requests |');
  console.log('|---|---:|---:|---:|---|---:|---:|---:|---:|---:|');
  for (const f of out) {
    console.log(
      `| ${f.service} | ${f.shards} | ${f.startMs} ms | ${f.idleRssMiB} MiB | ${f.callers} callers, ${f.loadSeconds} s | ${f.requestsPerSecond} | ${f.cpuCoresUnderLoad} cores | ${f.maxRssUnderLoadMiB} MiB | ${f.peakRssMiB} MiB | ${f.cpuSecondsPerMillionRequests} |`,
    );
  }
  console.log(JSON.stringify({ machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, figures: out }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
