/**
 * Small durable-file recipes on top of a FileSystem, shared by every package
 * so each is written (and crash-tested) once.
 */
import { posix } from 'node:path';
import { errnoCode, type FileHandle, type FileSystem } from './file-system.js';

/**
 * `mkdir -p` whose result survives a power cut: every directory it creates
 * has its parent fsynced before this resolves, and so does the deepest one
 * that already existed (`dir` itself if it exists): a process that died
 * between its `mkdir` and that fsync left the entry in the page cache only,
 * and a power cut would take it, with everything below it, away. Resolves
 * true if `dir` itself was created. Rejects ENOTDIR/EEXIST if a part of the
 * path is a file.
 */
export async function ensureDirDurable(fs: FileSystem, dir: string): Promise<boolean> {
  const missing: string[] = [];
  for (let d = posix.normalize(dir); ; d = posix.dirname(d)) {
    const st = await fs.stat(d);
    if (st !== undefined) {
      if (!st.isDirectory) throw Object.assign(new Error(`${d} exists and is not a directory`), { code: 'ENOTDIR', path: d });
      // Before anything is created below it: a level made under an entry
      // that a power cut can still take away would go with it.
      await fs.syncDir(posix.dirname(d));
      break;
    }
    missing.push(d);
    if (posix.dirname(d) === d) break;
  }
  let created = false;
  for (const d of missing.reverse()) {
    created = await fs.mkdir(d);
    await fs.syncDir(posix.dirname(d));
  }
  return created && missing.length > 0;
}

/**
 * The whole content of an open regular file, read from position 0 without
 * asking its size first: a small file (an identity) costs one pread, not an
 * fstat and a pread — 1,024 fewer syscalls on a 1024-shard start. A read that
 * returns fewer bytes than asked is the end of the file (pread of a regular
 * file returns short only there); a full one doubles the buffer and reads on.
 */
export async function readAll(h: FileHandle, firstRead = 4096): Promise<Buffer> {
  let buf = Buffer.alloc(firstRead);
  let got = 0;
  for (;;) {
    const want = buf.length - got;
    const n = await h.read(got === 0 ? buf : buf.subarray(got), want, got);
    if (n <= 0) break;
    got += n;
    if (n < want) break;
    const bigger = Buffer.alloc(buf.length * 2);
    buf.copy(bigger, 0, 0, got);
    buf = bigger;
  }
  return buf.subarray(0, got);
}

/**
 * Open (creating if needed) the file `path` and take its exclusive lock.
 * Resolves the locked handle, or undefined (handle closed) if another holder
 * has the lock. A created file's entry is not synced here.
 */
export async function openLocked(fs: FileSystem, path: string): Promise<FileHandle | undefined> {
  const h = await fs.open(path, { create: true });
  let locked = false;
  try {
    locked = await h.tryLock();
  } finally {
    if (!locked) await h.close().catch(() => undefined);
  }
  return locked ? h : undefined;
}

/** `unlink` that treats a missing file as done. */
export async function unlinkIfExists(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.unlink(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}
