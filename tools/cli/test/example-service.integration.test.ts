/**
 * "A new coordinator is one folder and one registry entry", proved: the
 * test-only service in test/example/ (its entry, state table, definition and
 * main.ts, nothing else) is served by its own main.ts the way production
 * serves (runServiceMain), routed by the client, listed by the CLI and by the
 * fleet tools — once its entry is added to the registry with
 * `REGISTRY.with(EXAMPLE)`, and with no other edit anywhere.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PharaohClient } from '@pharaoh/client';
import { expandShardRanges, parseShardRanges, shardForKey } from '@pharaoh/protocol';
import { REGISTRY } from '@pharaoh/registry';
import { killAll, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { decodeAll } from '../src/decode.js';
import { defaultFleetFile, parseFleet } from '../src/fleet-file.js';
import { k8sFleetFile } from '../src/k8s-fleet.js';
import { k8sManifests } from '../src/k8s-manifests.js';
import { buildProgram } from '../src/main.js';
import { EXAMPLE } from './example/entry.js';
import { exampleService } from './example/service.js';

const FOLDER = fileURLToPath(new URL('./example/', import.meta.url));
const MAIN = fileURLToPath(new URL('./example/main.ts', import.meta.url));
/** The production registry plus the example's one entry. */
const registry = REGISTRY.with(EXAMPLE);

const apps: RunningApp[] = [];
const dirs: Array<{ remove(): void }> = [];
afterAll(async () => {
  for (const a of apps) await stopApp(a);
  await killAll();
  for (const d of dirs) d.remove();
});

/** Run `pharaoh <args>` in-process for `registry`, capturing what it prints. */
async function cli(args: string[]): Promise<string> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    await buildProgram(registry).exitOverride().parseAsync(['node', 'pharaoh', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return lines.join('');
}

describe('a test-only service added as one folder and one registry entry', () => {
  it('is a folder of four files: its entry, its state table, its definition, its main.ts', () => {
    expect(readdirSync(FOLDER).sort()).toEqual(['entry.ts', 'main.ts', 'service.ts', 'table.ts']);
    expect(exampleService.spec).toBe(EXAMPLE);
    expect(REGISTRY.has('example')).toBe(false); // production never lists it
  });

  it('is served by its main.ts (two processes, half the shards each) and routed by the client by key and by ID', { timeout: 120_000 }, async () => {
    const data = tempDir('pharaoh-example-');
    dirs.push(data);
    for (const shards of ['0-511', '512-1023']) {
      apps.push(await startApp(MAIN, ['--shards', shards, '--port', '0', '--http-port', '0', '--data', data.dir], { name: `example ${shards}` }));
    }
    const client = await PharaohClient.connect({ endpoints: apps.map((a) => a.url) }, { services: registry, timeoutMs: 10_000 });
    try {
      const example = client.service(EXAMPLE);
      const marked: bigint[] = [];
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) {
        const { id } = await example.call('ex.mark', {}, { key });
        expect(typeof id).toBe('bigint');
        expect(EXAMPLE.layout.shardOf(id)).toBe(shardForKey(key)); // keyed: the key's shard, on whichever process owns it
        marked.push(id);
      }
      const anyShard = await example.call('ex.mark', {});
      marked.push(anyShard.id);
      // ID-routed: each goes to the process owning the shard in its bits, which journaled it.
      for (const id of marked) expect(await example.call('ex.seen', { markId: id })).toEqual({ seen: 'YES' });
      expect(await example.call('ex.seen', { markId: EXAMPLE.layout.encode({ time: 1, shard: 600, seq: 0 }) })).toEqual({ seen: 'NO' });
      // Both processes served: the keys above land on both halves.
      expect(new Set(marked.map((id) => EXAMPLE.layout.shardOf(id) < 512)).size).toBe(2);
      // The CLI's generic client command reaches it too, typed by its entry.
      const urls = apps.map((a) => a.url);
      expect(JSON.parse(await cli(['call', 'example', 'ex.seen', `markId=${marked[0]}`, '--endpoint', ...urls]))).toEqual({ seen: 'YES' });
      const viaCli = JSON.parse(await cli(['call', 'example', 'ex.mark', '--key', 'zz', '--endpoint', ...urls])) as { id: string };
      expect(EXAMPLE.layout.shardOf(BigInt(viaCli.id))).toBe(shardForKey('zz'));
    } finally {
      await client.close();
    }
  });

  it('is refused, with the known services named, by a client whose registry does not list it', async () => {
    const app = apps[0]!;
    await expect(PharaohClient.connect({ endpoints: [app.url] }, { timeoutMs: 2_000, connectTimeoutMs: 2_000 })).rejects.toThrow(`unknown service example (this client knows ${REGISTRY.names.join(', ')})`);
  });

  it('is listed by the CLI: services, serve, call, decode and fleet k8s', async () => {
    expect(buildProgram(registry).commands.find((c) => c.name() === 'call')!.description()).toContain(`<${[...REGISTRY.names, 'example'].join('|')}>`);
    expect((await cli(['services', '--names'])).split('\n').filter(Boolean)).toEqual([...REGISTRY.names, 'example']);
    const table = await cli(['services']);
    expect(table).toMatch(/example\s+Example marker \(test only\)\s+example 42\|10\|12\s+7900\/7901\s+512\s+ex\.mark ex\.seen/);
    expect(buildProgram(registry).commands.find((c) => c.name() === 'serve')!.description()).toContain(`<${[...REGISTRY.names, 'example'].join('|')}>`);
    expect(decodeAll(1n << 22n, registry).map((r) => r.layout)).toEqual([...REGISTRY.services.map((x) => x.layout.name), 'example']);
    const k8s = JSON.parse(await cli(['fleet', 'k8s', '--example', '1024']));
    expect(k8s.services.example).toEqual([{ endpoint: 'ws://example-0.example.pharaoh.svc.cluster.local:7900', http: 'http://example-0.example.pharaoh.svc.cluster.local:7901', shards: '0-1023' }]);
  });

  it('is listed by the fleet tools: the default fleet, fleet files, the k8s fleet and manifests', () => {
    const file = defaultFleetFile({ registry });
    expect(file.services.example).toEqual([{ endpoint: 'ws://127.0.0.1:7900', http: 'http://127.0.0.1:7901', shards: '0-1023' }]);
    const fleet = parseFleet(file, { source: 'test', baseDir: '/tmp', registry });
    expect(fleet.members.map((m) => m.label)).toEqual([...REGISTRY.services.map((x) => `${x.name}:${x.ports.ws}`), 'example:7900']);
    expect(() => parseFleet(file, { source: 'test', baseDir: '/tmp' })).toThrow(/Unrecognized key.*example|example/);
    const k8s = k8sFleetFile({ namespace: 'ns', domain: 'd', registry });
    expect(k8s.services.example!.flatMap((m) => expandShardRanges(parseShardRanges(String(m.shards))))).toHaveLength(1024);
    const manifests = k8sManifests(registry);
    expect(manifests.get('example.yaml')).toContain('value: "example"');
    expect(manifests.get('kustomization.yaml')).toContain('  - example.yaml');
    expect(manifests.get('pdb.yaml')).toContain('app.kubernetes.io/name: pharaoh-example');
  });
});
