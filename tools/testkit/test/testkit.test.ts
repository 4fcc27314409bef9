import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppExitedError, DataDirApp, killAll, TestScope, mulberry32, parseListening, RawClient, runToExit, startApp, stopApp } from '../src/index.js';

const ECHO = join(import.meta.dirname, 'fixtures', 'echo-server.ts');

afterAll(killAll);

describe('parseListening', () => {
  it('reads the ws and http endpoints from a complete listening line', () => {
    const line = 'pharaoh tso listening on ws://127.0.0.1:4100 (shards 0-3, opened in 12 ms); http://127.0.0.1:4101 serves /healthz /readyz /metrics\n';
    expect(parseListening(`{"level":40}\n${line}`)).toEqual({ url: 'ws://127.0.0.1:4100', port: 4100, httpUrl: 'http://127.0.0.1:4101', httpPort: 4101 });
  });

  it('reads wss and https endpoints, and a line without an http endpoint', () => {
    expect(parseListening('x listening on wss://[::1]:443 (shards 0); https://[::1]:8443 serves /metrics\n')).toMatchObject({ url: 'wss://[::1]:443', port: 443, httpPort: 8443 });
    expect(parseListening('x listening on ws://127.0.0.1:9\n')).toEqual({ url: 'ws://127.0.0.1:9', port: 9 });
  });

  it('waits for the end of the line, so a port cut by a chunk boundary is never read', () => {
    expect(parseListening('x listening on ws://127.0.0.1:41')).toBeUndefined();
    expect(parseListening('listening on a non-loopback address WITHOUT authentication\n')).toBeUndefined();
  });
});

describe('startApp, RawClient and stopApp against a real child process', () => {
  it('finds where the child listens, talks the frame protocol to it, and ends it by pid', async () => {
    const app = await startApp(ECHO, []);
    expect(app.httpPort).toBe(app.port);
    const c = await RawClient.connect(app.url);
    expect(c.hello.server).toBe('echo-fixture');
    const answers = await Promise.all([c.ok('echo', { n: 1 }), c.ok('echo', { n: 2 })]);
    expect(answers).toEqual([{ n: 1 }, { n: 2 }]);
    expect((await c.request('nope')).err?.code).toBe('UNKNOWN_OP');
    await expect(c.ok('nope')).rejects.toMatchObject({ code: 'UNKNOWN_OP' });
    expect(await stopApp(app, 'SIGTERM')).toBe(0);
    expect((await c.closed).code).toBe(1001);
    expect((await c.request('echo')).err?.code).toBe('CONNECTION_CLOSED');
  });

  it('rejects with the exit status and stderr when the child exits before listening', async () => {
    const err = await startApp(ECHO, ['--exit-first', '3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppExitedError);
    expect((err as AppExitedError).status).toEqual({ code: 3, signal: null });
    expect((err as AppExitedError).stderr).toContain('refusing to start');
  });

  it('killAll SIGKILLs every child still running', async () => {
    const app = await startApp(ECHO, []);
    await killAll();
    expect(await app.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe('DataDirApp', () => {
  it('restarts the app on the same data directory and removes it on cleanup', async () => {
    const node = new DataDirApp(ECHO, [], 'pharaoh-testkit-');
    const dir = node.dir;
    expect(await (await node.start()).ok('echo', { a: 1 })).toEqual({ a: 1 });
    const first = node.app!.pid;
    expect(await node.stop('SIGKILL')).toBeNull();
    expect(await (await node.start()).ok('echo', { a: 2 })).toEqual({ a: 2 });
    expect(node.app!.pid).not.toBe(first);
    expect(node.dir).toBe(dir);
    await node.cleanup();
    expect(existsSync(dir)).toBe(false);
    expect(node.app).toBeUndefined();
  });
});

describe('TestScope', () => {
  it('releases what a test opened, last opened first, and runs every release even when one fails', async () => {
    const scope = new TestScope();
    const order: string[] = [];
    const dir = scope.tempDir('pharaoh-scope-');
    scope.closeLater({ close: () => order.push('server') });
    scope.closeLater({
      close: () => {
        order.push('failing');
        throw new Error('close failed');
      },
    });
    scope.closeLater({ close: () => order.push('client') });
    await expect(scope.cleanup()).rejects.toThrow('close failed');
    expect(order).toEqual(['client', 'failing', 'server']);
    expect(existsSync(dir)).toBe(false);
    await scope.cleanup(); // nothing left
  });
});

describe('runToExit', () => {
  it('collects the exit code and both streams of a script run to its end', async () => {
    const r = await runToExit(ECHO, ['--exit-first', '5']);
    expect(r).toMatchObject({ code: 5, signal: null, stdout: '' });
    expect(r.stderr).toBe('refusing to start\n');
  });
});

describe('mulberry32 (re-exported)', () => {
  it('replays the same sequence from the same seed', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 5 }, () => a());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
