export { Obelisk } from './obelisk.js';
export type { DurableBound } from './obelisk.js';
export type { Range } from './round.js';
export { ObeliskError } from './errors.js';
export type { ObeliskErrorCode } from './errors.js';
export { DEFAULT_MAX_FILE_SIZE, DEFAULT_RESERVE_AHEAD, MAX_VALUE, parseOptions } from './options.js';
export type { ObeliskOptions, SyncInfo } from './options.js';
