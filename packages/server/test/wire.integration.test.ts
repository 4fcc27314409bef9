/**
 * The wire protocol against the real apps (one process per service, started
 * as docs/protocol/vectors/setup.json says): every conformance vector, then a
 * 10,000-frame fuzz per service of wrong types and nested values that must
 * never get INTERNAL.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExchangeVectors, loadSetup } from '@pharaoh/protocol/testing';
import { REGISTRY, type ServiceName } from '@pharaoh/registry';
import { killAll, REPO_ROOT, startApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { fuzzService } from './fuzz.js';
import { runCase } from './vector-runner.js';

/** Every production service: each gets the vectors that name it and the fuzz. */
const SERVICES = REGISTRY.names as ServiceName[];
const setup = loadSetup();
const apps = new Map<string, RunningApp>();
const dirs: Array<{ remove(): void }> = [];

beforeAll(async () => {
  const env = { ...process.env, PHARAOH_TOKENS: `client:${setup.tokens.client},admin:${setup.tokens.admin}` };
  await Promise.all(
    SERVICES.map(async (service) => {
      const data = tempDir(`pharaoh-wire-${service}-`);
      dirs.push(data);
      const args = ['--shards', setup.shards, '--data', data.dir, '--port', '0', '--http-port', '0', '--log-level', 'warn', ...(setup.flags[service] ?? [])];
      apps.set(service, await startApp(join(REPO_ROOT, 'apps', service, 'src', 'main.ts'), args, { env, name: service }));
    }),
  );
}, 120_000);

afterAll(async () => {
  await killAll();
  for (const d of dirs) d.remove();
}, 60_000);

describe('conformance vectors (docs/protocol/vectors)', () => {
  for (const [file, vectors] of loadExchangeVectors()) {
    describe(file, () => {
      for (const c of vectors.cases) {
        for (const service of c.services) {
          it(`${c.name} [${service}]`, async () => {
            expect(await runCase(apps.get(service)!.url, setup, c)).toEqual([]);
          });
        }
      }
    });
  }
});

describe('fuzz: wrong types and nested values', () => {
  for (const service of SERVICES) {
    it(`${service}: 10,000 frames, not one INTERNAL answer, every decodable frame answered`, async () => {
      const r = await fuzzService(apps.get(service)!.url, setup.tokens.admin, service, 10_000, 20261203);
      expect(r.internal, r.internalSamples.join('\n')).toBe(0);
      expect(r.leaks.slice(0, 5)).toEqual([]);
      expect(r.answered + r.closedBy1007).toBe(10_000);
      // The fuzz reaches past validation too: some requests are valid and answered ok.
      expect(r.codes.get('ok') ?? 0).toBeGreaterThan(50);
      expect(r.codes.get('BAD_REQUEST') ?? 0).toBeGreaterThan(1000);
    }, 180_000);
  }
});
