/**
 * Fleet benchmark: how long a shard host takes to become ready, by number of
 * hosted shards — first start (shard directories created) and restart after
 * SIGKILL (reopen: lock, identity, bound, journal). Restart time is how long a
 * crashed process's shards are unavailable, so it sizes SHARDS_PER_POD.
 * Processes run as deployed: `pharaoh serve tso` (the launcher's bundle).
 * Baseline measured in the same run: `pharaoh --help`, which starts Node and
 * loads the same bundle, then exits (process start + module loading).
 * Usage: npm run bench:fleet [-- --quick]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseFleet } from '../tools/cli/src/fleet-file.js';
import type { FleetMember } from '../tools/cli/src/fleet-file.js';
import { exited, probeReady, spawnMember } from '../tools/cli/src/fleet/child.js';
import { PHARAOH_BIN } from '../tools/cli/src/paths.js';
import { freePorts } from '../tools/cli/src/fleet/preflight.js';
import { REPO_ROOT, describeMachine, fmt, machineLine, percentile, writeSection } from './lib/report.js';

const QUICK = process.argv.includes('--quick');
const SHARDS = QUICK ? [4, 16] : [16, 128, 1024];
const RESTARTS = QUICK ? 1 : 3;
const DIR = join(REPO_ROOT, '.tmp', `bench-fleet-${process.pid}`);

async function member(dataDir: string, shards: number): Promise<FleetMember> {
  const [ws, http] = await freePorts(2);
  const file = { data: dataDir, services: { tso: [{ endpoint: `ws://127.0.0.1:${ws}`, http: `http://127.0.0.1:${http}`, shards: `0-${shards - 1}` }] } };
  return parseFleet(file, { source: 'bench', baseDir: DIR }).members[0]!;
}

/** Spawn the member and resolve with the ms until /readyz answers 200. */
async function timeToReady(m: FleetMember): Promise<{ ms: number; kill: () => Promise<void> }> {
  const t0 = performance.now();
  const proc = spawnMember(m, ['--log-level', 'warn'], () => {});
  for (let i = 0; i < 6000; i++) {
    if (proc.exitCode !== null) throw new Error(`tso exited with ${proc.exitCode}`);
    if (await probeReady(m, 500)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - t0;
  return { ms, kill: async () => { proc.kill('SIGKILL'); await exited(proc); } };
}

async function baselineMs(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const p = spawn(process.execPath, [PHARAOH_BIN, '--help'], { cwd: REPO_ROOT, stdio: 'ignore' });
    await exited(p);
    samples.push(performance.now() - t0);
  }
  return percentile(samples, 50);
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const machine = describeMachine();
  const load = loadavg()[0]!;
  try {
    const base = await baselineMs();
    const rows: Array<{ shards: number; firstMs: number; restartMs: number }> = [];
    for (const shards of SHARDS) {
      const m = await member(join(DIR, `data-${shards}`), shards);
      const first = await timeToReady(m);
      await first.kill();
      const restarts: number[] = [];
      for (let i = 0; i < RESTARTS; i++) {
        const r = await timeToReady(m);
        restarts.push(r.ms);
        await r.kill();
      }
      rows.push({ shards, firstMs: first.ms, restartMs: percentile(restarts, 50) });
      console.log(`${shards} shards: first start ${fmt(first.ms)} ms, restart after SIGKILL ${fmt(percentile(restarts, 50))} ms (baseline ${fmt(base)} ms)`);
    }
    const md = [
      '## Fleet: shard host start and restart time (`npm run bench:fleet`)',
      '',
      `Machine: ${machineLine(machine)}; 1-min load average at start ${load.toFixed(1)}.`,
      '',
      `One tso process (\`pharaoh serve tso\`, which runs the launcher's bundle), time from spawn until \`/readyz\` answers 200. "Restart" is the median of ${RESTARTS} restarts after SIGKILL (reopening existing shard directories): how long that process's shards are unavailable after a crash. Baseline: \`pharaoh --help\`, which starts Node, loads the same bundle and exits, ${fmt(base)} ms.`,
      '',
      '| shards | first start (ms) | restart after SIGKILL (ms) | restart / baseline |',
      '|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.shards} | ${fmt(r.firstMs)} | ${fmt(r.restartMs)} | ${fmt(r.restartMs / base, 1)}× |`),
    ].join('\n');
    if (!QUICK) writeSection('fleet', md, { machine, load, baselineMs: base, rows });
    else console.log(md);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
}

await main();
