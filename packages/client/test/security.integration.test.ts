import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectError, PharaohClient } from '../src/index.js';
import { cleanupApps, startApp, tempDir } from './apps.js';
import { expectIncreasing } from './helpers.js';
import { makeCert, opensslAvailable } from '@pharaoh/testkit/tls-cert';

const TOKEN = 'client-token-for-the-router-test';
const quick = { connectTimeoutMs: 10_000, timeoutMs: 10_000, reconnect: { initialMs: 50, maxMs: 200, jitter: 0.5 } };

afterAll(cleanupApps);

describe.skipIf(!opensslAvailable)('a TLS fleet with tokens (real tso process)', () => {
  it('connects over wss:// with a CA bundle and a token, and is refused without either', async () => {
    const dir = tempDir();
    const cert = makeCert(dir);
    const tokenFile = join(dir, 'tokens');
    writeFileSync(tokenFile, `client:${TOKEN}\n`);
    const app = await startApp('tso', '0-15', join(dir, 'data'), 0, ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--token-file', tokenFile]);
    expect(app.url).toMatch(/^wss:\/\//);
    expect(app.http).toMatch(/^https:\/\//);

    const client = await PharaohClient.connect({ endpoints: [app.url] }, { ...quick, token: TOKEN, tls: { ca: cert.ca } });
    try {
      const ids: bigint[] = [];
      for (let i = 0; i < 50; i++) ids.push(await client.tso.next());
      expectIncreasing(ids);
    } finally {
      await client.close();
    }

    const noToken = await PharaohClient.connect({ endpoints: [app.url] }, { ...quick, tls: { ca: cert.ca } }).catch((e: unknown) => e);
    expect(noToken).toBeInstanceOf(ConnectError);
    expect((noToken as Error).message).toMatch(/HTTP 401 .*bearer token/);

    const untrusted = await PharaohClient.connect({ endpoints: [app.url] }, { ...quick, token: TOKEN }).catch((e: unknown) => e);
    expect(untrusted).toBeInstanceOf(ConnectError);
    expect((untrusted as Error).message).toMatch(/certificate/i);
  }, 90_000);
});

describe('token option', () => {
  it('refuses a token that would break the Authorization header', async () => {
    const { parseClientOptions, InvalidArgumentError } = await import('../src/index.js');
    expect(parseClientOptions({ token: TOKEN }).token).toBe(TOKEN);
    for (const bad of ['', 'two words', 'line\nbreak', 'é-accent']) {
      expect(() => parseClientOptions({ token: bad }), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
  });
});
