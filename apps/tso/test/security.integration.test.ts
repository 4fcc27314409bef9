import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runToExit, tempDir, type RunResult } from '@pharaoh/testkit';
import { TSO_MAIN } from './spawn.js';

const { dir, remove } = tempDir('pharaoh-tso-sec-');
afterAll(remove);

/** This process's environment without any PHARAOH_* security setting, plus `extra`. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['PHARAOH_HOST', 'PHARAOH_TOKEN_FILE', 'PHARAOH_TOKENS', 'PHARAOH_INSECURE', 'PHARAOH_TLS_CERT', 'PHARAOH_TLS_KEY']) delete env[k];
  return { ...env, ...extra };
}

/** Run main.ts to its exit (it must exit by itself: a refused start never listens). */
function runTso(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runToExit(TSO_MAIN, ['--port', '0', '--http-port', '0', '--log-level', 'warn', ...args], { env: cleanEnv(env), timeoutMs: 45_000 });
}

describe('the refuse-to-start rule (tso process)', () => {
  it('exits 1 on a non-loopback --host without a token, saying why, before opening any shard', async () => {
    const data = join(dir, 'a');
    const r = await runTso(['--host', '0.0.0.0', '--shards', '0-3', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/start failed: refusing to listen on 0\.0\.0\.0 without authentication.*--insecure.*\[INSECURE_LISTEN\]/s);
    expect(existsSync(join(data, 'tso'))).toBe(false);
  }, 60_000);

  it('refuses a malformed PHARAOH_TOKENS at start, naming the entry but not the token', async () => {
    const r = await runTso(['--shards', '0', '--data', join(dir, 'b')], { PHARAOH_TOKENS: 'client:tooshort' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PHARAOH_TOKENS: entry 1: a token must be at least 16 characters/);
    expect(r.stderr).not.toContain('tooshort');
  }, 60_000);
});
