/**
 * Start and stop a private PostgreSQL cluster on loopback for the peer
 * comparison: initdb into a temp dir, fsync=on, synchronous_commit=on, trust
 * auth on 127.0.0.1 only. PostgreSQL refuses to run as root, so as root the
 * server runs as the `postgres` user (created by the Debian package).
 * Debian package: `postgresql` (binaries under /usr/lib/postgresql/<v>/bin).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, makeTempDir, removeDir, waitFor } from './common.js';

export interface PostgresPeer {
  port: number;
  pid: number;
  version: string;
  dir: string;
  /** A new connected client (user `bench`, database `postgres`). */
  connect(): Promise<pg.Client>;
  stop(): Promise<void>;
}

/** The newest PostgreSQL bin directory installed, or undefined. */
export function findPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** Who runs the server: ourselves, or `postgres` when we are root. */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, user: os.userInfo().username };
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid, user: 'postgres' };
  } catch {
    return undefined;
  }
}

/** Why PostgreSQL cannot run here, or undefined if it can. */
export function postgresUnavailable(): string | undefined {
  if (!findPgBin()) return 'PostgreSQL not found under /usr/lib/postgresql/*/bin (Debian: apt-get install -y postgresql)';
  if (!runAs()) return 'running as root and no `postgres` user to run the server as';
  return undefined;
}

function pgCommand(user: RunAs, bin: string, args: string[]): [string, string[]] {
  // setpriv execs in place (no extra process), dropping to the postgres user.
  if (process.getuid?.() === 0) return ['setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', bin, ...args]];
  return [bin, args];
}

function run(user: RunAs, bin: string, args: string[]): string {
  const [cmd, argv] = pgCommand(user, bin, args);
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
}

export async function startPostgres(maxConnections: number): Promise<PostgresPeer> {
  const bin = findPgBin();
  const user = runAs();
  if (!bin || !user) throw new Error(postgresUnavailable());
  const dir = makeTempDir('pg');
  chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  chownSync(sock, user.uid, user.gid);
  const port = await freePort();
  try {
    run(user, join(bin, 'initdb'), ['-D', data, '-U', 'bench', '-A', 'trust', '--no-locale', '-E', 'UTF8']);
    const opts = [
      `-p ${port}`,
      `-k ${sock}`,
      "-c listen_addresses='127.0.0.1'",
      `-c max_connections=${maxConnections + 10}`,
      '-c fsync=on',
      '-c synchronous_commit=on',
      '-c full_page_writes=on',
    ].join(' ');
    run(user, join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start']);
  } catch (err) {
    removeDir(dir);
    throw new Error(`PostgreSQL failed to start: ${errText(err)}`);
  }
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'bench', database: 'postgres' });
    await c.connect();
    return c;
  };
  const probe = await waitFor('PostgreSQL to accept connections', 30_000, () => connect());
  const version = String((await probe.query('SHOW server_version')).rows[0].server_version);
  const sync = String((await probe.query('SHOW synchronous_commit')).rows[0].synchronous_commit);
  const fsync = String((await probe.query('SHOW fsync')).rows[0].fsync);
  await probe.end();
  if (sync !== 'on' || fsync !== 'on') throw new Error(`PostgreSQL durability settings not applied: synchronous_commit=${sync} fsync=${fsync}`);
  return {
    port,
    pid,
    version,
    dir,
    connect,
    async stop() {
      try {
        run(user, join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      } finally {
        removeDir(dir);
      }
    },
  };
}

function errText(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim().slice(-2000);
}
