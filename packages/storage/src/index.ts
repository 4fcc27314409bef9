export { errnoCode, processView, FILE_OPS } from './file-system.js';
export { errorKind } from './error-kind.js';
export type { ErrorKind } from './error-kind.js';
export type { FileHandle, FileOp, FileStat, FileSystem, OpenOptions } from './file-system.js';
export { nodeFileSystem } from './node-fs.js';
export { ensureDirDurable, openLocked, readAll, unlinkIfExists } from './durable.js';
// A seeded PRNG: crash tools (the chaos test, the simulator) replay a run from its seed.
export { mulberry32 } from './random.js';
