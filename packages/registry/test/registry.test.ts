import { describe, expect, it } from 'vitest';
import type { OpSpec } from '@pharaoh/protocol';
import { defineLayout } from '@pharaoh/snowflake';
import { defineService, GROUP_COORD, REGISTRY, Registry, RegistryError, SCHEMA_REGISTRY, SEQUENCER, serviceTable, SESSION_MGR, TSO, TXCOORD } from '../src/index.js';

const LAYOUT = defineLayout({ name: 'z', timeBits: 42, shardBits: 10, seqBits: 12 });
const FRESH: OpSpec = { fields: [['shard', 'shard', false]], result: { zId: 'id' }, route: 'shard', issues: 1 };
const entry = (over: Record<string, unknown> = {}, ops: Record<string, OpSpec> = { 'z.get': FRESH }) =>
  ({ name: 'zeta', title: 'Zeta', layout: LAYOUT, ports: { ws: 7800, http: 7801 }, shardsPerPod: 512, pods: { cpu: '500m', storage: '1Gi', storageWhy: 'test' }, ops, ...over }) as Parameters<typeof defineService>[0];

describe('the production registry', () => {
  it('lists tso, txcoord, session-mgr, group-coord, schema-registry and sequencer, in that order, each with its own layout', () => {
    expect(REGISTRY.names).toEqual(['tso', 'txcoord', 'session-mgr', 'group-coord', 'schema-registry', 'sequencer']);
    expect(REGISTRY.services).toEqual([TSO, TXCOORD, SESSION_MGR, GROUP_COORD, SCHEMA_REGISTRY, SEQUENCER]);
    expect(new Set(REGISTRY.services.map((s) => s.layout.name)).size).toBe(REGISTRY.services.length);
  });

  it('finds a service by name and an op by name, and names the known services when asked for another', () => {
    expect(REGISTRY.get('txcoord')).toBe(TXCOORD);
    expect(REGISTRY.findOp('session.validate')?.service).toBe(SESSION_MGR);
    expect(REGISTRY.findOp('nope.op')).toBeUndefined();
    expect(() => REGISTRY.get('tsx')).toThrow(/unknown service "tsx": expected one of tso, txcoord, session-mgr, group-coord, schema-registry, sequencer/);
  });

  it('renders the docs table from the entries', () => {
    const t = serviceTable(REGISTRY).split('\n');
    expect(t).toHaveLength(2 + REGISTRY.services.length);
    expect(t[2]).toContain('| `tso` | Timestamp Oracle | tso: 41 time \\| 10 shard \\| 13 seq | 7100 / 7101 | 256 | `ts.get` → shard (fresh ID) |');
    expect(t[3]).toContain('`tx.commit` → shard of `txId`');
    // A shard-routed op that issues no ID is routed by its key.
    expect(t[5]).toContain('`group.commitOffsets` → shard (by key)');
    expect(t[6]).toContain('`schema.register` → shard (fresh ID)<br>`schema.get` → shard of `schemaId`<br>`schema.versions` → shard (by key)');
  });
});

describe('defineService', () => {
  it('accepts a well-formed entry', () => {
    expect(defineService(entry()).name).toBe('zeta');
  });

  it.each([
    [{ name: 'Zeta' }, /DNS label/],
    [{ name: 'z' }, /DNS label/],
    [{ ports: { ws: 0, http: 1 } }, /port 0/],
    [{ ports: { ws: 7800, http: 7800 } }, /must differ/],
    [{ shardsPerPod: 0 }, /shardsPerPod/],
    [{ pods: { cpu: 'lots', storage: '1Gi', storageWhy: '' } }, /pods.cpu/],
    [{ pods: { cpu: '1', storage: '10GB', storageWhy: '' } }, /pods.storage/],
  ])('refuses a bad entry (%o)', (over, says) => {
    expect(() => defineService(entry(over))).toThrow(says);
  });

  it.each([
    ['ping', FRESH, /is the host's/],
    ['zget', FRESH, /<area>.<verb>/],
    ['z.get', { ...FRESH, fields: [['shard', 'shard', true]] }, /no required shard field/],
    ['z.get', { ...FRESH, route: { id: 'zId' } }, /not a required id field/],
    ['z.get', { ...FRESH, fields: [['shard', 'shard', false], ['id', 'id', true]] }, /field id is the envelope's/],
    ['z.get', { ...FRESH, issues: 'zId' }, /not a uint answer field/],
  ] as Array<[string, OpSpec, RegExp]>)('refuses a bad op (%s)', (name, op, says) => {
    expect(() => defineService(entry({}, { [name]: op }))).toThrow(says);
  });

  it('refuses an entry without ops', () => {
    expect(() => defineService(entry({}, {}))).toThrow(RegistryError);
  });
});

describe('Registry.with', () => {
  it('adds a service, keeping the others and their order', () => {
    const more = REGISTRY.with(defineService(entry()));
    expect(more.names).toEqual([...REGISTRY.names, 'zeta']);
    expect(REGISTRY.names).not.toContain('zeta');
  });

  it('refuses a second service with a taken name, port or op name', () => {
    expect(() => REGISTRY.with(defineService(entry({ name: 'tso' })))).toThrow(/two services are named tso/);
    expect(() => REGISTRY.with(defineService(entry({ ports: { ws: 7100, http: 7899 } })))).toThrow(/zeta and tso both use port 7100/);
    expect(() => REGISTRY.with(defineService(entry({}, { 'ts.get': FRESH })))).toThrow(/zeta and tso both define op ts.get/);
    expect(() => new Registry([TSO, TSO])).toThrow(RegistryError);
  });
});
