/**
 * The command-line main of a root-only fault tool (`npm run powercut`,
 * `npm run hosts`): parse the flags, refuse clearly where the machine cannot
 * run it, stop cleanly on the first SIGINT/SIGTERM and by force on a second,
 * clean up on exit, print the summary, and exit with the tools' shared status:
 * 0 no violation, 1 violations, 2 the run failed or could not start, 130
 * interrupted.
 */

/** What every fault tool's run reports. */
export interface FaultRunResult {
  interrupted: boolean;
  violations: readonly unknown[];
  harnessErrors: readonly unknown[];
  cleanupProblems: readonly unknown[];
}

export interface FaultTool<O, R extends FaultRunResult> {
  /** Prefix of every line the tool writes (`powercut`, `hosts`). */
  name: string;
  help: string;
  /** The options, or 'help'; throws a message for bad flags. */
  parse(argv: string[]): O | 'help';
  /** Why this machine cannot run the tool, or undefined. */
  unavailableReason(): string | undefined;
  /** What the first signal starts, e.g. "stopping the servers and cleaning up". */
  stopping: string;
  /** Remove what a run left, synchronously (a second signal, or process exit); the problems found. */
  cleanupActiveSync(): string[];
  run(options: O, signal: AbortSignal): Promise<R>;
  formatSummary(result: R): string;
}

/** Run `tool` as this process's main and exit with its status. */
export function runFaultTool<O, R extends FaultRunResult>(tool: FaultTool<O, R>): void {
  faultToolMain(tool).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${tool.name}: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(2);
    },
  );
}

async function faultToolMain<O, R extends FaultRunResult>(tool: FaultTool<O, R>): Promise<number> {
  const { name } = tool;
  let opts: O | 'help';
  try {
    opts = tool.parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n\n${tool.help}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(tool.help);
    return 0;
  }
  const reason = tool.unavailableReason();
  if (reason !== undefined) {
    process.stderr.write(`${name}: cannot run here: ${reason}\n`);
    return 2;
  }
  const controller = new AbortController();
  let firstSignalAt: number | undefined;
  const cleanup = (): void => {
    for (const p of tool.cleanupActiveSync()) process.stderr.write(`${name}: cleanup: ${p}\n`);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    // Under `npm run` the terminal's Ctrl-C reaches this process both directly
    // and relayed by the tsx wrapper: a repeat within 2 s is the same one.
    const now = Date.now();
    if (firstSignalAt !== undefined && now - firstSignalAt < 2_000) return;
    if (firstSignalAt === undefined) {
      firstSignalAt = now;
      process.stderr.write(`\n${name}: ${sig}: ${tool.stopping} (again to force)\n`);
      controller.abort(new Error(`interrupted by ${sig}`));
      return;
    }
    cleanup();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanup);
  const result = await tool.run(opts, controller.signal);
  console.log(tool.formatSummary(result));
  if (result.interrupted) return 130;
  if (result.violations.length > 0) return 1;
  if (result.harnessErrors.length > 0 || result.cleanupProblems.length > 0) return 2;
  return 0;
}
