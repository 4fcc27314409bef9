/**
 * Where the CLI's own files are. Inside the launcher's bundle (bin/bundle.cjs)
 * import.meta.url is the bundle's location in node_modules/.cache, not
 * tools/cli/src: so the CLI finds itself the way Node finds any package, by
 * resolving its own name from there (node_modules/@pharaoh/cli → tools/cli),
 * which gives the same answer from the sources. No module in the bundle may
 * locate files from import.meta.url directly (test/launcher.test.ts checks).
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const requireHere = createRequire(import.meta.url);

/** tools/cli, absolute (the package `@pharaoh/cli` resolves to tools/cli/src/index.ts). */
export const CLI_DIR: string = dirname(dirname(requireHere.resolve('@pharaoh/cli')));

/** The `pharaoh` command's entry (runs the bundle, or the sources through tsx). */
export const PHARAOH_BIN = join(CLI_DIR, 'bin', 'pharaoh.cjs');

/** The crash test's worker, run through tsx. */
export const CHAOS_WORKER_TS = join(CLI_DIR, 'src', 'chaos', 'worker.ts');

/** Absolute path of an app's TypeScript entry point (`tsx apps/<service>/src/main.ts`). */
export function appMainPath(service: string): string {
  return join(CLI_DIR, '..', '..', 'apps', service, 'src', 'main.ts');
}

/** `--import` value that makes plain `node` run TypeScript: tsx's loader, by absolute URL (works from any cwd). */
export const TSX_IMPORT = pathToFileURL(createRequire(join(CLI_DIR, 'package.json')).resolve('tsx')).href;
