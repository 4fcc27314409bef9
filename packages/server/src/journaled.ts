/**
 * The journaled-shard kit: what every coordinator that keeps state in a
 * journal shares, so txcoord and session-mgr (and the next one) are a state
 * table, its record types and a definition. The kit owns:
 * - options: one table of integer options per service, from which its
 *   command-line flags, environment variables and its validating parser are derived;
 * - the journal: one per shard in `<shard dir>/journal/` on the shard's file
 *   system, replayed through the table before the shard serves, compacted
 *   into the table's snapshot, required to exist once the shard has served,
 *   written anew when a failed shard reopens, its syncs and size in /metrics;
 * - the sweep timer: the table's `sweep` every `sweepIntervalMs` (a failed
 *   sweep fails the shard), stopped before the table closes;
 * - record checks: a failed one is a `BAD_RECORD` naming the service.
 */
import { openShardJournal, type Journal } from '@pharaoh/journal';
import type { ServiceSpec } from '@pharaoh/registry';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';
import type { CliOption, Handlers, ServiceDefinition, ShardContext, ShardStats } from './types.js';

/** One integer option of a service: its flag, environment variable, default and bounds. */
export interface IntOption {
  /** Commander flags, e.g. `--max-open-tx <n>`; the `ServerOptions.app` key is its camelCase name (`maxOpenTx`). */
  flag: string;
  env: string;
  description: string;
  default: number;
  min: number;
  max: number;
}

/** A service's options: the flags to add to its command line, and the one parser. */
export interface OptionTable<T> {
  cli: CliOption[];
  /** Fill defaults, refuse nonsense (ServerError BAD_OPTIONS naming the option and its flag). */
  parse(app?: Record<string, unknown>): T;
}

/** `--max-open-tx <n>` → `maxOpenTx` (commander's attribute name). */
function appKey(flag: string): string {
  const long = /--([a-z][a-z0-9-]*)/.exec(flag)?.[1] ?? flag;
  return long.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Read one integer option: a number from code or a decimal string from the
 * command line or the environment; absent, nil or '' → its default.
 */
function readInt(key: string, o: IntOption, v: unknown): number {
  if (v === undefined || v === null || v === '') return o.default;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < o.min || n > o.max) {
    const flag = o.flag.split(' ')[0];
    throw new ServerError(SERVER_ERROR_CODES.BAD_OPTIONS, `${key} (${flag}) must be an integer in [${o.min}, ${o.max}], got ${String(v)}`);
  }
  return n;
}

/** Declare a service's integer options once; the parsed object has the table's keys. */
export function intOptions<const T extends Record<string, IntOption>>(table: T): OptionTable<{ [K in keyof T]: number }> {
  const rows = Object.entries(table);
  return {
    cli: rows.map(([, o]) => ({ flags: o.flag, env: o.env, description: `${o.description} (default ${o.default})` })),
    parse(app = {}) {
      const out: Record<string, number> = {};
      for (const [name, o] of rows) out[name] = readInt(appKey(o.flag), o, app[appKey(o.flag)]);
      return out as { [K in keyof T]: number };
    },
  };
}

/** How often a journaled service sweeps its table by default (expiry, forgetting). */
export const DEFAULT_SWEEP_INTERVAL_MS = 1_000;
/** The journal is compacted (rewritten as the table's snapshot) when it reaches this size. */
export const DEFAULT_COMPACT_AT_BYTES = 16 * 1024 * 1024;

/** The options every journaled service has; `envPrefix` e.g. `PHARAOH_TX`. */
export function journalOptions(envPrefix: string) {
  return {
    sweepIntervalMs: { flag: '--sweep-interval-ms <ms>', env: `${envPrefix}_SWEEP_INTERVAL_MS`, description: 'expiry sweep period', default: DEFAULT_SWEEP_INTERVAL_MS, min: 10, max: 60_000 },
    compactAtBytes: { flag: '--compact-at-bytes <n>', env: `${envPrefix}_COMPACT_AT_BYTES`, description: 'journal size that triggers compaction', default: DEFAULT_COMPACT_AT_BYTES, min: 4096, max: 2 ** 40 },
  } as const satisfies Record<string, IntOption>;
}

export interface JournaledOptions {
  sweepIntervalMs: number;
  compactAtBytes: number;
}

/** What a table hands its journal at open: the replay callback and the compaction snapshot. */
export interface JournalHooks<R> {
  onRecord(rec: unknown): void;
  snapshot(): R[];
}

/** The part of @pharaoh/journal's Journal a table uses. `append` resolves once the record is durable. */
export interface TableJournal<R> {
  append(rec: R): Promise<void>;
  close(): Promise<void>;
}

/** What the kit asks of a state table: a periodic sweep and a close that waits for its journal. */
export interface JournaledTable {
  sweep(): Promise<unknown>;
  close(): Promise<void>;
  /**
   * Optional: close for a graceful shard move (ServiceDefinition.releaseShard):
   * as `close`, but first journal (durably) what the next holder of the
   * shard must find that a stop would not keep. Without it a release closes
   * the table as a stop does.
   */
  closeForMove?(): Promise<void>;
}

/** The per-shard state of a journaled service. */
export interface JournaledShard<T, O> {
  table: T;
  /** The shard's journal, for /metrics (the table owns it and closes it). */
  journal: Journal<unknown>;
  options: O;
}

export interface JournaledServiceParts<Spec extends ServiceSpec, T extends JournaledTable, R, O extends JournaledOptions> {
  spec: Spec;
  options: OptionTable<O>;
  /**
   * Open the shard's table: it must open its journal through `openJournal`
   * (which replays every record through `hooks.onRecord` before resolving)
   * before it asks the generator for any ID.
   */
  openTable(ctx: ShardContext<O>, openJournal: (hooks: JournalHooks<R>) => Promise<TableJournal<R>>): Promise<T>;
  handlers: Handlers<Spec, JournaledShard<T, O>, O>;
  /** The table's figures for /metrics (open transactions, live sessions); the kit adds the journal's. */
  stats?(table: T): Omit<ShardStats, 'journal'>;
}

/** A journaled coordinator as a ServiceDefinition: the kit opens, sweeps and closes its tables. */
export function defineJournaledService<Spec extends ServiceSpec, T extends JournaledTable, R, O extends JournaledOptions>(
  parts: JournaledServiceParts<Spec, T, R, O>,
): ServiceDefinition<Spec, JournaledShard<T, O>, O> {
  return {
    spec: parts.spec,
    cliOptions: parts.options.cli,
    parseOptions: (app) => parts.options.parse(app),
    async openShard(ctx) {
      const options = ctx.app;
      let journal: Journal<R> | undefined;
      const table = await parts.openTable(ctx, async (hooks) =>
        (journal = await openShardJournal<R>(ctx.dir, {
          onRecord: hooks.onRecord,
          snapshot: hooks.snapshot,
          compactAtBytes: options.compactAtBytes,
          logger: ctx.logger,
          fs: ctx.fs,
          // A shard that has issued IDs before must find its journal (presumed abort would lie otherwise).
          mustExist: ctx.servedBefore,
          // Reopened after a failed write-back: write what was replayed anew.
          rewrite: ctx.recovering,
          onSync: ctx.onJournalSync,
        })),
      );
      if (journal === undefined) throw new Error(`${parts.spec.name}: openTable must open the shard's journal`);
      ctx.every(options.sweepIntervalMs, () => table.sweep());
      return { table, journal: journal as Journal<unknown>, options };
    },
    stats: (state) => ({ ...parts.stats?.(state.table), journal: state.journal }),
    async closeShard(state) {
      await state.table.close();
    },
    async releaseShard(state) {
      await (state.table.closeForMove ? state.table.closeForMove() : state.table.close());
    },
    handlers: parts.handlers,
  };
}

/** Checks for replayed records: what msgpack hands back, refused with BAD_RECORD naming the service. */
export const records = {
  /** An ID field: a bigint, or a small one msgpack decoded as a number. */
  id(v: unknown): bigint | undefined {
    if (typeof v === 'bigint' && v >= 0n) return v;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    return undefined;
  },
  isUint: (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  isTime: (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v),
  /** The error for a record that is not one of `service`'s. */
  bad(service: string, rec: unknown): ServerError {
    let text: string;
    try {
      text = JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
      text = String(rec);
    }
    return new ServerError(SERVER_ERROR_CODES.BAD_RECORD, `not a ${service} journal record: ${String(text).slice(0, 200)}`);
  },
};
