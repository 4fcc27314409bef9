/** @pharaoh/powercut: real power cuts on ext4 on loop devices, checked against everything the clients were told. */
export { runPowercut, makeSchedule, formatSummary, formatCut, cleanupActiveSync, DEFAULT_OPTIONS } from './run.js';
export type { PowercutOptions, PowercutResult, CutReport, CutKind, ScheduledCut, ServiceSummary } from './run.js';
export { Machine, unavailableReason, findProgram, MOUNT_OPTIONS, REQUIRED_PROGRAMS } from './device.js';
export type { Volume, CopyResult } from './device.js';
export { IntervalSet, IdBook, VIOLATION_KINDS, zeroCounters } from './history.js';
export type { Counters, Violation, ViolationKind, Phase } from './history.js';
