/** Test doubles of the storage layer: not part of the production entry. */
export { SimulatedFs, SimError } from './simulated-fs.js';
export type { CrashKind, Fault, SimulatedFsOptions } from './simulated-fs.js';
export { mulberry32 } from './random.js';
export { exploreSchedules } from './explore.js';
export type { ExploreOptions, ExploreReport, Schedule } from './explore.js';
