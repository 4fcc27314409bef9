/**
 * schema-registry benchmark: a real `apps/schema-registry` process (through
 * `pharaoh serve`) under load from this process over one WebSocket connection:
 *   - `schema.register` of a new schema (a new version, journaled: waits for
 *     its group-commit fdatasync), spread over many subjects so registrations
 *     of one subject (which run one at a time) rarely meet;
 *   - `schema.register` of a known schema (canonicalised and answered from
 *     memory, no journal);
 *   - `schema.get` of a known id;
 * each with 1 and 64 requests in flight, with p50/p99. Baseline in the same
 * run: `ping` on the same server and connection (answered by the host).
 * Usage: npx tsx bench/schemas.bench.ts [--quick]   (or npm run bench -- --only schemas)
 */
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { shardForKey } from '@pharaoh/protocol';
import { RawClient, startApp, stopApp } from '@pharaoh/testkit';
import { timeLoops, type LoopTally } from './lib/loops.js';
import { LatencyHistogram } from './lib/latency.js';
import { REPO_ROOT, describeMachine, fmt, machineLine, writeSection } from './lib/report.js';
import { PHARAOH_BIN } from '../tools/cli/src/paths.js';
import { SERVE_NODE_FLAGS } from '../tools/cli/src/node-flags.js';

const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 0.5 : 5;
const WARMUP_SECONDS = QUICK ? 0.2 : 1;
const SHARDS = 16;
/** Subjects per shard: 64 × 16 = 1024, so 64 loops rarely wait on one subject, and no subject nears --max-versions. */
const SUBJECTS_PER_SHARD = 64;
const DATA = join(REPO_ROOT, '.tmp', `bench-schemas-${process.pid}`);
/** A small Avro record (about 150 bytes), the kind a DLog topic registers. */
const schema = (n: number) => `{"type":"record","name":"Event${n}","namespace":"bench","fields":[{"name":"id","type":"long"},{"name":"at","type":"long"},{"name":"body","type":"string"}]}`;

interface Row {
  what: string;
  inFlight: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
}

function subjects(): Array<{ subject: string; shard: number }> {
  const out: Array<{ subject: string; shard: number }> = [];
  const per = new Map<number, number>();
  for (let i = 0; out.length < SHARDS * SUBJECTS_PER_SHARD && i < 50_000_000; i++) {
    const subject = `bench-subject-${i}`;
    const shard = shardForKey(subject);
    if (shard < SHARDS && (per.get(shard) ?? 0) < SUBJECTS_PER_SHARD) {
      per.set(shard, (per.get(shard) ?? 0) + 1);
      out.push({ subject, shard });
    }
  }
  return out;
}

async function measure(what: string, inFlight: number, op: () => Promise<unknown>): Promise<Row> {
  await timeLoops({ ops: 0, seconds: 0, latency: new LatencyHistogram() }, inFlight, WARMUP_SECONDS * 1000, op);
  const r: LoopTally = { ops: 0, seconds: 0, latency: new LatencyHistogram() };
  await timeLoops(r, inFlight, SECONDS * 1000, op);
  return { what, inFlight, perSecond: r.ops / r.seconds, p50ms: r.latency.percentile(50) / 1000, p99ms: r.latency.percentile(99) / 1000 };
}

async function main(): Promise<void> {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true });
  const machine = describeMachine(DATA);
  const loadBefore = loadavg()[0]!;
  const app = await startApp(PHARAOH_BIN, ['serve', 'schema-registry', '--shards', `0-${SHARDS - 1}`, '--data', DATA, '--port', '0', '--http-port', '0', '--log-level', 'warn'], {
    tsx: false,
    nodeArgs: SERVE_NODE_FLAGS,
    cwd: REPO_ROOT,
  });
  const rows: Row[] = [];
  try {
    const c = await RawClient.connect(app.url);
    const subs = subjects();
    let n = 0;
    const known: bigint[] = [];
    const register = async () => {
      const k = n++;
      const s = subs[k % subs.length]!;
      const r = await c.ok<{ schemaId: bigint }>('schema.register', { shard: s.shard, subject: s.subject, schema: schema(k), format: 'AVRO' });
      if (known.length < 10_000) known.push(r.schemaId);
    };
    const s0 = subs[0]!;
    await c.ok('schema.register', { shard: s0.shard, subject: s0.subject, schema: schema(-1), format: 'AVRO' });
    let g = 0;
    for (const inFlight of [1, 64]) {
      rows.push(await measure('ping (baseline)', inFlight, () => c.ok('ping')));
      rows.push(await measure('register a new schema (journaled)', inFlight, register));
      rows.push(await measure('register a known schema again', inFlight, () => c.ok('schema.register', { shard: s0.shard, subject: s0.subject, schema: schema(-1), format: 'AVRO' })));
      rows.push(await measure('get a schema by id', inFlight, () => c.ok('schema.get', { schemaId: known[g++ % known.length]! })));
    }
    c.terminate();
  } finally {
    await stopApp(app, 'SIGTERM');
    rmSync(DATA, { recursive: true, force: true });
  }

  const loadAfter = loadavg()[0]!;
  const base = (inFlight: number) => rows.find((r) => r.inFlight === inFlight && r.what.startsWith('ping'))!.perSecond;
  const lines = rows.map((r) => `| ${r.what} | ${r.inFlight} | ${fmt(r.perSecond)} | ${fmt(r.p50ms, 2)} | ${fmt(r.p99ms, 2)} | ${r.what.startsWith('ping') ? '1' : fmt(r.perSecond / base(r.inFlight), 3)} |`);
  const md = [
    '## schema-registry: register and get (`npx tsx bench/schemas.bench.ts`)',
    '',
    `Machine: ${machineLine(machine)}; 1-min load average ${fmt(loadBefore, 1)} before, ${fmt(loadAfter, 1)} after (other work on the machine shares its cores and disk).${QUICK ? ' **Quick run (--quick): sizes too small to mean much.**' : ''}`,
    '',
    `A real \`apps/schema-registry\` process (${SHARDS} shards, journals on the disk above), one WebSocket connection from the benchmark process; ${SECONDS} s per case after ${WARMUP_SECONDS} s warm-up. A new schema is a new version of one of ${SHARDS * SUBJECTS_PER_SHARD} subjects, answered after its journal record's group-commit fdatasync; a known schema is canonicalised (RFC 8785) and answered from memory; get answers from memory. Baseline: \`ping\` on the same server and connection, same concurrency; the ratio is ops/s over baseline requests/s.`,
    '',
    '| operation | in flight | ops/s | p50 ms | p99 ms | vs ping |',
    '|---|---:|---:|---:|---:|---:|',
    ...lines,
  ].join('\n');
  writeSection('schemas', md, { machine, loadBefore, loadAfter, quick: QUICK, seconds: SECONDS, shards: SHARDS, rows });
  process.stdout.write(`${md}\n`);
}

await main();
