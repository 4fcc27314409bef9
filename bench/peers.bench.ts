/**
 * `npm run bench:peers`: Pharaoh TSO against what a user would use instead —
 * Redis INCR (AOF fsync always / everysec) and PostgreSQL sequences — in one
 * run on this machine, with the same Node load generator and equal client
 * concurrency. Starts and stops its own servers on loopback in temp dirs (all
 * on the same file system) and skips a system that is not installed.
 *
 * Flags: --quick (tiny run for smoke tests), --duration <ms>, --concurrency 1,16,64,
 * --only pharaoh,redis,postgres
 */
import { fmt, describeMachine, machineLine, writeSection, type Machine } from './lib/report.js';
import os from 'node:os';
import { fmtUs, loadNote, parseBenchArgs, type BenchArgs } from './lib/peers/args.js';
import { benchTmpRoot, makeTempDir, removeDir } from './lib/peers/common.js';
import { closedLoop, type LoadResult } from './lib/peers/load.js';
import { loadClient, metricTotal, serviceAvailable, startService } from './lib/peers/pharaoh.js';
import { postgresUnavailable, startPostgres } from './lib/peers/postgres.js';
import { redisUnavailable, startRedis } from './lib/peers/redis.js';
import { PG_SCHEMA, pharaohTargets, postgresTargets, redisTargets, type System, type Target } from './lib/peers/targets.js';

export interface PeerRow extends LoadResult {
  /** Pharaoh only: calls that waited for a shard's durable window to be pushed ahead (server metric, this measurement). */
  windowWaits?: number;
  id: string;
  system: System;
  label: string;
  idsPerCall: number;
  crashSafe: boolean;
}

interface PeerReport {
  machine: Machine;
  load1: number;
  quick: boolean;
  durationMs: number;
  concurrency: number[];
  versions: Record<string, string>;
  targets: Array<Omit<Target, 'open'>>;
  rows: PeerRow[];
  skipped: Array<{ system: System; reason: string }>;
}

const cleanups = new Set<() => Promise<void>>();

/** A counter read before and after each measurement (e.g. a server metric), or undefined. */
type Probe = (() => Promise<number>) | undefined;

async function measure(args: BenchArgs, t: Target, rows: PeerRow[], probe?: Probe): Promise<void> {
  for (const c of args.concurrency) {
    const opened = await t.open(c);
    try {
      const before = await probe?.();
      const r = await closedLoop({ concurrency: c, durationMs: args.durationMs, warmupMs: args.warmupMs, op: opened.op });
      const row: PeerRow = { id: t.id, system: t.system, label: t.label, idsPerCall: t.idsPerCall, crashSafe: t.crashSafe, ...r };
      if (probe && before !== undefined) row.windowWaits = (await probe()) - before;
      rows.push(row);
      const err = r.errors ? ` errors=${r.errors} (${r.firstError})` : '';
      const waits = row.windowWaits === undefined ? '' : `, window waits ${row.windowWaits}`;
      console.log(`${t.id} c=${c}: ${fmt(r.callsPerSec)} calls/s, ${fmt(r.idsPerSec)} IDs/s, p50 ${fmtUs(r.p50Us)}, p99 ${fmtUs(r.p99Us)}${waits}${err}`);
    } finally {
      await opened.close();
    }
  }
}

/** Run `body` with a started server, stopping it even on failure or Ctrl-C. */
async function withServer<S extends { stop(): Promise<void> }>(start: () => Promise<S>, body: (s: S) => Promise<void>): Promise<void> {
  const s = await start();
  const stop = (): Promise<void> => s.stop();
  cleanups.add(stop);
  try {
    await body(s);
  } finally {
    cleanups.delete(stop);
    await stop();
  }
}

async function runPharaoh(args: BenchArgs, rep: PeerReport): Promise<string | undefined> {
  if (!serviceAvailable('tso')) return 'apps/tso is not in this checkout';
  const connect = await loadClient();
  if (typeof connect === 'string') return connect;
  const data = makeTempDir('tso');
  // A quick (smoke) run hosts 16 shards: priming 1024 shards costs 1024 fdatasyncs.
  const last = args.quick ? 15 : 1023;
  const shards = Array.from({ length: last + 1 }, (_v, i) => i);
  try {
    await withServer(
      () => startService('tso', { shards: `0-${last}`, dataDir: data }),
      async (tso) => {
        rep.versions.pharaoh = `TSO, 1 process, shards 0-${last} (start ${fmt(tso.startMs)} ms)`;
        const waits = (): Promise<number> => metricTotal(tso.httpUrl, 'pharaoh_window_waits_total');
        for (const t of pharaohTargets(tso.url, connect, shards)) await measure(args, t, rep.rows, waits);
      },
    );
  } finally {
    removeDir(data);
  }
  return undefined;
}

async function runRedis(args: BenchArgs, rep: PeerReport): Promise<string | undefined> {
  const why = redisUnavailable();
  if (why) return why;
  await withServer(
    () => startRedis('always'),
    async (redis) => {
      rep.versions.redis = redis.version;
      for (const t of redisTargets(redis, 'always')) await measure(args, t, rep.rows);
      await redis.setAppendFsync('everysec');
      for (const t of redisTargets(redis, 'everysec')) await measure(args, t, rep.rows);
    },
  );
  return undefined;
}

async function runPostgres(args: BenchArgs, rep: PeerReport): Promise<string | undefined> {
  const why = postgresUnavailable();
  if (why) return why;
  await withServer(
    () => startPostgres(Math.max(...args.concurrency)),
    async (pgp) => {
      rep.versions.postgres = pgp.version;
      const c = await pgp.connect();
      for (const sql of PG_SCHEMA) await c.query(sql);
      await c.end();
      for (const t of postgresTargets(pgp)) await measure(args, t, rep.rows);
    },
  );
  return undefined;
}

function targetInfo(rep: PeerReport, ts: Target[]): void {
  for (const { open: _open, ...info } of ts) if (!rep.targets.some((x) => x.id === info.id)) rep.targets.push(info);
}

const RUNNERS: Record<System, (a: BenchArgs, r: PeerReport) => Promise<string | undefined>> = {
  pharaoh: runPharaoh,
  redis: runRedis,
  postgres: runPostgres,
};

async function main(): Promise<void> {
  const args = parseBenchArgs({ concurrency: [1, 16, 64], quickConcurrency: [1, 8], durationMs: 3000 });
  const rep: PeerReport = {
    machine: describeMachine(benchTmpRoot()),
    load1: os.loadavg()[0]!,
    quick: args.quick,
    durationMs: args.durationMs,
    concurrency: args.concurrency,
    versions: { node: process.version },
    targets: [],
    rows: [],
    skipped: [],
  };
  for (const system of ['pharaoh', 'redis', 'postgres'] as const) {
    if (args.only && !args.only.has(system)) continue;
    let why: string | undefined;
    try {
      why = await RUNNERS[system](args, rep);
    } catch (err) {
      why = `failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (why) {
      console.log(`SKIPPED ${system}: ${why}`);
      rep.skipped.push({ system, reason: why });
    }
  }
  describeTargets(rep);
  writeSection('peers', renderMarkdown(rep), rep);
  console.log(`peers: ${rep.rows.length} measurements, ${rep.skipped.length} systems skipped; section "peers" written`);
}

/** Target descriptions for the report, independent of which servers ran. */
function describeTargets(rep: PeerReport): void {
  const noop = {} as never;
  targetInfo(rep, pharaohTargets('', noop, Array.from({ length: rep.quick ? 16 : 1024 }, (_v, i) => i)));
  targetInfo(rep, redisTargets(noop, 'always'));
  targetInfo(rep, redisTargets(noop, 'everysec'));
  targetInfo(rep, postgresTargets(noop));
}

function ratio(v: number, base: number | undefined): string {
  return base && Number.isFinite(v) ? `${(v / base).toFixed(v / base >= 10 ? 0 : 2)}×` : '–';
}

function tableFor(rep: PeerReport, c: number): string[] {
  const rows = rep.rows.filter((r) => r.concurrency === c);
  const base = rows.find((r) => r.id === 'redis-incr-always')?.idsPerSec;
  const out = [
    `#### ${c} concurrent caller${c === 1 ? '' : 's'}`,
    '',
    '| System | Crash-safe | IDs/call | calls/s | IDs/s | p50 | p99 | IDs/s vs Redis INCR (always) | Pharaoh window waits |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const safe = r.crashSafe ? 'yes' : '**NO**';
    const err = r.errors ? ` (${r.errors} errors)` : '';
    out.push(
      `| ${r.label}${err} | ${safe} | ${r.idsPerCall} | ${fmt(r.callsPerSec)} | ${fmt(r.idsPerSec)} | ${fmtUs(r.p50Us)} | ${fmtUs(r.p99Us)} | ${ratio(r.idsPerSec, base)} | ${r.windowWaits === undefined ? '' : Number.isFinite(r.windowWaits) ? fmt(r.windowWaits) : '?'} |`,
    );
  }
  return [...out, ''];
}

function renderMarkdown(rep: PeerReport): string {
  const v = rep.versions;
  const lines = [
    '## Pharaoh vs Redis vs PostgreSQL (`npm run bench:peers`)',
    '',
    `Machine: ${machineLine(rep.machine)}${rep.quick ? ' — **quick smoke run, numbers not meaningful**' : ''}. ${loadNote(rep.load1, rep.machine.cores)}`,
    '',
    `One run, one machine, loopback TCP, data of every server in a temp dir on the same file system (\`${rep.machine.disk}\`). ` +
      `One Node load generator for all: N callers, each with exactly one call outstanding, ${fmt(rep.durationMs)} ms per measurement after a warm-up. ` +
      'Pharaoh: one `@pharaoh/client` router (one WebSocket, concurrent calls coalesced into batches) against one TSO process hosting all 1024 shards (16 in a quick run). ' +
      'Redis: one connection with auto-pipelining (ioredis). PostgreSQL: one connection per caller (node-postgres, prepared statements).',
    '',
    `Servers: Pharaoh ${v.pharaoh ?? 'not run'}; Redis ${v.redis ?? 'not run'} (Debian package \`redis-server\`, AOF on, RDB off); ` +
      `PostgreSQL ${v.postgres ?? 'not run'} (Debian package \`postgresql\`, fsync=on, synchronous_commit=on, full_page_writes=on); Node ${v.node}. ` +
      'Install the peers with `apt-get install -y redis-server postgresql`; the script skips a system that is not installed.',
    '',
    '**Crash-safe** means: once the caller has the ID, no later call — after a process kill, OS crash or power loss and a restart — can return it again. ' +
      'Rows marked **NO** are faster because they skip that guarantee; they are shown for scale, not as alternatives at the same durability.',
    '',
  ];
  for (const c of rep.concurrency) lines.push(...tableFor(rep, c));
  lines.push(
    '"Pharaoh window waits" counts calls that had to wait for an fdatasync because their shard\'s durable time window had run out (server metric `pharaoh_window_waits_total` over the measurement). ' +
      'Each shard keeps its durable bound a few seconds ahead of its clock and pushes it forward when a call comes near the end of it. ' +
      '`tso.next()` without a key lets the router spread calls over all 1024 shards, so at low call rates a shard can go longer than its window without a call; its next call then waits for the disk. ' +
      'A keyed call (one shard) or a higher rate keeps the windows warm.',
    '',
  );
  for (const s of rep.skipped) lines.push(`- **${s.system} not run**: ${s.reason}`);
  if (rep.skipped.length) lines.push('');
  lines.push('### What is durable when the answer arrives', '', '| System | Crash-safe | Why |', '|---|---|---|');
  for (const t of rep.targets) lines.push(`| ${t.label} | ${t.crashSafe ? 'yes' : '**NO**'} | ${t.durability} |`);
  lines.push('', '![IDs/s by system](bench/peers-throughput.svg)', '', '![p99 latency by system](bench/peers-latency.svg)');
  return lines.join('\n');
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void Promise.allSettled([...cleanups].map((f) => f())).then(() => process.exit(130));
  });
}

await main();
process.exit(0);
