import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { targetOf, wrongServiceLine } from '../src/client-commands.js';
import { DEFAULT_FLEET_SOURCE, defaultPorts } from '../src/fleet-file.js';

const DEFAULT_PORTS = defaultPorts();

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('what a client command connects to', () => {
  it("takes only the needed service's endpoints from the default fleet, and says how to start it", () => {
    const t = targetOf({}, 'txcoord');
    expect(t.endpoints).toEqual([`ws://127.0.0.1:${DEFAULT_PORTS.txcoord!.ws}`]);
    expect(Object.keys((t.source as { fleet: { services: object } }).fleet.services)).toEqual(['txcoord']);
    expect(t.label).toBe(DEFAULT_FLEET_SOURCE);
    expect(t.startHint).toBe('is the fleet running? Start it with `npx pharaoh fleet up`');
  });

  it('refuses a fleet file without the service, and a non-WebSocket --endpoint', () => {
    const d = mkdtempSync(join(tmpdir(), 'pharaoh-cli-target-'));
    dirs.push(d);
    const file = join(d, 'only-tso.json');
    writeFileSync(file, JSON.stringify({ services: { tso: [{ endpoint: 'ws://127.0.0.1:7100', shards: '0-1023' }] } }));
    expect(() => targetOf({ fleet: file }, 'session-mgr')).toThrow(`${file} lists no session-mgr endpoint`);
    expect(() => targetOf({ endpoint: ['127.0.0.1:7100'] }, 'tso')).toThrow('--endpoint 127.0.0.1:7100 is not a ws:// or wss:// URL');
  });

  it('names the service an endpoint is, and where the wanted one is when the port is a default one', () => {
    const url = `ws://127.0.0.1:${DEFAULT_PORTS.txcoord!.ws}`;
    expect(wrongServiceLine(url, 'txcoord', 'tso', targetOf({ endpoint: [url] }, 'tso'))).toBe(
      `${url} is a txcoord endpoint, not tso; the default fleet's tso is on port ${DEFAULT_PORTS.tso!.ws}`,
    );
    expect(wrongServiceLine(url, 'txcoord', 'tso', targetOf({}, 'tso'))).toBe(
      `${url} is a txcoord endpoint, not tso (${DEFAULT_FLEET_SOURCE} lists it under tso); the default fleet's tso is on port ${DEFAULT_PORTS.tso!.ws}`,
    );
  });
});
