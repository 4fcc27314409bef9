export { errnoCode, processView, FILE_OPS } from './file-system.js';
export type { FileHandle, FileOp, FileStat, FileSystem, OpenOptions } from './file-system.js';
export { nodeFileSystem } from './node-fs.js';
export { ensureDirDurable, openLocked, readAll, unlinkIfExists } from './durable.js';
