/**
 * The container image recipe, checked without a Docker daemon (the
 * development machine has none): the build context that `.dockerignore`
 * leaves (computed with the same matcher docker-compose and dockerode use)
 * holds every source file the server's bundle is built from and no test,
 * benchmark or doc; and the Dockerfile is multi-stage, runs as a non-root
 * user and exposes every port the StatefulSets use.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO } from './helpers.js';

const DOCKERFILE = join(REPO, 'deploy', 'Dockerfile');
/** tools/cli/bin/bundle.cjs's EXTERNAL, read from it: packages the launcher's bundle leaves to node_modules. */
const LAUNCHER_EXTERNAL = ((): string[] => {
  const m = /const EXTERNAL = (\[[^\]]*\]);/.exec(readFileSync(join(REPO, 'tools', 'cli', 'bin', 'bundle.cjs'), 'utf8'));
  if (m === null) throw new Error('tools/cli/bin/bundle.cjs no longer has `const EXTERNAL = [...]`: update this test');
  return JSON.parse(m[1]!.replace(/'/g, '"')) as string[];
})();

/** Every file of the work tree git knows or would add (tracked and untracked, not ignored), repo-relative. */
function workTreeFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.split('\0').filter((f) => f !== '' && existsSync(join(REPO, f)));
}

function contextFiles(): Set<string> {
  const patterns = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
  // A CommonJS module whose exports also carry itself as `default` (what its types describe).
  const ig = dockerignoreModule.default({ ignorecase: false }).add(patterns);
  return new Set(workTreeFiles().filter((f) => !ig.ignores(f)));
}

const context = contextFiles();

describe('the build context (.dockerignore)', () => {
  it('is read from the context root: no deploy/Dockerfile.dockerignore shadows it (BuildKit would use that one alone)', () => {
    expect(existsSync(join(REPO, '.dockerignore'))).toBe(true);
    expect(readdirSync(join(REPO, 'deploy')).filter((f) => f.endsWith('.dockerignore'))).toEqual([]);
  });

  it('holds no tests, benchmarks, docs, local data or VCS files', () => {
    const unwanted = [...context].filter(
      (f) => /(^|\/)test\//.test(f) || /\.test\.ts$/.test(f) || /\.bench\.ts$/.test(f) || /^docs\//.test(f) || /\.md$/.test(f) || /^(\.git|data|node_modules)\//.test(f) || /(^|\/)node_modules\//.test(f),
    );
    expect(unwanted).toEqual([]);
    expect(context.size).toBeGreaterThan(50);
  });

  it('holds what npm ci and the entry point need: the lockfile and every workspace manifest', () => {
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { link?: boolean }> };
    const workspaces = Object.keys(lock.packages).filter((k) => k !== '' && !k.startsWith('node_modules/') && !k.includes('/node_modules/'));
    expect(workspaces.length).toBeGreaterThan(5);
    const needed = ['package.json', 'package-lock.json', 'deploy/entrypoint.sh', 'tools/cli/bin/pharaoh.cjs', 'tools/cli/bin/bundle.cjs', ...workspaces.map((w) => `${w}/package.json`)];
    expect(needed.filter((f) => !context.has(f))).toEqual([]);
  });

  it('holds every source file the launcher bundles (tools/cli/src/main.ts, as tools/cli/bin/bundle.cjs builds it)', async () => {
    const result = await build({
      absWorkingDir: REPO,
      entryPoints: ['tools/cli/src/main.ts'],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      metafile: true,
      logLevel: 'silent',
      // As bundle.cjs: native and tool packages stay outside; everything else, the
      // workspace packages included (through their node_modules links), is bundled.
      external: LAUNCHER_EXTERNAL,
      outfile: 'out.mjs',
    });
    // Third-party files come from npm ci in the image; the repository's own must be in the context.
    const sources = Object.keys(result.metafile.inputs).filter((f) => !f.includes(':') && !f.includes('node_modules/'));
    for (const mustBundle of ['packages/server/src/server.ts', 'apps/txcoord/src/service.ts', 'packages/journal/src/journal.ts', 'tools/cli/src/main.ts']) {
      expect(sources, mustBundle).toContain(mustBundle);
    }
    expect(sources.filter((f) => !context.has(relative(REPO, join(REPO, f))))).toEqual([]);
  });
});

/** The Dockerfile's stages: each FROM and the instructions after it. */
function stages(): Array<{ name: string | undefined; from: string; instructions: Instruction[] }> {
  const d = DockerfileParser.parse(readFileSync(DOCKERFILE, 'utf8'));
  const out: Array<{ name: string | undefined; from: string; instructions: Instruction[] }> = [];
  for (const i of d.getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const args = i.getExpandedArguments().map((a) => a.getValue());
      out.push({ name: args[2], from: args[0]!, instructions: [] });
    } else if (out.length > 0) {
      out[out.length - 1]!.instructions.push(i);
    }
  }
  return out;
}

const args = (i: Instruction): string[] => i.getExpandedArguments().map((a) => a.getValue());

describe('deploy/Dockerfile', () => {
  const all = stages();
  const runtime = all[all.length - 1]!;
  const of = (keyword: string): Instruction[] => runtime.instructions.filter((i) => i.getKeyword() === keyword);

  it('is multi-stage: the runtime stage copies only the build stage\'s app tree, never the context', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const copies = of('COPY').concat(of('ADD'));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const from = (c as Instruction & { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags().find((f) => f.getName() === 'from');
      expect(from?.getValue(), `runtime ${c.getKeyword()} ${args(c).join(' ')}`).toBe(all[0]!.name);
    }
  });

  it('runs as a non-root user', () => {
    const users = of('USER').map((u) => args(u)[0]!);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(users[users.length - 1]);
  });

  it('exposes both ports of every service the StatefulSets run', () => {
    const exposed = new Set(of('EXPOSE').flatMap(args).map((p) => Number(p.split('/')[0])));
    const manifests = readdirSync(join(REPO, 'deploy', 'k8s')).filter((f) => f.endsWith('.yaml'));
    const ports: number[] = [];
    let sets = 0;
    for (const f of manifests) {
      for (const doc of parseAllDocuments(readFileSync(join(REPO, 'deploy', 'k8s', f), 'utf8'))) {
        const d = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ ports?: Array<{ containerPort: number }> }> } } } };
        if (d?.kind !== 'StatefulSet') continue;
        sets++;
        for (const c of d.spec?.template?.spec?.containers ?? []) for (const p of c.ports ?? []) ports.push(p.containerPort);
      }
    }
    // Two ports (WebSocket, HTTP) per StatefulSet: one per service of the registry (tso, txcoord, session-mgr, sequencer, ...).
    expect(ports.length).toBe(2 * sets);
    expect(sets).toBeGreaterThanOrEqual(4);
    expect(ports.filter((p) => !exposed.has(p))).toEqual([]);
  });

  it('starts through the entry point and records the commit for pharaoh_build_info', () => {
    expect(of('ENTRYPOINT').flatMap(args).join(' ')).toContain('/app/deploy/entrypoint.sh');
    expect(of('ENV').flatMap(args).some((a) => a.startsWith('PHARAOH_COMMIT='))).toBe(true);
  });
});
