export { Obelisk } from './obelisk.js';
export type { DurableBound, Range } from './obelisk.js';
export { ObeliskError } from './errors.js';
export type { ObeliskErrorCode } from './errors.js';
export { DEFAULT_MAX_FILE_SIZE, MAX_VALUE, parseOptions } from './options.js';
export type { ObeliskOptions, SyncInfo } from './options.js';
