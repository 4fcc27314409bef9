/**
 * Start and stop a private Redis server on loopback for the peer comparison:
 * generated config in a temp dir, AOF on, RDB snapshots off, fsync policy
 * chosen per run. Debian package: `redis-server`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, makeTempDir, removeDir, stopChild, tail, waitFor, which } from './common.js';

export type AppendFsync = 'always' | 'everysec';

export interface RedisPeer {
  port: number;
  pid: number;
  version: string;
  dir: string;
  /** A new connection; `autoPipelining` batches commands issued in the same tick into one write. */
  connect(autoPipelining: boolean): Redis;
  /** Switch the AOF fsync policy of the running server (CONFIG SET). */
  setAppendFsync(policy: AppendFsync): Promise<void>;
  stop(): Promise<void>;
}

/** Why Redis cannot run here, or undefined if it can. */
export function redisUnavailable(): string | undefined {
  return which('redis-server') ? undefined : 'redis-server not found on PATH (Debian: apt-get install -y redis-server)';
}

export async function startRedis(policy: AppendFsync): Promise<RedisPeer> {
  const bin = which('redis-server');
  if (!bin) throw new Error(redisUnavailable());
  const dir = makeTempDir('redis');
  const port = await freePort();
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      'bind 127.0.0.1',
      `port ${port}`,
      'protected-mode no',
      'daemonize no',
      `dir ${dir}`,
      'save ""',
      'appendonly yes',
      `appendfsync ${policy}`,
      'logfile ""',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = tail(child);
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // connection refusals while the server starts are expected
  try {
    await waitFor('redis-server to accept connections', 15_000, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output()}`);
      if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
      return probe.status === 'ready' && (await probe.ping()) === 'PONG' ? true : undefined;
    });
  } catch (err) {
    probe.disconnect();
    await stopChild(child);
    removeDir(dir);
    throw err;
  }
  const info = await probe.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  return {
    port,
    pid: child.pid!,
    version,
    dir,
    connect: (autoPipelining) => {
      const c = new Redis({ port, host: '127.0.0.1', enableAutoPipelining: autoPipelining, maxRetriesPerRequest: 0 });
      c.on('error', () => undefined); // failed commands reject their own promises
      return c;
    },
    async setAppendFsync(p) {
      await probe.config('SET', 'appendfsync', p);
      const got = (await probe.config('GET', 'appendfsync')) as string[];
      if (got[1] !== p) throw new Error(`redis refused appendfsync ${p}: ${got.join(' ')}`);
    },
    async stop() {
      probe.disconnect();
      await stopChild(child);
      removeDir(dir);
    },
  };
}
