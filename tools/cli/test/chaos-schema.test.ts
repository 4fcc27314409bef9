import { describe, expect, it } from 'vitest';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import { runChecks, type CheckInput } from '../src/chaos/check.js';
import type { ChaosPlugin, PluginEvent } from '../src/chaos/services/plugin.js';
import { schemaRegistryPlugin } from '../src/chaos/services/schema-registry.js';

const sid = (time: number, shard = 0) => SCHEMA_LAYOUT.encode({ time, shard, seq: 0 }).toString();
const at = (w: number, s: number, r: number) => ({ w, s, r, ls: s * 10, lr: r * 10 + 1 });
const reg = (subj: string, n: number, id: string, v: number, fresh: boolean, s: number, r: number): PluginEvent => ({
  k: 'schr', svc: 'schema-registry', subj, n, id, v, fresh, ...at(0, s, r),
});
const text = (n: number) => JSON.stringify({ type: 'record', name: `R${n}` });

type Final = Parameters<NonNullable<typeof schemaRegistryPlugin.check>>[0]['final'];

/** What the fleet answers after the run when every registration in `events` survived. */
function survived(events: PluginEvent[]): NonNullable<Final> {
  const byId = new Map();
  const versions = new Map<string, Array<{ version: number; schemaId: string }>>();
  for (const e of events) {
    if (e.k !== 'schr' || byId.has(e.id)) continue;
    byId.set(e.id, { subject: e.subj, version: e.v, schema: text(e.n as number) });
    const list = versions.get(e.subj as string) ?? versions.set(e.subj as string, []).get(e.subj as string)!;
    list.push({ version: e.v as number, schemaId: e.id as string });
  }
  return { byId, versions };
}

function run(events: PluginEvent[], final: Final = survived(events)) {
  const input: CheckInput = {
    events: [], harness: [], finalTx: new Map(), finalSessions: new Map(),
    owners: { 'schema-registry': new Map([[0, 'schema-registry:1']]) },
    plugins: [{ plugin: schemaRegistryPlugin as ChaosPlugin, events, final }],
  };
  return runChecks(input);
}

describe('the schema-registry chaos plug-in', () => {
  it('passes a clean history with repeats, counting schemas and fresh ids', () => {
    const events = [reg('a', 0, sid(10), 1, true, 1, 2), reg('a', 1, sid(20), 2, true, 3, 4), reg('a', 0, sid(10), 1, false, 5, 6)];
    const r = run(events);
    expect(r.violations).toEqual([]);
    expect(r.stats.services['schema-registry']).toMatchObject({ 'IDs checked': 2, registrations: 3, schemas: 2, repeats: 1, 'read back': 2 });
  });

  it('catches one schema answered with two ids, and one id answered for two schemas', () => {
    const two = run([reg('a', 0, sid(10), 1, true, 1, 2), reg('a', 0, sid(20), 2, false, 3, 4)]);
    expect(two.violations.map((v) => v.check)).toContain('schema-same');
    const shared = run([reg('a', 0, sid(10), 1, true, 1, 2), reg('b', 0, sid(10), 1, true, 3, 4)]);
    expect(shared.violations.map((v) => v.check)).toEqual(expect.arrayContaining(['schema-id', 'unique']));
  });

  it('catches a version that names two schemas, and a later schema that did not get a higher version', () => {
    const r = run([reg('a', 0, sid(10), 3, true, 1, 2), reg('a', 1, sid(20), 3, true, 3, 4)]);
    expect(r.violations.map((v) => v.check)).toEqual(['schema-version', 'schema-version']);
    const lower = run([reg('a', 0, sid(10), 3, true, 1, 2), reg('a', 1, sid(20), 2, true, 3, 4)]);
    expect(lower.violations.map((v) => v.check)).toEqual(['schema-version']);
  });

  it('catches an acknowledged registration that does not read back after the run', () => {
    const events = [reg('a', 0, sid(10), 1, true, 1, 2), reg('a', 1, sid(20), 2, true, 3, 4)];
    const final = survived(events.slice(0, 1));
    const r = run(events, final);
    expect(r.violations.map((v) => v.check)).toEqual(['schema-lost', 'schema-lost']);
  });

  it('leaves repeats out of the per-shard order checks: an old id answered late is no regression', () => {
    const r = run([reg('a', 0, sid(10), 1, true, 1, 2), reg('b', 0, sid(20), 1, true, 3, 4), reg('a', 0, sid(10), 1, false, 5, 6)]);
    expect(r.violations).toEqual([]);
  });
});
