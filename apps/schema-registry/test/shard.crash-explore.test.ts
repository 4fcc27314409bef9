/**
 * Seeded crash exploration of a whole schema-registry shard open (identity,
 * bound, generator, journal replay with compaction, schema table) on the
 * crash simulator. Fault models: process death, power loss, and chains of
 * them (process death → restart → service → power loss, ...), striking at a
 * random file operation of a life (open and replay included) or after its
 * workload.
 * Invariants checked after every reopen, against every answer a live life
 * gave: no schema id is ever answered for two different (subject, version,
 * schema); an acknowledged registration is never lost (`schema.get` of its
 * id and the subject's version list still show it); the same schema
 * registered again gets the same id and version; a version number never
 * names two schemas, and a new version is above every version answered
 * before; the shard always reopens.
 * 10,000 schedules; a failure names the seed (replay: PHARAOH_CRASH_SEED=<seed>).
 */
import { describe, expect, it } from 'vitest';
import { exploreShardCrashes, type ShardLife } from '@pharaoh/server/testing';
import { schemaService, type SchemaShard } from '../src/service.js';
import { subjectsFor } from './helpers.js';

const SCHEDULES = Number(process.env['PHARAOH_CRASH_SCHEDULES'] ?? 10_000);
const SUBJECTS = subjectsFor(0, 3, 'crash-subject');
/** Four schemas per subject; each may be sent compact or pretty (the same canonical form). */
const SCHEMAS = [0, 1, 2, 3];
/** A doc string long enough that a few lives' records pass the 4 KiB compaction size. */
const DOC = 'x'.repeat(400);
const text = (n: number, pretty: boolean) => JSON.stringify({ type: 'record', name: `R${n}`, doc: DOC, fields: [{ name: 'id', type: 'long' }] }, null, pretty ? 2 : 0);

interface Answer {
  subject: string;
  schema: number;
  id: bigint;
  version: number;
}

/** What live lives answered, per schedule. */
interface Ledger {
  /** `${subject}/${schema}` → its answer. */
  bySchema: Map<string, Answer>;
  byId: Map<bigint, Answer>;
  /** `${subject}/${version}` → the schema it named. */
  byVersion: Map<string, number>;
  /** Highest version answered per subject before the current life. */
  floor: Map<string, number>;
  high: Map<string, number>;
}

const ledgers = new WeakMap<object, Ledger>();
function ledgerOf(life: ShardLife<SchemaShard>): Ledger {
  let l = ledgers.get(life.schedule);
  if (l === undefined) {
    l = { bySchema: new Map(), byId: new Map(), byVersion: new Map(), floor: new Map(), high: new Map() };
    ledgers.set(life.schedule, l);
  }
  return l;
}

const fail = (life: ShardLife<SchemaShard>, what: string): never => {
  throw new Error(`life ${life.index}${life.final ? ' (after the last fault)' : ''}: ${what}`);
};

/**
 * Record one answer a live life gave, checking it against every answer before.
 * `existed`: the table held this id at this version before the call (a
 * registration made durable by an earlier life that crashed before answering
 * it: answering it now, at its old version, is right).
 */
function learn(life: ShardLife<SchemaShard>, a: Answer, existed = false): void {
  const l = ledgerOf(life);
  const key = `${a.subject}/${a.schema}`;
  const before = l.bySchema.get(key);
  if (before !== undefined && (before.id !== a.id || before.version !== a.version)) {
    fail(life, `${key} answered id ${a.id} v${a.version}, answered id ${before.id} v${before.version} before`);
  }
  const owner = l.byId.get(a.id);
  if (owner !== undefined && (owner.subject !== a.subject || owner.schema !== a.schema)) fail(life, `id ${a.id} reissued: ${owner.subject}/${owner.schema} and ${key}`);
  const named = l.byVersion.get(`${a.subject}/${a.version}`);
  if (named !== undefined && named !== a.schema) fail(life, `${a.subject} v${a.version} names schema ${named} and ${a.schema}`);
  if (before === undefined && !existed && a.version <= (l.floor.get(a.subject) ?? 0)) {
    fail(life, `${key} is new at v${a.version}, not above v${l.floor.get(a.subject)} answered before a fault`);
  }
  l.bySchema.set(key, a);
  l.byId.set(a.id, a);
  l.byVersion.set(`${a.subject}/${a.version}`, a.schema);
  l.high.set(a.subject, Math.max(l.high.get(a.subject) ?? 0, a.version));
}

async function register(life: ShardLife<SchemaShard>, subject: string, schema: number, pretty: boolean): Promise<void> {
  const table = life.handle.state.table;
  let held: Array<{ schemaId: bigint; version: number }> = [];
  try {
    held = table.versions(subject).versions;
  } catch {
    // a subject the table does not know yet
  }
  const r = await table.register(subject, text(schema, pretty), 'AVRO');
  if (life.alive()) learn(life, { subject, schema, id: r.schemaId, version: r.version }, held.some((v) => v.schemaId === r.schemaId && v.version === r.version));
}

/** Everything answered before is still there, by id and in its subject's version list. */
function checkKept(life: ShardLife<SchemaShard>): void {
  const table = life.handle.state.table;
  for (const a of ledgerOf(life).byId.values()) {
    const got = table.get(a.id);
    if (got.subject !== a.subject || got.version !== a.version || got.schema !== text(a.schema, false) && got.schema !== text(a.schema, true)) {
      fail(life, `id ${a.id} reads ${got.subject} v${got.version}, was ${a.subject}/${a.schema} v${a.version}`);
    }
    if (!table.versions(a.subject).versions.some((v) => v.schemaId === a.id && v.version === a.version)) fail(life, `${a.subject} v${a.version} (id ${a.id}) is missing from its versions`);
  }
}

describe('schema-registry shard: seeded crash exploration', () => {
  it('never loses an acknowledged schema nor reissues an id or version, under process death, power loss and their chains', { timeout: 900_000 }, async () => {
    expect(SUBJECTS).toHaveLength(3);
    const report = await exploreShardCrashes({
      def: schemaService,
      schedules: SCHEDULES,
      opsPerLife: 60,
      // A tiny compaction size, so lives also replay compacted journals (the snapshot must keep every schema).
      app: { compactAtBytes: 4096 },
      async check(life) {
        const l = ledgerOf(life);
        for (const [s, v] of l.high) l.floor.set(s, v);
        checkKept(life);
        // After the last fault: the same schemas register to the same ids, new ones above everything before.
        if (life.final) for (const a of [...l.bySchema.values()]) await register(life, a.subject, a.schema, true);
        if (life.final) await register(life, SUBJECTS[0]!, 100 + life.index, false);
      },
      async workload(life) {
        const rng = life.schedule.rng;
        const n = Math.floor(rng() * 6);
        await Promise.all(
          Array.from({ length: n }, () => register(life, SUBJECTS[Math.floor(rng() * SUBJECTS.length)]!, SCHEMAS[Math.floor(rng() * SCHEMAS.length)]!, rng() < 0.5)),
        );
        checkKept(life);
      },
    });
    expect(report.schedules).toBe(SCHEDULES);
    expect(report.powerLosses).toBeGreaterThan(SCHEDULES / 2);
  });
});
