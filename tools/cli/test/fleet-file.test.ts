import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { GROUP_COORD, SCHEMA_REGISTRY, SEQUENCER, SESSION_MGR, TSO, TXCOORD } from '@pharaoh/registry';
import { defaultFleetFile, loadFleet, parseFleet, uncoveredShards } from '../src/fleet-file.js';

const opts = { source: 'fleet.json', baseDir: '/srv/pharaoh' };

function member(port: number, shards: string, extra: Record<string, unknown> = {}) {
  return { endpoint: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port + 1}`, shards, ...extra };
}

function errorOf(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('expected an error');
}

describe('fleet file', () => {
  it('accepts a split fleet and resolves ports, shards and data directories', () => {
    const fleet = parseFleet(
      {
        data: 'var',
        services: {
          tso: [member(7100, '0-511'), member(7102, '512-1023', { data: '/disks/b' })],
          txcoord: [member(7200, '0-1023')],
        },
      },
      opts,
    );
    expect(fleet.dataDir).toBe('/srv/pharaoh/var');
    expect(fleet.members.map((m) => [m.label, m.port, m.httpPort, m.shards, m.dataDir])).toEqual([
      ['tso:7100', 7100, 7101, [[0, 511]], '/srv/pharaoh/var'],
      ['tso:7102', 7102, 7103, [[512, 1023]], '/disks/b'],
      ['txcoord:7200', 7200, 7201, [[0, 1023]], '/srv/pharaoh/var'],
    ]);
    expect(uncoveredShards(fleet)).toEqual({});
  });

  it('refuses two endpoints of one service claiming a shard, naming both endpoints and the shared shards', () => {
    const err = errorOf(() => parseFleet({ services: { tso: [member(7100, '0-600'), member(7102, '500-1023')] } }, opts));
    expect(err.code).toBe('FLEET_OVERLAP');
    expect(err.message).toContain('ws://127.0.0.1:7100');
    expect(err.message).toContain('ws://127.0.0.1:7102');
    expect(err.message).toContain('shards 500-600');
  });

  it('lets different services use the same shard ids', () => {
    const fleet = parseFleet({ services: { tso: [member(7100, '0-1023')], txcoord: [member(7200, '0-1023')] } }, opts);
    expect(fleet.members).toHaveLength(2);
  });

  it('refuses bad shard ranges, naming the field', () => {
    for (const shards of ['0-1024', '10-5', 'x', '0-10,5']) {
      const err = errorOf(() => parseFleet({ services: { tso: [member(7100, shards)] } }, opts));
      expect(err.code).toBe('FLEET_INVALID');
      expect(err.message).toContain('services.tso.0.shards');
    }
  });

  it('refuses endpoints without a port, with port 0, out of range or of the wrong scheme', () => {
    const bad = ['ws://127.0.0.1', 'ws://127.0.0.1:0', 'ws://127.0.0.1:70000', 'http://127.0.0.1:7100', 'not a url'];
    for (const endpoint of bad) {
      const err = errorOf(() => parseFleet({ services: { tso: [{ endpoint, shards: '0' }] } }, opts));
      expect(err.code).toBe('FLEET_INVALID');
      expect(err.message).toContain('services.tso.0.endpoint');
    }
    const err = errorOf(() => parseFleet({ services: { tso: [{ endpoint: 'ws://h:1', http: 'ws://h:2', shards: '0' }] } }, opts));
    expect(err.message).toContain('services.tso.0.http');
  });

  it('refuses unknown services and misspelled keys', () => {
    expect(errorOf(() => parseFleet({ services: { tsoo: [] } }, opts)).message).toMatch(/tsoo/);
    expect(errorOf(() => parseFleet({ services: { tso: [{ endpoint: 'ws://h:1', shard: '0' }] } }, opts)).message).toMatch(/shard/);
  });

  it('refuses an empty fleet and two listeners on one port', () => {
    expect(errorOf(() => parseFleet({ services: {} }, opts)).message).toContain('no endpoints');
    const err = errorOf(() => parseFleet({ services: { tso: [member(7100, '0')], txcoord: [member(7101, '0')] } }, opts));
    expect(err.message).toContain('127.0.0.1:7101');
  });

  it('reports shards no process serves', () => {
    const fleet = parseFleet({ services: { tso: [member(7100, '0-99,200-1023')] } }, opts);
    expect(uncoveredShards(fleet)).toEqual({ tso: [[100, 199]] });
  });

  it('builds the documented default fleet: one process per service, all shards, fixed ports, ./data', () => {
    const fleet = parseFleet(defaultFleetFile(), opts);
    expect(fleet.dataDir).toBe('/srv/pharaoh/data');
    expect(fleet.members.map((m) => [m.service, m.host, m.port, m.httpPort, m.shards])).toEqual([
      ['tso', '127.0.0.1', TSO.ports.ws, TSO.ports.http, [[0, 1023]]],
      ['txcoord', '127.0.0.1', TXCOORD.ports.ws, TXCOORD.ports.http, [[0, 1023]]],
      ['session-mgr', '127.0.0.1', SESSION_MGR.ports.ws, SESSION_MGR.ports.http, [[0, 1023]]],
      ['group-coord', '127.0.0.1', GROUP_COORD.ports.ws, GROUP_COORD.ports.http, [[0, 1023]]],
      ['schema-registry', '127.0.0.1', SCHEMA_REGISTRY.ports.ws, SCHEMA_REGISTRY.ports.http, [[0, 1023]]],
      ['sequencer', '127.0.0.1', SEQUENCER.ports.ws, SEQUENCER.ports.http, [[0, 1023]]],
    ]);
    expect([7100, 7101, 7200, 7201, 7300, 7301, 7400, 7401, 7500, 7501, 7600, 7601]).toEqual(fleet.members.flatMap((m) => [m.port, m.httpPort]));
  });

  it('loads a file, resolving data relative to the file, and explains unreadable or non-JSON files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharaoh-fleet-'));
    const path = join(dir, 'fleet.json');
    writeFileSync(path, JSON.stringify({ services: { tso: [member(7100, '0-1023')] } }));
    expect(loadFleet(path).dataDir).toBe(join(dir, 'data'));
    writeFileSync(path, '{ not json');
    expect(errorOf(() => loadFleet(path)).message).toContain('not valid JSON');
    expect(errorOf(() => loadFleet(join(dir, 'missing.json'))).message).toContain('cannot read fleet file');
  });
});
