/**
 * Limits of the operator client commands, shared by the option parsers in
 * main.ts and the command functions (which tests and scripts call directly).
 */

/**
 * Most timestamps one `pharaoh ts` prints. A terminal tool, not a load
 * generator: a million lines is already more than anyone reads, and the
 * client fetches them in batches of at most the server's maxCount.
 */
export const TS_MAX_COUNT = 1_000_000;
