/**
 * What `pharaoh_build_info` says about the running code: the release version
 * (the workspace's, from this package's package.json, which every package of
 * a release shares), the git commit, and the Node.js version.
 *
 * The commit comes from `PHARAOH_COMMIT` (the image build sets it: an image
 * has no .git) or, on a checkout, from `.git/HEAD` found above this file (read
 * once, without running git); otherwise 'unknown'.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import pkg from '../package.json' with { type: 'json' };

/** The release this code belongs to (one version for the whole repository: docs/VERSIONING.md). */
export const VERSION: string = pkg.version;

export interface BuildInfo {
  version: string;
  commit: string;
  node: string;
}

/** How far up from this file a checkout's .git may be (packages/server/src, or the launcher's bundle cache). */
const MAX_GIT_SEARCH_DEPTH = 8;
const COMMIT = /^[0-9a-f]{7,64}$/;

export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  const fromEnv = env.PHARAOH_COMMIT?.trim().toLowerCase();
  return {
    version: VERSION,
    commit: fromEnv !== undefined && COMMIT.test(fromEnv) ? fromEnv : (gitCommit(hereDir()) ?? 'unknown'),
    node: process.versions.node,
  };
}

/**
 * This package's source directory, found the way Node finds any package (its
 * name resolved from here): the same answer from the sources and from the CLI
 * launcher's bundle, which lives outside them (nothing compiled in).
 */
function hereDir(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve('@pharaoh/server'));
  } catch {
    return undefined; // not loaded from a file
  }
}

/** The commit `.git/HEAD` points to, for the first .git above `start`; undefined if none or unreadable. */
export function gitCommit(start: string | undefined): string | undefined {
  let dir = start;
  for (let i = 0; dir !== undefined && i < MAX_GIT_SEARCH_DEPTH; i++) {
    const git = join(dir, '.git');
    if (existsSync(git)) return readHead(git);
    const up = dirname(dir);
    dir = up === dir ? undefined : up;
  }
  return undefined;
}

function readHead(dotGit: string): string | undefined {
  try {
    // A worktree's .git is a file naming its git dir, whose refs live in the common dir.
    const git = statSync(dotGit).isFile() ? resolve(dirname(dotGit), readFileSync(dotGit, 'utf8').replace(/^gitdir:\s*/, '').trim()) : dotGit;
    const common = existsSync(join(git, 'commondir')) ? resolve(git, readFileSync(join(git, 'commondir'), 'utf8').trim()) : git;
    const head = readFileSync(join(git, 'HEAD'), 'utf8').trim();
    if (COMMIT.test(head)) return head; // detached
    const ref = /^ref: (\S+)$/.exec(head)?.[1];
    if (ref === undefined) return undefined;
    const loose = join(common, ref);
    if (existsSync(loose)) return checked(readFileSync(loose, 'utf8').trim());
    // Packed refs: "<sha> <ref>" lines.
    for (const line of readFileSync(join(common, 'packed-refs'), 'utf8').split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref) return checked(sha ?? '');
    }
  } catch {
    // An odd repository: no commit rather than a wrong one.
  }
  return undefined;
}

function checked(sha: string): string | undefined {
  return COMMIT.test(sha) ? sha : undefined;
}
