/**
 * One entry path: `pharaoh serve <service>` and the app's own main.ts run the
 * same code, and a service's options are checked before anything touches the
 * disk (a refused start leaves no directory behind).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runToExit, tempDir } from '@pharaoh/testkit';
import { runCli } from './helpers.js';

const dirs: Array<{ remove(): void }> = [];
afterAll(() => {
  for (const d of dirs) d.remove();
});

function scratch(): string {
  const d = tempDir('pharaoh-serve-');
  dirs.push(d);
  return d.dir;
}

const flags = (data: string): string[] => ['--shards', '0-3', '--port', '0', '--http-port', '0', '--data', data];

describe('pharaoh serve', () => {
  it('refuses `txcoord --max-open-tx 0` before creating any directory, as txcoord main.ts does, with the same message', { timeout: 120_000 }, async () => {
    const viaCli = join(scratch(), 'data');
    const cli = await runCli(['serve', 'txcoord', ...flags(viaCli), '--max-open-tx', '0']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('pharaoh txcoord: maxOpenTx (--max-open-tx) must be an integer in [1, 10000000], got 0 [BAD_OPTIONS]');
    expect(existsSync(viaCli)).toBe(false);

    const viaMain = join(scratch(), 'data');
    const main = await runToExit(join(REPO_ROOT, 'apps', 'txcoord', 'src', 'main.ts'), [...flags(viaMain), '--max-open-tx', '0'], { timeoutMs: 90_000 });
    expect(main.code).toBe(1);
    expect(main.stderr.trim()).toBe(cli.stderr.trim());
    expect(existsSync(viaMain)).toBe(false);
  });

  it('refuses a bad option from the environment the same way (PHARAOH_SESSION_MAX_LIVE)', { timeout: 120_000 }, async () => {
    const data = join(scratch(), 'data');
    const r = await runToExit(join(REPO_ROOT, 'apps', 'session-mgr', 'src', 'main.ts'), flags(data), { timeoutMs: 90_000, env: { ...process.env, PHARAOH_SESSION_MAX_LIVE: 'many' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pharaoh session-mgr: maxSessions (--max-sessions) must be an integer in [1, 10000000], got many [BAD_OPTIONS]');
    expect(existsSync(data)).toBe(false);
  });

  it('refuses a service the registry does not list, naming the ones it does', { timeout: 120_000 }, async () => {
    const r = await runCli(['serve', 'tsx', '--data', join(scratch(), 'data')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown service "tsx": expected one of tso, txcoord, session-mgr');
  });
});
