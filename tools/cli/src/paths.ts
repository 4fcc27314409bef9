/**
 * Where the CLI's own files are. From the TypeScript sources that is known from
 * import.meta.url; inside the launcher's bundle (bin/bundle.cjs) import.meta.url
 * is the bundle's own location, so the bundler writes the repository root in.
 * Any other module in the bundle that finds files from import.meta.url must do
 * the same (test/launcher.test.ts checks the bundle for unguarded uses).
 */
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ServiceName } from '@pharaoh/protocol';

declare const __PHARAOH_REPO_ROOT__: string | undefined;

/** tools/cli, absolute. */
export const CLI_DIR: string = typeof __PHARAOH_REPO_ROOT__ === 'string' ? join(__PHARAOH_REPO_ROOT__, 'tools', 'cli') : fileURLToPath(new URL('..', import.meta.url));

/** The `pharaoh` command's entry (runs the bundle, or the sources through tsx). */
export const PHARAOH_BIN = join(CLI_DIR, 'bin', 'pharaoh.cjs');

/** The crash test's worker, run through tsx. */
export const CHAOS_WORKER_TS = join(CLI_DIR, 'src', 'chaos', 'worker.ts');

/** Absolute path of an app's TypeScript entry point (`tsx apps/<service>/src/main.ts`). */
export function appMainPath(service: ServiceName): string {
  return join(CLI_DIR, '..', '..', 'apps', service, 'src', 'main.ts');
}

/** `--import` value that makes plain `node` run TypeScript: tsx's loader, by absolute URL (works from any cwd). */
export const TSX_IMPORT = pathToFileURL(createRequire(join(CLI_DIR, 'package.json')).resolve('tsx')).href;
