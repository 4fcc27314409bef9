import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shardForKey } from '@pharaoh/protocol';
import { runToExit } from '@pharaoh/testkit';
import { freePorts } from '../src/fleet/preflight.js';

export const BIN = fileURLToPath(new URL('../bin/pharaoh.cjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `pharaoh <args>` as ONE node process (the bin runs the launcher bundle, or tsx, in-process). */
export async function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const t0 = Date.now();
  const r = await runToExit(BIN, args, { cwd: opts.cwd ?? process.cwd(), timeoutMs: opts.timeoutMs ?? 90_000, tsx: false });
  if (process.env.PHARAOH_TEST_TIMING) console.log(`${args.slice(0, 2).join(' ')}: ${Date.now() - t0} ms`);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** A small fleet on free loopback ports: tso split over two processes, txcoord and session-mgr one each. */
export async function writeSmallFleet(dir: string, data = 'data', name = 'fleet.json'): Promise<{ path: string; file: any }> {
  const ports = await freePorts(8);
  const ep = async () => {
    const [ws, http] = [ports.pop()!, ports.pop()!];
    return { endpoint: `ws://127.0.0.1:${ws}`, http: `http://127.0.0.1:${http}` };
  };
  const file = {
    data,
    services: {
      tso: [{ ...(await ep()), shards: '0-3' }, { ...(await ep()), shards: '4-7' }],
      txcoord: [{ ...(await ep()), shards: '0-3' }],
      'session-mgr': [{ ...(await ep()), shards: '0-3' }],
    },
  };
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(file, null, 2));
  return { path, file };
}

/** A producer name that session-mgr shards 0..n-1 accept. */
export function producerFor(n: number): string {
  for (let i = 0; ; i++) if (shardForKey(`producer-${i}`) < n) return `producer-${i}`;
}

/** SIGKILL every pid still alive (test cleanup, by pid only). */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
