/**
 * Help for `pharaoh serve`: the server's own command line (from
 * `@pharaoh/server`'s buildCommand), shown under the name the operator typed
 * (`pharaoh serve tso`, not the app's `pharaoh-tso`) and with every default,
 * including the ones the server leaves to its libraries (window, lead, limits).
 */
import type { Command } from 'commander';
import { buildCommand, DEFAULT_LIMITS, DEFAULT_SHUTDOWN_TIMEOUT_MS } from '@pharaoh/server';
import type { ServiceDefinition } from '@pharaoh/server';
import { DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_MAX_LEAD_MS, DEFAULT_WINDOW_MS } from '@pharaoh/snowflake';
import { REGISTRY, type Registry } from '@pharaoh/registry';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/**
 * Defaults of the server flags that declare none on the command line (an
 * absent flag lets the server or the ID generator pick), by commander attribute name.
 */
export const SERVE_FLAG_DEFAULTS: Readonly<Record<string, number>> = {
  windowMs: DEFAULT_WINDOW_MS,
  maxLeadMs: DEFAULT_MAX_LEAD_MS,
  maxClockSkewMs: DEFAULT_MAX_CLOCK_SKEW_MS,
  maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
  maxInFlight: DEFAULT_LIMITS.maxInFlight,
  maxCount: DEFAULT_LIMITS.maxCount,
  maxConnections: DEFAULT_LIMITS.maxConnections,
  idleTimeoutMs: DEFAULT_LIMITS.idleTimeoutMs,
  shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
};

/** True when `flags` ask for help (before a `--` that ends the options). */
export function wantsHelp(flags: readonly string[]): boolean {
  const end = flags.indexOf('--');
  return (end === -1 ? flags : flags.slice(0, end)).some((f) => f === '--help' || f === '-h');
}

/** The server's command for `def`, named `name`, its defaults filled in for display only (never used to parse). */
function helpCommand(def: ServiceDefinition, name: string): Command {
  const cmd = buildCommand(def).name(name);
  for (const opt of cmd.options) {
    const dflt = SERVE_FLAG_DEFAULTS[opt.attributeName()];
    // App flags (txcoord, session-mgr) say their default in the description already.
    if (opt.defaultValue === undefined && dflt !== undefined && !/\(default /.test(opt.description)) opt.default(dflt);
  }
  return cmd;
}

/** `pharaoh serve <service> --help`. */
export function serveHelp(def: ServiceDefinition): string {
  return helpCommand(def, `pharaoh serve ${def.spec.name}`).helpInformation();
}

/**
 * `pharaoh serve --help`: the flags every service takes (the shared part of the
 * server's command line: `def` with its own flags left out), and where to find the rest.
 */
export function serveOverviewHelp(anyDef: ServiceDefinition, registry: Registry = REGISTRY): string {
  const cmd = helpCommand({ ...anyDef, cliOptions: [] }, `pharaoh serve <${registry.names.join('|')}>`)
    .description('run one shard host in this process (what fleet up and the containers run); every flag can also be set by its PHARAOH_* variable');
  return (
    cmd.helpInformation() +
    `\nA service may take flags of its own: pharaoh serve <service> --help (e.g. pharaoh serve txcoord --help)\n`
  );
}

/**
 * Parse `flags` as the server will, before starting it, so that a mistake
 * reads like every other CLI error: `pharaoh: unknown option '--bogus'` and
 * where the flags are listed (the server's own parser prints a bare `error: …`).
 */
export function checkServeFlags(def: ServiceDefinition, flags: readonly string[]): void {
  const cmd = buildCommand(def)
    .name(`pharaoh serve ${def.spec.name}`)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} });
  try {
    cmd.parse([...flags], { from: 'user' });
  } catch (err) {
    const message = (err as Error).message.replace(/^error: /, '');
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `${message}\n(pharaoh serve ${def.spec.name} --help lists the flags and their defaults)`, { cause: err });
  }
}
