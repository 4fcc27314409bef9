export { AppExitedError, DEFAULT_START_TIMEOUT_MS, killAll, parseListening, REPO_ROOT, runToExit, startApp, stopApp, tempDir } from './spawn.js';
export type { ExitStatus, Listening, RunningApp, RunResult, StartAppOptions } from './spawn.js';
export { RawClient } from './raw-client.js';
export { DropProxy } from './drop-proxy.js';
export type { DroppedAnswer } from './drop-proxy.js';
export { DataDirApp } from './data-dir-app.js';
export { TestScope } from './scope.js';
export { runFaultTool } from './fault-tool.js';
export type { FaultRunResult, FaultTool } from './fault-tool.js';
export type { RawConnectOptions, Res } from './raw-client.js';
export { codeOf, FakeClock, FakeIds, SimDisk } from './fakes.js';
// One seeded PRNG for the whole repo: the storage layer's, re-exported for tests.
export { mulberry32 } from '@pharaoh/storage';
