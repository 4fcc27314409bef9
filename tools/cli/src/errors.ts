/**
 * Errors of the pharaoh CLI. Each carries a stable `code`; `main.ts` prints
 * the message (never a stack) and exits with status 1 (2 for usage errors).
 */
export const CLI_ERROR_CODES = {
  /** The fleet file is not valid JSON or does not match the schema. */
  FLEET_INVALID: 'FLEET_INVALID',
  /** Two endpoints of one service claim the same shard. */
  FLEET_OVERLAP: 'FLEET_OVERLAP',
  /** A port the fleet needs is taken by another process. */
  PORT_IN_USE: 'PORT_IN_USE',
  /** A data directory cannot be created or written. */
  DATA_DIR: 'DATA_DIR',
  /** A fleet process exited while starting (its own message is printed above). */
  START_FAILED: 'START_FAILED',
  /** `fleet up` found a live fleet already recorded in the pid file. */
  ALREADY_RUNNING: 'ALREADY_RUNNING',
  /** `fleet down` found no pid file / no live fleet. */
  NOT_RUNNING: 'NOT_RUNNING',
  /** A command-line value is malformed (an ID, a count, a service name). */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** No endpoint of the service a client command needs can be used (each one's reason is in the message). */
  UNREACHABLE: 'UNREACHABLE',
} as const;

export type CliErrorCode = (typeof CLI_ERROR_CODES)[keyof typeof CLI_ERROR_CODES];

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
