/**
 * The machine under test: sparse image files with ext4 on them, attached to
 * loop devices and mounted, and the power cut itself (a copy of a device's
 * backing file). Everything created here is recorded, so it can be undone on
 * any exit — {@link Machine.cleanup} normally, {@link Machine.cleanupSync}
 * from a signal or exit handler.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

/** One ext4 file system: its image file, the loop device it is attached to, and where it is mounted. */
export interface Volume {
  /** Names the volume in messages and file names, e.g. `tso-3`. */
  readonly name: string;
  /** The loop device's backing file: exactly what the device received. */
  readonly image: string;
  /** `/dev/loopN`. */
  readonly loop: string;
  readonly mountPoint: string;
  /** The servers' `--data` directory on this file system (created by the server, not here). */
  readonly dataDir: string;
}

/** How one image copy went. */
export interface CopyResult {
  /** Copies made until one was taken while the device received nothing (1 = the first). */
  attempts: number;
  /** false: the device kept receiving writes during every attempt (the last copy is used anyway). */
  quiet: boolean;
  ms: number;
}

/** Mount option that keeps ext4 from committing its journal on its own timer during a run (default 5 s). */
export const MOUNT_OPTIONS = 'commit=60';

/** The programs this tool runs (looked up on PATH and in the sbin directories). */
export const REQUIRED_PROGRAMS = ['mkfs.ext4', 'losetup', 'mount', 'umount', 'cp'] as const;

const SEARCH_DIRS = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** Absolute path of `program`, or undefined if it is nowhere on PATH or in the sbin directories. */
export function findProgram(program: string): string | undefined {
  for (const dir of SEARCH_DIRS) {
    const p = join(dir, program);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Why real power cuts cannot run here, or undefined if they can: they need
 * Linux, root, the programs above and a loop device (`losetup -f` finds a free one).
 */
export function unavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (losetup and mount)';
  const missing = REQUIRED_PROGRAMS.filter((p) => findProgram(p) === undefined);
  if (missing.length > 0) return `missing program(s): ${missing.join(', ')}`;
  if (!existsSync('/dev/loop-control') && !existsSync('/dev/loop0')) return 'no loop devices (/dev/loop-control, /dev/loop0)';
  try {
    const free = execFileSync(findProgram('losetup')!, ['-f'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    if (!free.startsWith('/dev/loop')) return `losetup -f found no free loop device (${free})`;
  } catch (err) {
    return `losetup -f failed: ${firstLine(err)}`;
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  const text = (e.stderr !== undefined && String(e.stderr).trim() !== '' ? String(e.stderr) : e.message) ?? String(err);
  return text.trim().split('\n')[0] ?? '';
}

/** Run a program to its end; rejects with its stderr after `timeoutMs` or on a non-zero exit. */
export function run(program: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const path = findProgram(program) ?? program;
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${program} ${args.join(' ')} failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

function runSync(program: string, args: string[], timeoutMs = 30_000): void {
  execFileSync(findProgram(program) ?? program, args, { timeout: timeoutMs, stdio: ['ignore', 'ignore', 'pipe'] });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The loop device's I/O counters that change when it receives anything (block/stat fields). */
interface DeviceIo {
  writes: string;
  inFlight: number;
}

function deviceIo(loop: string): DeviceIo {
  const f = readFileSync(`/sys/block/${basename(loop)}/stat`, 'utf8').trim().split(/\s+/);
  // writes: ios, merges, sectors (4-6); in_flight (8); discards (11, 13); flushes (15).
  const writes = [f[4], f[5], f[6], f[11], f[13], f[15]].join(',');
  return { writes, inFlight: Number(f[8] ?? 0) };
}

/** Is every thread of `pid` stopped (state T/t), or gone? Threads inside a system call stop only when it returns. */
export function allThreadsStopped(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "tid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== 'T' && state !== 't' && state !== 'Z' && state !== 'X') return false;
  }
  return true;
}

/** Does `pid` still exist as a live process (not a zombie)? */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Everything one run creates on this machine: a temporary directory holding
 * the images and mount points, the loop devices attached and the mounts made
 * (in that order undone), and the server pids to kill first.
 */
export class Machine {
  private readonly loops = new Set<string>();
  private readonly mounts = new Set<string>();
  private readonly pids = new Set<number>();
  private cleaned = false;

  private constructor(readonly dir: string) {}

  /** A fresh temporary directory under `parent` (default: the OS temp dir). */
  static create(parent = tmpdir()): Machine {
    return new Machine(mkdtempSync(join(parent, 'pharaoh-powercut-')));
  }

  /** Remember a server pid: cleanup SIGKILLs it (by pid) before unmounting. */
  trackPid(pid: number): void {
    this.pids.add(pid);
  }

  untrackPid(pid: number): void {
    this.pids.delete(pid);
  }

  /** SIGKILL every tracked pid at once (a stopped process dies too). Used on abort, so pending waits end. */
  killTracked(): void {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** A new sparse image of `sizeMiB` MiB with a fresh ext4, attached and mounted. */
  async createVolume(name: string, sizeMiB: number): Promise<Volume> {
    const image = join(this.dir, `${name}.img`);
    const fh = await open(image, 'wx');
    try {
      await fh.truncate(sizeMiB * 1024 * 1024);
    } finally {
      await fh.close();
    }
    // Initialise inode tables and the journal now: with lazy init a kernel
    // thread would keep writing to the device in the background during the run.
    await run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image], 60_000);
    return this.attach(name, image);
  }

  /** Attach `image` to a free loop device and mount it (a copied image's journal is replayed by this mount). */
  async attach(name: string, image: string): Promise<Volume> {
    const loop = (await run('losetup', ['-f', '--show', image])).trim();
    if (!loop.startsWith('/dev/loop')) throw new Error(`losetup -f --show ${image} printed ${JSON.stringify(loop)}`);
    this.loops.add(loop);
    const mountPoint = join(this.dir, `${name}.mnt`);
    mkdirSync(mountPoint, { recursive: true });
    try {
      await run('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, loop, mountPoint], 60_000);
    } catch (err) {
      await this.detach(loop);
      throw err;
    }
    this.mounts.add(mountPoint);
    return { name, image, loop, mountPoint, dataDir: join(mountPoint, 'data') };
  }

  /**
   * The power cut's copy: `vol`'s backing file as the device has received it
   * (no sync of any kind: dirty pages of the mounted file system that were not
   * written back are not in it). The copy counts only if the device received
   * nothing while it was made (its write/flush counters did not move and no
   * request was in flight), so it is one instant of the device; otherwise it
   * is made again (at most `maxAttempts` times).
   */
  async copyImage(vol: Volume, dest: string, maxAttempts = 20): Promise<CopyResult> {
    const start = performance.now();
    for (let attempt = 1; ; attempt++) {
      const before = deviceIo(vol.loop);
      if (before.inFlight === 0) {
        await rm(dest, { force: true });
        await run('cp', ['--sparse=always', vol.image, dest], 120_000);
        const after = deviceIo(vol.loop);
        if (after.writes === before.writes && after.inFlight === 0) return { attempts: attempt, quiet: true, ms: performance.now() - start };
      }
      if (attempt >= maxAttempts) {
        if (!existsSync(dest)) await run('cp', ['--sparse=always', vol.image, dest], 120_000);
        return { attempts: attempt, quiet: false, ms: performance.now() - start };
      }
      await sleep(50);
    }
  }

  /** Unmount (retrying while busy), detach and (by default) delete the image. */
  async destroy(vol: Volume, removeImage = true): Promise<void> {
    await this.unmount(vol.mountPoint);
    await this.detach(vol.loop);
    if (removeImage) await rm(vol.image, { force: true });
  }

  private async unmount(mountPoint: string): Promise<void> {
    if (!this.mounts.has(mountPoint)) return;
    let last: unknown;
    for (let i = 0; i < 50; i++) {
      try {
        await run('umount', [mountPoint]);
        this.mounts.delete(mountPoint);
        await rmdir(mountPoint).catch(() => undefined);
        return;
      } catch (err) {
        last = err;
        await sleep(100);
      }
    }
    throw last;
  }

  private async detach(loop: string): Promise<void> {
    if (!this.loops.has(loop)) return;
    await run('losetup', ['-d', loop]);
    this.loops.delete(loop);
  }

  /** Kill tracked pids, unmount, detach, remove the directory. Errors are collected, not thrown: everything is tried. */
  async cleanup(): Promise<string[]> {
    if (this.cleaned) return [];
    const problems: string[] = [];
    this.killTracked();
    for (const pid of this.pids) {
      for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
      if (alive(pid)) problems.push(`pid ${pid} still alive after SIGKILL`);
    }
    for (const m of [...this.mounts]) {
      try {
        await this.unmount(m);
      } catch (err) {
        problems.push(firstLine(err));
        try {
          await run('umount', ['-l', m]);
          this.mounts.delete(m);
        } catch (lazyErr) {
          problems.push(firstLine(lazyErr));
        }
      }
    }
    for (const l of [...this.loops]) {
      try {
        await this.detach(l);
      } catch (err) {
        problems.push(firstLine(err));
      }
    }
    this.removeDir(problems);
    this.cleaned = true;
    return problems;
  }

  /** The same, synchronously: for a second Ctrl-C or the process's exit handler. */
  cleanupSync(): string[] {
    if (this.cleaned) return [];
    const problems: string[] = [];
    this.killTracked();
    for (const pid of this.pids) for (let i = 0; i < 100 && alive(pid); i++) sleepSync(50);
    for (const m of [...this.mounts]) {
      let done = false;
      for (let i = 0; i < 20 && !done; i++) {
        try {
          runSync('umount', [m]);
          done = true;
        } catch {
          sleepSync(100);
        }
      }
      if (!done) {
        try {
          runSync('umount', ['-l', m]);
          done = true;
        } catch (err) {
          problems.push(firstLine(err));
        }
      }
      if (done) this.mounts.delete(m);
    }
    for (const l of [...this.loops]) {
      try {
        runSync('losetup', ['-d', l]);
        this.loops.delete(l);
      } catch (err) {
        problems.push(firstLine(err));
      }
    }
    this.removeDir(problems);
    this.cleaned = true;
    return problems;
  }

  private removeDir(problems: string[]): void {
    // Never recurse into a file system that is still mounted.
    if (this.mounts.size > 0) {
      problems.push(`kept ${this.dir}: still mounted: ${[...this.mounts].join(', ')}`);
      return;
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      problems.push(firstLine(err));
    }
  }

  /** What is still attached or mounted (for messages). */
  leftovers(): { loops: string[]; mounts: string[]; pids: number[] } {
    return { loops: [...this.loops], mounts: [...this.mounts], pids: [...this.pids] };
  }
}
