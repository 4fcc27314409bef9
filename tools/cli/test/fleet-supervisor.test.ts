/**
 * `fleet up --restart-on-crash` after `pharaoh shard move --fleet`: a crashed
 * process restarts with its entry as the fleet file says at the restart, not
 * as it was read at start. The supervisor runs stand-in children (an idle
 * node process per member, killed by pid) so that only the restart logic is
 * under test; the file is rewritten by the real `rewriteFleetFile` of
 * `shard move`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatShardRanges } from '@pharaoh/protocol';
import { loadFleet, type FleetMember } from '../src/fleet-file.js';
import { FleetSupervisor, rereadMember } from '../src/fleet/supervisor.js';
import { rewriteFleetFile } from '../src/shard-move.js';
import { killPids } from './helpers.js';

const A = 'ws://127.0.0.1:17100';
const B = 'ws://127.0.0.1:17102';

function writeFleet(dir: string): string {
  const path = join(dir, 'fleet.json');
  const file = {
    data: 'data',
    services: {
      tso: [
        { endpoint: A, http: 'http://127.0.0.1:17101', shards: '0-3' },
        { endpoint: B, http: 'http://127.0.0.1:17103', shards: '4-7' },
      ],
    },
  };
  writeFileSync(path, JSON.stringify(file, null, 2));
  return path;
}

const started = new Set<number>();
afterEach(() => killPids(started));

async function waitFor(cond: () => boolean, ms: number, show: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms:\n${show()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('rereadMember', () => {
  it('gives the entry as the file says now, keeps the old one (saying why) when the file is unreadable or invalid, and none when the process is gone from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharaoh-cli-sup-'));
    const path = writeFleet(dir);
    const a = loadFleet(path).members.find((m) => m.endpoint === A)!;
    expect(rereadMember(path, a)).toEqual({ member: a });

    rewriteFleetFile(path, 'tso', A, B, [[0, 1]]);
    const moved = rereadMember(path, a);
    expect(formatShardRanges(moved.member!.shards)).toBe('2-3');
    expect(moved.note).toMatch(/restarting with shards 2-3 .* \(it started with 0-3; moved since\)/);

    writeFileSync(path, '{ "services": ');
    const broken = rereadMember(path, a);
    expect(broken.member).toBe(a);
    expect(broken.note).toMatch(/cannot reread the fleet file \(.*not valid JSON.*\); restarting with the shards it started with \(0-3\)/);
    writeFileSync(path, JSON.stringify({ services: { tso: [{ endpoint: A, shards: '0-3', port: 1 }] } }));
    expect(rereadMember(path, a).note).toMatch(/cannot reread the fleet file \(.*invalid fleet file/);

    writeFleet(dir);
    rewriteFleetFile(path, 'tso', A, B, [[0, 3]]);
    const gone = rereadMember(path, a);
    expect(gone.member).toBeUndefined();
    expect(gone.note).toMatch(/no longer lists tso ws:\/\/127\.0\.0\.1:17100 .*not restarting it/);

    // The built-in default fleet has no file to reread.
    expect(rereadMember('(default fleet)', a)).toEqual({ member: a });
  });
});

describe('FleetSupervisor --restart-on-crash', () => {
  it('restarts a crashed process with the shards the fleet file lists at the restart', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharaoh-cli-sup-'));
    const path = writeFleet(dir);
    const spawned: Array<{ endpoint: string; shards: string; proc: ChildProcess }> = [];
    const log: string[] = [];
    const sup = new FleetSupervisor(loadFleet(path), {
      restartOnCrash: true,
      write: (line) => log.push(line),
      probeReady: () => Promise.resolve(true),
      stopGraceMs: 2_000,
      spawnMember: (member: FleetMember) => {
        const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
        started.add(proc.pid!);
        spawned.push({ endpoint: member.endpoint, shards: formatShardRanges(member.shards), proc });
        return proc;
      },
    });
    const show = () => `${log.join('\n')}\nspawned: ${JSON.stringify(spawned.map((s) => [s.endpoint, s.shards]))}`;
    const ofA = () => spawned.filter((s) => s.endpoint === A);
    const crashA = () => process.kill(ofA().at(-1)!.proc.pid!, 'SIGKILL');
    try {
      await sup.start();
      expect(ofA().map((s) => s.shards)).toEqual(['0-3']);

      // shard move 0-1 from A to B rewrote the file; then A crashes: it comes back with 2-3 only.
      rewriteFleetFile(path, 'tso', A, B, [[0, 1]]);
      crashA();
      await waitFor(() => ofA().length === 2, 20_000, show);
      expect(ofA()[1]!.shards).toBe('2-3');
      expect(log.join('\n')).toMatch(/\[tso:17100\] restarting with shards 2-3 from .*fleet\.json \(it started with 0-3; moved since\)/);

      // An unreadable file: the last known list, and the reason in the log.
      writeFileSync(path, 'not json');
      crashA();
      await waitFor(() => ofA().length === 3, 20_000, show);
      expect(ofA()[2]!.shards).toBe('2-3');
      expect(log.join('\n')).toMatch(/\[tso:17100\] cannot reread the fleet file \(.*not valid JSON.*\); restarting with the shards it started with \(2-3\)/);

      // Every shard of A moved away: A is not restarted (its old shards belong to B now).
      writeFleet(dir);
      rewriteFleetFile(path, 'tso', A, B, [[0, 3]]);
      crashA();
      await waitFor(() => log.some((l) => l.includes('not restarting it')), 20_000, show);
      await new Promise((r) => setTimeout(r, 300));
      expect(ofA()).toHaveLength(3);
      expect(spawned.filter((s) => s.endpoint === B)).toHaveLength(1);
    } finally {
      await sup.stop();
    }
  });
});
