/**
 * `npm run bench:moves`: what an online shard move costs, with real processes.
 * Two `pharaoh serve` processes per service share a data dir; a client keeps
 * calling the moving shards by key (tso `ts.get`; txcoord begin + commit, so
 * the shard's journal holds ~2,000 decisions when it moves); `pharaoh shard
 * move` moves 1 shard, then 8, back and forth. Reported per move: the
 * command's own figure of unavailability (release → claim answered), and what
 * the keyed caller saw: failed calls, and its slowest call overlapping the
 * move against its median outside moves. Prints a Markdown section (the
 * numbers in docs/BENCHMARKS.md "Online shard moves" come from it; `--write`
 * replaces that section, without the goal line written under the table).
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { PharaohClient } from '@pharaoh/client';
import { shardForKey } from '@pharaoh/protocol';
import { runToExit, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { writeSection } from './lib/report.js';

const BIN = new URL('../tools/cli/bin/pharaoh.cjs', import.meta.url).pathname;
const ROUNDS = Number(process.env.PHARAOH_MOVE_ROUNDS ?? 2);

function keyFor(shard: number): string {
  for (let i = 0; ; i++) if (shardForKey(`k${i}`) === shard) return `k${i}`;
}
const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const r1 = (x: number): string => (Math.round(x * 10) / 10).toFixed(1);

interface Call {
  key: string;
  t0: number;
  t1: number;
  ok: boolean;
}

async function bench(service: 'tso' | 'txcoord', dir: string): Promise<string[]> {
  const data = join(dir, service);
  const apps: RunningApp[] = [];
  const serve = async (shards: string) => {
    const app = await startApp(BIN, ['serve', service, '--shards', shards, '--data', data, '--port', '0', '--http-port', '0', '--log-level', 'warn'], { tsx: false });
    apps.push(app);
    return app;
  };
  const [a, b] = [await serve('0-15'), await serve('16-31')];
  const client = await PharaohClient.connect({ endpoints: [a.url, b.url] }, { timeoutMs: 10_000 });
  const keys = Array.from({ length: 8 }, (_, i) => keyFor(i));
  const calls: Call[] = [];
  /** Failed calls by code and message (printed to stderr). */
  const errors = new Map<string, number>();
  let stop = false;
  const one = async (key: string): Promise<void> => {
    if (service === 'tso') await client.tso.range(1, { key });
    else {
      const t = await client.tx.begin({ key });
      await client.tx.commit(t.txId);
    }
  };
  // Give the moving shards a journal before the first move.
  if (service === 'txcoord') for (let i = 0; i < 1_000; i++) await one(keys[i % 2]!);
  const loops = keys.map(async (key) => {
    while (!stop) {
      const t0 = performance.now();
      let ok = true;
      await one(key).catch((err: unknown) => {
        ok = false;
        const m = `${(err as { code?: string }).code}: ${(err as Error).message}`.slice(0, 200);
        errors.set(m, (errors.get(m) ?? 0) + 1);
      });
      calls.push({ key, t0, t1: performance.now(), ok });
    }
  });
  const rows: string[] = [];
  const windows: Array<[number, number]> = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [shards, from, to] of [['0', a, b], ['0', b, a], ['0-7', a, b], ['0-7', b, a]] as const) {
        await new Promise((r) => setTimeout(r, 500));
        const t0 = performance.now();
        const res = await runToExit(BIN, ['shard', 'move', '--service', service, '--shards', shards, '--from', from.url, '--to', to.url], { timeoutMs: 60_000, tsx: false });
        const t1 = performance.now();
        if (res.code !== 0) throw new Error(`shard move failed: ${res.stderr}`);
        const m = /unavailable ([\d.]+) ms \(release ([\d.]+) ms, claim ([\d.]+) ms\)/.exec(res.stdout)!;
        windows.push([t0, t1]);
        const moved = keys.slice(0, shards === '0' ? 1 : 8);
        const during = calls.filter((c) => c.t1 >= t0 && c.t0 <= t1 && moved.includes(c.key));
        rows.push(`| ${service} | ${shards === '0' ? 1 : 8} | ${m[1]} | ${m[2]} | ${m[3]} | ${during.filter((c) => !c.ok).length} | ${r1(Math.max(0, ...during.map((c) => c.t1 - c.t0)))} |`);
      }
    }
  } finally {
    stop = true;
    await Promise.all(loops);
    await client.close();
    for (const app of apps) await stopApp(app, 'SIGTERM');
  }
  for (const [m, n] of errors) console.error(`${service}: ${n} × ${m}`);
  const outside = calls.filter((c) => !windows.some(([t0, t1]) => c.t1 >= t0 && c.t0 <= t1)).map((c) => c.t1 - c.t0);
  rows.push(`| ${service}: keyed calls outside moves | | | | | ${calls.filter((c) => !c.ok).length} failed of ${calls.length} in all | median ${r1(q(outside, 0.5))}, p99 ${r1(q(outside, 0.99))} |`);
  return rows;
}

const scratch = tempDir('pharaoh-bench-moves-');
try {
  const load0 = loadavg()[0]!;
  const rows = [...(await bench('tso', scratch.dir)), ...(await bench('txcoord', scratch.dir))];
  const md = [
      '## Online shard moves (`npm run bench:moves`)',
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; 1-min load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end (other work shared the machine).`,
      '',
      'Two processes per service share a data dir (16 shards each); 8 client loops call shards 0-7 by key without pause; `pharaoh shard move` moves shard 0 there and back, then shards 0-7, twice over. txcoord shards carry ~2,000 journal records when they first move. "unavailable" is the command\'s figure: from the release call to the claim\'s answer (the moved shards answer SHARD_UNAVAILABLE, then NOT_OWNER with `movedTo`; the router retries, so callers see a slower call, not an error).',
      '',
      '| service | shards moved | unavailable ms | release ms | claim ms | failed calls during the move | slowest keyed call overlapping the move, ms |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows,
  ].join('\n');
  // The page's goal line is written by hand from the run (met or missed), below the table.
  console.log(md);
  if (process.argv.includes('--write')) writeSection('moves', md, { rows });
} finally {
  scratch.remove();
}
