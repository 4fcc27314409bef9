/**
 * The launcher (bin/pharaoh.cjs + bin/bundle.cjs): runs an esbuild bundle of
 * the CLI kept fresh in a cache, falls back to the TypeScript sources through
 * tsx, and sizes libuv's thread pool before anything uses it.
 */
import { readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT as TESTKIT_ROOT, killAll, startApp, stopApp, tempDir } from '@pharaoh/testkit';
import { BIN, runCli } from './helpers.js';

const require = createRequire(import.meta.url);
const { bundleEntry } = require('../bin/bundle.cjs') as {
  bundleEntry(warn: (m: string) => void, opts?: { entry?: string; cacheDir?: string }): string | undefined;
};

const REPO_ROOT = TESTKIT_ROOT.replace(/\/$/, '');
const dirs: Array<{ remove(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});
afterAll(killAll);

function scratch(): string {
  const d = tempDir('pharaoh-launcher-');
  dirs.push(d);
  return d.dir;
}

describe('the bundle cache', () => {
  it('builds once, reuses the bundle while its inputs are unchanged, and rebuilds when one changes', async () => {
    const dir = scratch();
    const entry = join(dir, 'entry.ts');
    const dep = join(dir, 'dep.ts');
    writeFileSync(dep, 'export const answer: number = 41;\n');
    writeFileSync(entry, "import { answer } from './dep.ts';\nexport const value = answer + 1;\n");
    const cacheDir = join(dir, 'cache');
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);

    const first = bundleEntry(warn, { entry, cacheDir });
    expect(warnings).toEqual([]);
    expect(first).toBeDefined();
    expect((await import(first!)).value).toBe(42);
    expect(bundleEntry(warn, { entry, cacheDir })).toBe(first); // fresh: no rebuild

    writeFileSync(dep, 'export const answer: number = 99;\n');
    utimesSync(dep, new Date(), new Date(Date.now() + 5000)); // a different mtime even on a coarse clock
    const second = bundleEntry(warn, { entry, cacheDir });
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect((await import(second!)).value).toBe(100);
    expect(readdirSync(cacheDir).filter((n) => n.startsWith('build-'))).toHaveLength(2); // the older one is kept a while
  });

  it('reports why and returns undefined when the entry cannot be built (the bin then runs the sources through tsx)', () => {
    const dir = scratch();
    const entry = join(dir, 'broken.ts');
    writeFileSync(entry, 'export const = ;\n');
    const warnings: string[] = [];
    expect(bundleEntry((m) => warnings.push(m), { entry, cacheDir: join(dir, 'cache') })).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not build the launcher bundle .*running the TypeScript sources through tsx/);
  });
});

describe('the CLI bundle', () => {
  it('finds repository files only through the root the bundler writes in, never from its own location', () => {
    const file = bundleEntry((m) => {
      throw new Error(m);
    });
    const lines = bundleText(file!).split('\n');
    const uses = lines.filter((l) => l.includes('import.meta.url'));
    expect(uses.length).toBeGreaterThan(0);
    // Allowed: createRequire(import.meta.url) (resolves packages upward into node_modules, which
    // works from the cache dir: src/paths.ts finds tools/cli so). No root is compiled in.
    const unguarded = uses.filter((l) => !/Require\w*\(import\.meta\.url\)/.test(l));
    expect(unguarded).toEqual([]);
    expect(lines.some((l) => l.includes(JSON.stringify(REPO_ROOT)))).toBe(false);
  });

  it('leaves native addons out (they locate their .node files from their own directory)', () => {
    const text = bundleText(bundleEntry(() => undefined)!);
    expect(text).not.toMatch(/node_modules\/(?:node-gyp-build[^/]*|msgpackr-extract|fs-native-extensions)\//);
    expect(text).toContain('__require("msgpackr-extract")'); // loaded at run time, from node_modules
  });
});

/** The entry and every chunk it was split into (the build dir's .mjs files). */
function bundleText(entry: string): string {
  const dir = dirname(entry);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

describe('bin/pharaoh.cjs', () => {
  it('runs the same commands from the TypeScript sources with PHARAOH_BUNDLE=0', async () => {
    const viaBundle = await runCli(['decode', '251571074158825472', '--json']);
    const prev = process.env.PHARAOH_BUNDLE;
    process.env.PHARAOH_BUNDLE = '0';
    try {
      const viaTsx = await runCli(['decode', '251571074158825472', '--json']);
      expect(viaTsx.code).toBe(0);
      expect(viaTsx.stdout).toBe(viaBundle.stdout);
      expect(JSON.parse(viaTsx.stdout)).toBeTruthy();
    } finally {
      if (prev === undefined) delete process.env.PHARAOH_BUNDLE;
      else process.env.PHARAOH_BUNDLE = prev;
    }
  });

  it('serves from the bundle with a 16-thread I/O pool unless UV_THREADPOOL_SIZE says otherwise', async () => {
    const data = scratch();
    const { UV_THREADPOOL_SIZE: _, ...env } = process.env;
    const threads = async (extra: NodeJS.ProcessEnv): Promise<number> => {
      const app = await startApp(BIN, ['serve', 'tso', '--shards', '0', '--port', '0', '--http-port', '0', '--data', data], {
        tsx: false,
        env: { ...env, ...extra },
        name: 'pharaoh serve tso',
      });
      try {
        expect(app.stderr()).not.toContain('through tsx'); // no fallback: the bundle runs
        const res = await fetch(`${app.httpUrl}/readyz`);
        expect(res.status).toBe(200);
        return readdirSync(`/proc/${app.pid}/task`).length;
      } finally {
        expect(await stopApp(app, 'SIGTERM')).toBe(0);
      }
    };
    const byDefault = await threads({});
    const withFour = await threads({ UV_THREADPOOL_SIZE: '4' });
    // Same process otherwise, so the difference is the pool: 16 - 4 threads.
    expect(byDefault - withFour).toBe(12);
  });
});
