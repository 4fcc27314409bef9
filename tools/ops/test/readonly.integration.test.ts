/**
 * The container runs with a read-only root file system: the server may write
 * only to its data volume (and the in-memory /tmp the manifests give it).
 * Here the repository plays /app: it is bind-mounted read-only over itself in
 * a private mount namespace (`unshare -m`, root only), and the real launcher
 * (`node tools/cli/bin/pharaoh.cjs serve txcoord`, as deploy/entrypoint.sh
 * runs it) must start, become ready, and journal a decision. Skipped, with a
 * message, when not root or without unshare.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient, parseListening, tempDir } from '@pharaoh/testkit';
import { REPO, fetchText } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const unshareFound = spawnSync('unshare', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
const canRun = isRoot && unshareFound;
if (!canRun) console.warn(`read-only app tree test skipped: it needs root and unshare (root: ${isRoot}, unshare: ${unshareFound})`);

const START_TIMEOUT_MS = 60_000;
const data = tempDir('pharaoh-readonly-');
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
  data.remove();
});

describe.skipIf(!canRun)('the app tree mounted read-only', () => {
  it('still starts the launcher, serves and journals (writes go to the data dir only)', async () => {
    const script = [
      `mount --bind "${REPO}" "${REPO}"`,
      `mount -o remount,bind,ro "${REPO}"`,
      `cd "${REPO}"`,
      // The write must fail here, or the mount did not take and the test proves nothing.
      `if touch .readonly-probe 2>/dev/null; then rm -f .readonly-probe; echo "the app tree is writable" >&2; exit 70; fi`,
      `exec node tools/cli/bin/pharaoh.cjs serve txcoord --shards 0-3 --port 0 --http-port 0 --data "${data.dir}/data"`,
    ].join(' && ');
    child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PHARAOH_LOG_LEVEL: 'warn' } });
    let err = '';
    const listening = await new Promise<NonNullable<ReturnType<typeof parseListening>>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within ${START_TIMEOUT_MS} ms: ${err}`)), START_TIMEOUT_MS);
      child!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const l = parseListening(err);
        if (l) {
          clearTimeout(timer);
          resolve(l);
        }
      });
      child!.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code ?? signal}) before listening: ${err}`));
      });
    });
    expect((await fetchText(`${listening.httpUrl}/readyz`)).status).toBe(200);
    const c = await RawClient.connect(listening.url);
    try {
      const { txId } = await c.ok<{ txId: bigint }>('tx.begin', { shard: 1 });
      await c.ok('tx.commit', { txId }); // journaled and fdatasync'd in the data dir
      expect(await c.ok('tx.status', { txId })).toMatchObject({ status: 'COMMITTED' });
    } finally {
      c.terminate();
    }
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(err).not.toMatch(/EROFS|read-only file system/i);
  }, 90_000);
});
