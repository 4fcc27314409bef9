/**
 * Everything that lists services is derived from the registry, or checked
 * against it here: the apps (each entry's implementation, its main.ts), the
 * CLI (serve, services, decode, the default fleet, fleet k8s), the deploy
 * manifests and entrypoint, and the docs tables. A new entry without its
 * folder, or a place that lists services on its own, fails one of these.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_OPS } from '@pharaoh/protocol';
import { REGISTRY, serviceTable } from '@pharaoh/registry';
import { REPO_ROOT } from '@pharaoh/testkit';
import { decodeAll } from '../src/decode.js';
import { defaultFleetFile } from '../src/fleet-file.js';
import { k8sFleetFile } from '../src/k8s-fleet.js';
import { k8sManifests } from '../src/k8s-manifests.js';
import { buildProgram } from '../src/main.js';
import { podsForShardsPerPod } from '../src/ordinal.js';
import { loadAppService } from '../src/serve.js';

const read = (...p: string[]): string => readFileSync(join(REPO_ROOT, ...p), 'utf8');

describe('the apps', () => {
  it.each(REGISTRY.names)('%s: apps/<name>/src/service.ts serves exactly its registry entry', async (name) => {
    const spec = REGISTRY.get(name);
    const def = await loadAppService(spec);
    expect(def.spec).toBe(spec);
    expect(Object.keys(def.handlers).sort()).toEqual(Object.keys(spec.ops).sort());
  });

  it.each(REGISTRY.names)("%s: main.ts is the one entry path (runServiceMain, as `pharaoh serve` runs it)", (name) => {
    const code = read('apps', name, 'src', 'main.ts').replace(/\/\*\*[\s\S]*?\*\/\n/, '');
    expect(code).toMatch(/^import \{ runServiceMain \} from '@pharaoh\/server';\nimport \{ \w+ \} from '\.\/service\.js';\n\nawait runServiceMain\(\w+\);\n$/);
  });

  it('no app folder exists without its registry entry', () => {
    expect(readdirSync(join(REPO_ROOT, 'apps')).sort()).toEqual([...REGISTRY.names].sort());
  });
});

describe('the CLI', () => {
  it('serve names every service, and refuses others naming them', () => {
    const serve = buildProgram().commands.find((c) => c.name() === 'serve')!;
    expect(serve.description()).toContain(`<${REGISTRY.names.join('|')}>`);
  });

  it('decode shows every layout, the default fleet and fleet k8s have every service at its ports', () => {
    expect(decodeAll(0n).map((r) => r.layout)).toEqual(REGISTRY.services.map((s) => s.layout.name));
    const fleet = defaultFleetFile();
    const k8s = k8sFleetFile({ namespace: 'pharaoh', domain: 'cluster.local' });
    for (const s of REGISTRY.services) {
      expect(fleet.services[s.name]).toEqual([{ endpoint: `ws://127.0.0.1:${s.ports.ws}`, http: `http://127.0.0.1:${s.ports.http}`, shards: '0-1023' }]);
      expect(k8s.services[s.name]).toHaveLength(podsForShardsPerPod(s.shardsPerPod));
    }
    expect(Object.keys(fleet.services)).toEqual(REGISTRY.names);
  });

  it('does not import from bench/ (arrows point down: bench may use the CLI, not the reverse)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    for (const f of files(join(REPO_ROOT, 'tools', 'cli', 'src'))) expect(readFileSync(f, 'utf8'), f).not.toMatch(/from '[./]*bench\/|import\('[./]*bench\//);
  });
});

describe('deploy', () => {
  it('the manifests in deploy/k8s are the ones the registry writes (pharaoh fleet k8s --manifests deploy/k8s)', () => {
    const want = k8sManifests(REGISTRY);
    for (const [name, text] of want) expect(read('deploy', 'k8s', name), name).toBe(text);
    const have = readdirSync(join(REPO_ROOT, 'deploy', 'k8s')).filter((f) => f.endsWith('.yaml'));
    expect(have.sort()).toEqual([...want.keys(), 'namespace.yaml'].sort());
  });

  it('the container entrypoint lists no services of its own', () => {
    const sh = read('deploy', 'entrypoint.sh');
    for (const name of REGISTRY.names) expect(sh).not.toMatch(new RegExp(`[|(]${name}[|)]`));
  });
});

describe('the docs', () => {
  it('docs/DESIGN.md holds the table `pharaoh services --markdown` prints', () => {
    const page = read('docs', 'DESIGN.md');
    const m = /<!-- registry:services -->\n([\s\S]*?)\n<!-- \/registry:services -->/.exec(page);
    expect(m?.[1]).toBe(serviceTable(REGISTRY));
  });

  it('docs/FLEET.md and README.md send readers to the registry for ports, and any port they name is that service\'s', () => {
    for (const page of [read('docs', 'FLEET.md'), read('README.md')]) {
      expect(page).toContain('pharaoh services');
      for (const m of page.matchAll(/\b(tso|txcoord|session-mgr)\b[^.\n]{0,40}?\b(7\d00)\b/g)) expect(Number(m[2])).toBe(REGISTRY.get(m[1]!).ports.ws);
    }
  });

  it('docs/PROTOCOL.md names every op', () => {
    const spec = read('docs', 'PROTOCOL.md');
    for (const s of REGISTRY.services) for (const op of [...Object.keys(s.ops), ...HOST_OPS]) expect(spec, op).toContain(`\`${op}\``);
  });
});

describe('test doubles', () => {
  it('no production package exports one from its public index.ts (they live in /testing entries)', () => {
    for (const dir of ['packages', 'apps']) {
      for (const pkg of readdirSync(join(REPO_ROOT, dir))) {
        const index = read(dir, pkg, 'src', 'index.ts');
        expect(index, `${dir}/${pkg}`).not.toMatch(/\b(Fake\w*|Sim\w*|Simulated\w*|explore\w*|openTestShard)\b/);
      }
    }
  });
});
