/**
 * The fleet's pid file, `<data>/fleet.pid.json`: lets `fleet down` and
 * `fleet status` find the supervisor and its children by pid (never by name).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE_NAME = 'fleet.pid.json';
export const LOG_FILE_NAME = 'fleet.log';

export interface PidFileChild {
  label: string;
  pid: number;
  endpoint: string;
}

export interface PidFileContent {
  /** The supervising `pharaoh fleet up` process. */
  pid: number;
  source: string;
  startedAt: string;
  /** True once every child answered its readiness probe. */
  ready: boolean;
  children: PidFileChild[];
}

export function pidFilePath(dataDir: string): string {
  return join(dataDir, PID_FILE_NAME);
}

/** Write atomically (rename), so a reader never sees half a file. */
export function writePidFile(dataDir: string, content: PidFileContent): void {
  const path = pidFilePath(dataDir);
  writeFileSync(`${path}.tmp`, JSON.stringify(content, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

export function readPidFile(dataDir: string): PidFileContent | undefined {
  try {
    return JSON.parse(readFileSync(pidFilePath(dataDir), 'utf8')) as PidFileContent;
  } catch {
    return undefined;
  }
}

export function removePidFile(dataDir: string): void {
  rmSync(pidFilePath(dataDir), { force: true });
}

/** Is `pid` a live process (signal 0 probes without signalling)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Is `pid` still a process of ours? A pid file outlives its processes, and the
 * kernel reuses pids: on Linux, check that every marker is part of some
 * argument of the process's command line before signalling. Elsewhere,
 * liveness is all we can check.
 */
export function isOurProcess(pid: number, markers: readonly string[]): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return false;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return markers.every((m) => args.some((a) => a.includes(m)));
  } catch {
    return process.platform !== 'linux';
  }
}

/** Command-line markers of a `pharaoh fleet up` supervisor. */
export const SUPERVISOR_MARKERS: readonly string[] = ['fleet', 'up'];
