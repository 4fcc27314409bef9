'use strict';
/**
 * The launcher's bundle cache. `pharaoh` runs from one esbuild bundle of
 * tools/cli/src/main.ts (every workspace package and npm dependency, native
 * addons left outside; split into chunks at the CLI's dynamic imports, so a
 * command loads only its own code: `pharaoh serve` skips the fleet tools'
 * zod, 40% of the whole) kept in <repo>/node_modules/.cache/pharaoh/.
 * Node loads it in ~0.3 s; loading the same TypeScript sources through tsx's
 * loader takes ~1 s, which is half of a 1024-shard server's 2 s start budget.
 *
 * There is still no build step to remember: the bundle is rebuilt (~0.3 s) on
 * the first run after any input file changed (size or mtime), or Node or
 * esbuild changed. It never has to be rebuilt for correctness: when it cannot be
 * built or stored, the caller falls back to the sources through tsx.
 *
 * CommonJS on purpose: bin/pharaoh.cjs loads this synchronously, before
 * anything has touched libuv's thread pool (see UV_THREADPOOL_SIZE there).
 */
const fs = require('node:fs');
const path = require('node:path');

const CLI_DIR = path.resolve(__dirname, '..');
const REPO_ROOT = path.resolve(CLI_DIR, '..', '..');
const ENTRY = path.join(CLI_DIR, 'src', 'main.ts');
const CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'pharaoh');
/** In the cache dir, points at the current build: { key, dir, inputs: [path, size, mtimeMs][] }. */
const POINTER_NAME = 'cli.json';
const BUNDLE_NAME = 'pharaoh.mjs';
/**
 * Kept out of the bundle and loaded from node_modules at run time: native
 * addons (they find their .node files from their own __dirname; msgpackr's
 * optional decoder acceleration would otherwise be silently lost), and
 * packages the CLI only resolves to hand to child processes.
 */
const EXTERNAL = ['fs-native-extensions', 'msgpackr-extract', 'tsx', 'esbuild'];
/** Builds older than this that the pointer no longer names are removed. */
const STALE_BUILD_MS = 10 * 60_000;

const NODE_MODULES_PREFIX = `node_modules${path.sep}`;
/** Rewritten by every npm install (see inputsUnchanged). */
const NPM_INSTALL_RECORD = path.join('node_modules', '.package-lock.json');

/**
 * esbuild's version without loading esbuild (requiring it costs 20-50 ms of
 * every start; it is loaded only to build). Undefined when it is not installed.
 */
function esbuildVersion() {
  try {
    return JSON.parse(fs.readFileSync(require.resolve('esbuild/package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function cacheKey(esbuildVersion) {
  return `node ${process.version}; esbuild ${esbuildVersion}; format 3`;
}

function readPointer(cacheDir) {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(cacheDir, POINTER_NAME), 'utf8'));
    if (p && typeof p.key === 'string' && typeof p.dir === 'string' && Array.isArray(p.inputs)) return p;
  } catch {
    /* missing or unreadable: rebuild */
  }
  return undefined;
}

/**
 * Does every input still have the size and mtime it had when the bundle was
 * built? Files under node_modules are not looked at one by one (~250 stat
 * calls, ~25 µs each on a VM: 6-10 ms of every start): every npm install
 * rewrites node_modules/.package-lock.json, which is an input. A file edited
 * by hand inside node_modules is not noticed; PHARAOH_BUNDLE=0 runs the
 * sources, or delete node_modules/.cache/pharaoh.
 */
function inputsUnchanged(inputs) {
  for (const [file, size, mtimeMs] of inputs) {
    if (file.startsWith(NODE_MODULES_PREFIX) && file !== NPM_INSTALL_RECORD) continue;
    let s;
    try {
      s = fs.statSync(path.resolve(REPO_ROOT, file));
    } catch {
      return false;
    }
    if (s.size !== size || s.mtimeMs !== mtimeMs) return false;
  }
  return true;
}

/** Build a new bundle into its own directory and point at it; returns the bundle's path. */
function build(esbuild, cacheDir, entry) {
  fs.mkdirSync(cacheDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(cacheDir, 'build-'));
  const outfile = path.join(dir, BUNDLE_NAME);
  const result = esbuild.buildSync({
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    // Split at the CLI's dynamic imports: \`pharaoh serve\` parses and runs the
    // server's chunks only, not the fleet tools, chaos, decode or the client.
    outdir: dir,
    entryNames: path.basename(BUNDLE_NAME, '.mjs'),
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    external: EXTERNAL,
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
    banner: { js: "import { createRequire as __pharaohRequire } from 'node:module'; const require = __pharaohRequire(import.meta.url);" },
  });
  // This file too: a change to how the bundle is built makes it stale. And the
  // lockfiles: an install can make an import resolve to another copy of a
  // package (a new nested version) without touching the files the last build
  // read, and npm rewrites node_modules/.package-lock.json on every install.
  // (esbuild's virtual inputs have a ':' in their names.)
  const lockfiles = ['package-lock.json', path.join('node_modules', '.package-lock.json')].filter((f) => fs.existsSync(path.resolve(REPO_ROOT, f)));
  const inputs = [...Object.keys(result.metafile.inputs).filter((f) => !f.includes(':')), path.relative(REPO_ROOT, __filename), ...lockfiles]
    .map((f) => {
      const s = fs.statSync(path.resolve(REPO_ROOT, f));
      return [f, s.size, s.mtimeMs];
    });
  const pointer = { key: cacheKey(esbuild.version), dir: path.basename(dir), inputs };
  const pointerPath = path.join(cacheDir, POINTER_NAME);
  const tmp = `${pointerPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(pointer));
  fs.renameSync(tmp, pointerPath);
  removeOldBuilds(cacheDir, path.basename(dir));
  return outfile;
}

/** Best effort: other processes may still be starting from an older build, so only old ones go. */
function removeOldBuilds(cacheDir, current) {
  try {
    for (const name of fs.readdirSync(cacheDir)) {
      if (!name.startsWith('build-') || name === current) continue;
      const p = path.join(cacheDir, name);
      if (Date.now() - fs.statSync(p).mtimeMs > STALE_BUILD_MS) fs.rmSync(p, { recursive: true, force: true });
    }
  } catch {
    /* harmless: left for the next build */
  }
}

/**
 * The path of an up-to-date bundle of the CLI, building it if needed, or
 * undefined (with the reason passed to `warn`) when it cannot be had: then run
 * the sources through tsx. PHARAOH_BUNDLE=0 skips the bundle on purpose.
 * `opts.entry` and `opts.cacheDir` are for tests.
 */
function bundleEntry(warn, opts = {}) {
  const entry = opts.entry ?? ENTRY;
  const cacheDir = opts.cacheDir ?? CACHE_DIR;
  if (process.env.PHARAOH_BUNDLE === '0') return undefined;
  const version = esbuildVersion();
  const pointer = version === undefined ? undefined : readPointer(cacheDir);
  if (pointer && pointer.key === cacheKey(version) && inputsUnchanged(pointer.inputs)) {
    const file = path.join(cacheDir, pointer.dir, BUNDLE_NAME);
    if (fs.existsSync(file)) return file;
  }
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch (err) {
    warn(`esbuild is not installed (${err.code ?? err.message}); running the TypeScript sources through tsx (slower start)`);
    return undefined;
  }
  try {
    return build(esbuild, cacheDir, entry);
  } catch (err) {
    const why = err && Array.isArray(err.errors) && err.errors.length > 0 ? err.errors[0].text : err && err.message;
    warn(`could not build the launcher bundle in ${cacheDir} (${why}); running the TypeScript sources through tsx (slower start)`);
    return undefined;
  }
}

module.exports = { bundleEntry, CACHE_DIR, CLI_DIR, REPO_ROOT };
