import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, readPidFile } from '../src/fleet/pidfile.js';
import { BIN, killPids, producerFor, runCli, writeSmallFleet } from './helpers.js';

const started = new Set<number>();
afterAll(() => killPids(started));

function remember(dataDir: string): number[] {
  const pf = readPidFile(dataDir);
  const pids = pf ? [pf.pid, ...pf.children.map((c) => c.pid)] : [];
  for (const p of pids) started.add(p);
  return pids;
}

describe('pharaoh fleet (real processes)', () => {
  it('starts a fleet in the background, serves the operator client, refuses the usual mistakes, and stops by pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharaoh-cli-fleet-'));
    const { path, file } = await writeSmallFleet(dir);
    const data = join(dir, 'data');
    // Client commands get a generous timeout: a loaded CI machine can be slow, and slowness is not what this tests.
    const F = ['--fleet', path, '--timeout', '30000'];

    const up = await runCli(['fleet', 'up', path, '--detach', '--log-level', 'warn']);
    const pids = remember(data);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('Pharaoh fleet is up');
    expect(up.stdout).toContain(`npx pharaoh ts --fleet ${path}`);
    expect(pids).toHaveLength(5);

    const status = await runCli(['fleet', 'status', path, '--json']);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout).rows as Array<{ ready: string; health: string; pid: number }>;
    expect(rows.map((r) => [r.health, r.ready])).toEqual(Array(4).fill(['ok', 'ok']));
    expect(rows.map((r) => r.pid).sort()).toEqual(pids.slice(1).sort());

    const ts = await runCli(['ts', ...F, '--count', '5']);
    expect(ts.code, ts.stderr).toBe(0);
    const ids = ts.stdout.trim().split('\n').map(BigInt);
    expect(ids).toHaveLength(5);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);

    // A long transaction timeout: on a loaded machine two CLI starts can take longer than the default 10 s.
    const begin = await runCli(['tx', 'begin', ...F, '--tx-timeout', '300000']);
    expect(begin.stdout).toContain('timeoutMs 300000');
    const txId = /txId (\d+)/.exec(begin.stdout)![1]!;
    const commit = await runCli(['tx', 'commit', txId, ...F]);
    expect(commit.stdout, commit.stderr).toContain(`committed ${txId}`);
    expect((await runCli(['tx', 'status', txId, ...F])).stdout.trim()).toBe('COMMITTED');
    const abort = await runCli(['tx', 'abort', txId, ...F]);
    expect(abort.code).toBe(1);
    expect(abort.stderr).toContain('TX_COMMITTED');

    const producer = producerFor(4);
    const first = await runCli(['session', 'open', '--producer', producer, ...F]);
    const second = await runCli(['session', 'open', '--producer', producer, ...F]);
    const sid = /sessionId (\d+)/.exec(first.stdout)![1]!;
    expect(/sessionId (\d+)/.exec(second.stdout)![1]).toBe(sid);
    const e0 = /epoch (\d+)/.exec(first.stdout)![1]!;
    const e1 = /epoch (\d+)/.exec(second.stdout)![1]!;
    // Epochs are seconds-based since the restore work (docs/PROTOCOL.md, "Session epochs"): higher, not consecutive.
    expect(Number(e1)).toBeGreaterThan(Number(e0));
    expect(await runCli(['session', 'validate', sid, e0, ...F])).toMatchObject({ code: 1, stdout: 'FENCED\n' });
    expect(await runCli(['session', 'validate', sid, e1, ...F])).toMatchObject({ code: 0, stdout: 'OK\n' });

    const again = await runCli(['fleet', 'up', path]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('a fleet is already running');

    // Same ports, another data directory: the port check names the process and port.
    const otherData = { ...file, data: 'other' };
    writeFileSync(join(dir, 'ports.json'), JSON.stringify(otherData));
    const busy = await runCli(['fleet', 'up', join(dir, 'ports.json')]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/tso:\d+: WebSocket port \d+ on 127\.0\.0\.1 is already in use by another process/);

    // Free ports, but the same shard directories: the server's lock refuses, and the CLI quotes it.
    const { path: lockedPath, file: lockedFile } = await writeSmallFleet(dir, 'locked', 'locked.json');
    lockedFile.services = { tso: [{ ...lockedFile.services.tso[0], data: 'data' }] };
    writeFileSync(lockedPath, JSON.stringify(lockedFile));
    const locked = await runCli(['fleet', 'up', lockedPath, '--log-level', 'warn']);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/exited \(code 1\) while starting/);
    expect(locked.stderr).toMatch(/tso shard \d is already hosted by another process.*SHARD_LOCKED/);

    const down = await runCli(['fleet', 'down', path]);
    expect(down.code, down.stderr).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    const after = await runCli(['fleet', 'status', path]);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain('down');
    expect((await runCli(['fleet', 'down', path])).stderr).toContain('no running fleet recorded');

    // A shard directory of another shard refuses to open.
    cpSync(join(data, 'tso', 'shard-1'), join(dir, 'wrong', 'tso', 'shard-0'), { recursive: true });
    const wrong = await runCli(['serve', 'tso', '--shards', '0', '--data', join(dir, 'wrong'), '--port', '0', '--http-port', '0', '--log-level', 'fatal']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('SHARD_IDENTITY_MISMATCH');
  }, 240_000);

  it('refuses a data directory it cannot write, before starting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharaoh-cli-fleet-'));
    writeFileSync(join(dir, 'a-file'), '');
    const { path } = await writeSmallFleet(dir, 'a-file/data');
    const r = await runCli(['fleet', 'up', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/data directory .*a-file\/data is not writable \(ENOTDIR\)/);
  });

  it('runs in the foreground with prefixed logs, restarts a crashed process, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharaoh-cli-fleet-'));
    const { path } = await writeSmallFleet(dir);
    const data = join(dir, 'data');
    const sup = spawn(process.execPath, [BIN, 'fleet', 'up', path, '--restart-on-crash', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(sup.pid!);
    let out = '';
    sup.stdout.on('data', (d) => (out += d));
    const exit = new Promise<number | null>((r) => sup.once('exit', (code) => r(code)));
    await waitFor(() => out.includes('Pharaoh fleet is up'), 90_000, () => out);
    expect(out).toMatch(/^\[tso:\d+\] /m);
    expect(out).toContain('Stop it with Ctrl-C.');

    const before = readPidFile(data)!;
    expect(before.pid).toBe(sup.pid);
    remember(data);
    const victim = before.children[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(() => out.includes(`[${victim.label}] exited (signal SIGKILL); restarting`), 30_000, () => out);
    await waitFor(() => (readPidFile(data)?.children.find((c) => c.label === victim.label)?.pid ?? victim.pid) !== victim.pid, 30_000, () => out);
    const pids = remember(data);
    await waitFor(async () => (await runCli(['fleet', 'status', path])).code === 0, 60_000, () => out);

    sup.kill('SIGTERM');
    expect(await exit).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(readPidFile(data)).toBeUndefined();
  }, 180_000);
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, show: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms; output:\n${show()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
