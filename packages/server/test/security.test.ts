import { get as httpsGet } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';
import { CLOSE_CODES } from '@pharaoh/protocol';
import { TSO, defineService } from '@pharaoh/registry';
import type { ServiceDefinition } from '../src/index.js';
import { ServerError, TokenStore, isLoopbackHost, parseTokenLines, startServer } from '../src/index.js';
import type { RunningServer, ServerOptions } from '../src/index.js';
import { metricValue, quietLogger, start, tempDir, testService } from './helpers.js';
import { RawClient } from '@pharaoh/testkit';
import { makeCert, opensslAvailable } from '@pharaoh/testkit/tls-cert';

const ADMIN = 'admin-token-0123456789abcdef';
const CLIENT = 'client-token-0123456789abcdef';
const TOKENS = [
  { role: 'admin' as const, token: ADMIN },
  { role: 'client' as const, token: CLIENT },
];

let data: ReturnType<typeof tempDir>;
let server: RunningServer | undefined;
const clients: RawClient[] = [];

beforeEach(() => {
  data = tempDir();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = undefined;
  data.remove();
});

const bearer = (token: string): ClientOptions => ({ headers: { authorization: `Bearer ${token}` } });

async function connect(url: string, options: ClientOptions = {}): Promise<RawClient> {
  const c = await RawClient.connect(url, { timeoutMs: 10_000, ws: options });
  clients.push(c);
  return c;
}

/** The HTTP status of a WebSocket upgrade attempt (101 when it succeeded). */
function upgradeStatus(url: string, options: ClientOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(-1));
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
  });
}

async function httpStatus(port: number, path: string, token?: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  await res.text();
  return res.status;
}

/** A logger whose JSON lines land in `lines`. */
function capturingLogger(lines: string[]): ServerOptions['logger'] {
  return pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
}

describe('tokens', () => {
  it('parses role:token lines, skipping blanks and comments, and refuses short tokens or unknown roles', () => {
    expect(parseTokenLines(`# fleet tokens\nadmin:${ADMIN}\n\nclient:${CLIENT}\n`, 'f')).toEqual(TOKENS);
    expect(() => parseTokenLines('client:short', 'f')).toThrow(/at least 16/);
    expect(() => parseTokenLines(`root:${ADMIN}`, 'f')).toThrow(/client:<token>/);
    expect(() => parseTokenLines(`client:${ADMIN} x`, 'f')).toThrow(/may hold only/);
  });

  it('accepts only a listed token in a Bearer header, whatever the length of a wrong one', () => {
    const store = new TokenStore(undefined, TOKENS);
    expect(store.check(`Bearer ${CLIENT}`)).toEqual({ ok: true, role: 'client' });
    expect(store.check(`bearer ${ADMIN}`)).toEqual({ ok: true, role: 'admin' });
    expect(store.check(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(store.check(`Basic ${ADMIN}`)).toEqual({ ok: false, reason: 'malformed' });
    for (const wrong of ['x', ADMIN.slice(0, -1), ADMIN + 'x', 'y'.repeat(5000)]) {
      expect(store.check(`Bearer ${wrong}`)).toEqual({ ok: false, reason: 'wrong_token' });
    }
  });

  it('tells loopback hosts from the others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('authentication at the upgrade', () => {
  it('refuses an upgrade without a token or with a wrong one with HTTP 401, counts it and never logs the token', async () => {
    const lines: string[] = [];
    server = await start(testService(), data.dir, { auth: { tokens: TOKENS }, logger: capturingLogger(lines) });
    const wrong = 'wrong-token-that-must-not-be-logged';
    expect(await upgradeStatus(server.url)).toBe(401);
    expect(await upgradeStatus(server.url, bearer(wrong))).toBe(401);
    expect(await upgradeStatus(server.url, { headers: { authorization: `Token ${wrong}` } })).toBe(401);
    expect(await upgradeStatus(server.url, bearer(CLIENT))).toBe(101);
    const m = await (await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(metricValue(m, 'pharaoh_auth_failures_total', { reason: 'missing' })).toBe(1);
    expect(metricValue(m, 'pharaoh_auth_failures_total', { reason: 'wrong_token' })).toBe(1);
    expect(metricValue(m, 'pharaoh_auth_failures_total', { reason: 'malformed' })).toBe(1);
    const failures = lines.filter((l) => l.includes('authentication failed'));
    expect(failures.length).toBe(3);
    expect(failures.map((l) => JSON.parse(l).reason)).toEqual(['missing', 'wrong_token', 'malformed']);
    expect(lines.join('')).not.toContain(wrong);
    expect(lines.join('')).not.toContain(CLIENT);
  });

  it("answers FORBIDDEN to a client token for a service op its registry entry marks admin (txcoord's tx.resolve kind)", async () => {
    const spec = defineService({
      ...TSO,
      ops: { ...TSO.ops, 'ts.fix': { fields: [['shard', 'shard', false]], result: { done: 'bool' }, route: 'shard', issues: 0, admin: true } },
    });
    const service: ServiceDefinition<typeof spec, { opened: number }> = {
      spec,
      openShard: async () => ({ opened: 1 }),
      handlers: { 'ts.get': (a, shard) => shard.generator.nextRange(a.count, a.after), 'ts.fix': () => ({ done: true }) },
    };
    server = await start(service, data.dir, { shards: '0-3', auth: { tokens: TOKENS } });
    const client = await connect(server.url, bearer(CLIENT));
    await client.ok('ts.get', { shard: 1, count: 1 });
    expect((await client.request('ts.fix', { shard: 1 })).err?.code).toBe('FORBIDDEN');
    const admin = await connect(server.url, bearer(ADMIN));
    expect(await admin.ok('ts.fix', { shard: 1 })).toEqual({ done: true });
  });

  it('lets a client token issue IDs but answers FORBIDDEN to an admin-only op, which an admin token may call', async () => {
    server = await start(testService(), data.dir, { shards: '0-3', auth: { tokens: TOKENS } });
    const client = await connect(server.url, bearer(CLIENT));
    await client.ok('ts.get', { shard: 1, count: 5 });
    const refused = await client.request('admin.info');
    expect(refused.err?.code).toBe('FORBIDDEN');
    await client.ok('ping'); // the connection stays usable
    const admin = await connect(server.url, bearer(ADMIN));
    const info = await admin.ok<Record<string, unknown>>('admin.info');
    expect(info).toMatchObject({ service: 'tso', pid: process.pid, shards: [[0, 3]], unavailable: [], connections: 2, tls: false, auth: true });
    const m = await (await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(metricValue(m, 'pharaoh_requests_total', { op: 'admin.info', outcome: 'FORBIDDEN' })).toBe(1);
    expect(metricValue(m, 'pharaoh_auth_failures_total', { reason: 'forbidden' })).toBe(1);
  });

  it('lets every connection call admin ops when authentication is off (loopback default)', async () => {
    server = await start(testService(), data.dir);
    const c = await connect(server.url);
    expect((await c.ok<{ auth: boolean }>('admin.info')).auth).toBe(false);
  });

  it('keeps /healthz and /readyz open but wants an admin token for /metrics', async () => {
    server = await start(testService(), data.dir, { auth: { tokens: TOKENS } });
    expect(await httpStatus(server.httpPort, '/healthz')).toBe(200);
    expect(await httpStatus(server.httpPort, '/readyz')).toBe(200);
    expect(await httpStatus(server.httpPort, '/metrics')).toBe(401);
    expect(await httpStatus(server.httpPort, '/metrics', 'not-a-token-at-all-123')).toBe(401);
    expect(await httpStatus(server.httpPort, '/metrics', CLIENT)).toBe(403);
    expect(await httpStatus(server.httpPort, '/metrics', ADMIN)).toBe(200);
  });

  it('rotates tokens on reload: old and new accepted together, then only the new; a bad file keeps the last good set', async () => {
    const file = join(data.dir, 'tokens');
    const [oldT, newT] = ['old-token-aaaaaaaaaaaaaaaa', 'new-token-bbbbbbbbbbbbbbbb'];
    writeFileSync(file, `client:${oldT}\n`);
    server = await start(testService(), data.dir, { auth: { tokenFile: file } });
    const held = await connect(server.url, bearer(oldT));
    writeFileSync(file, `client:${oldT}\nclient:${newT}\n`);
    server.reload();
    expect(await upgradeStatus(server.url, bearer(oldT))).toBe(101);
    expect(await upgradeStatus(server.url, bearer(newT))).toBe(101);
    writeFileSync(file, `client:${newT}\n`);
    server.reload();
    expect(await upgradeStatus(server.url, bearer(oldT))).toBe(401);
    expect(await upgradeStatus(server.url, bearer(newT))).toBe(101);
    await held.ok('ping'); // connections made with the old token are not cut
    writeFileSync(file, 'client:oops\n');
    expect(() => server!.reload()).toThrow(/at least 16/);
    expect(await upgradeStatus(server.url, bearer(newT))).toBe(101);
  });
});

describe('safe defaults', () => {
  it('refuses to start on a non-loopback host without a token, saying why and locking no shard', async () => {
    const err = await startServer(testService(), { shards: '0-1', dataDir: data.dir, host: '0.0.0.0', port: 0, httpPort: 0, logger: quietLogger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServerError);
    expect((err as ServerError).code).toBe('INSECURE_LISTEN');
    expect((err as Error).message).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication.*--insecure/);
    // Nothing was left locked or listening: the same shards start on loopback.
    server = await start(testService(), data.dir, { shards: '0-1' });
  });

  it('starts on a non-loopback host once tokens are configured, or with insecure given explicitly', async () => {
    const base = { shards: '0-1', dataDir: data.dir, host: '0.0.0.0', port: 0, httpPort: 0, logger: quietLogger };
    server = await startServer(testService(), { ...base, auth: { tokens: TOKENS } });
    expect(await upgradeStatus(`ws://127.0.0.1:${server.port}`)).toBe(401);
    await server.close();
    server = await startServer(testService(), { ...base, insecure: true });
    expect(await upgradeStatus(`ws://127.0.0.1:${server.port}`)).toBe(101);
  });

  it('closes a connection that sends nothing for idleTimeoutMs, and keeps a busy one open', async () => {
    server = await start(testService(), data.dir, { limits: { idleTimeoutMs: 400 } });
    const idle = await connect(server.url);
    const busy = await connect(server.url);
    const t0 = Date.now();
    let closedBusy = false;
    void busy.closed.then(() => (closedBusy = true));
    const closed = await Promise.race([
      idle.closed,
      (async () => {
        for (;;) {
          await busy.ok('ping');
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    ]);
    expect(closed).toEqual({ code: CLOSE_CODES.NORMAL, reason: 'idle timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    for (let i = 0; i < 10; i++) {
      await busy.ok('ping');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(closedBusy).toBe(false);
  });
});

describe.skipIf(!opensslAvailable)('TLS', () => {
  it('serves wss:// and https:// with a certificate made at test time, and refuses a client that does not trust it', async () => {
    const cert = makeCert(data.dir);
    server = await start(testService(), data.dir, { tls: { certFile: cert.certFile, keyFile: cert.keyFile }, auth: { tokens: TOKENS } });
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect(server.httpUrl).toMatch(/^https:\/\//);
    const c = await connect(server.url, { ca: cert.ca, ...bearer(CLIENT) });
    const r = await c.ok<{ first: bigint; count: number }>('ts.get', { shard: 2, count: 3 });
    expect(typeof r.first).toBe('bigint');
    expect(r.count).toBe(3);
    expect(await upgradeStatus(server.url, { ca: cert.ca })).toBe(401);
    expect(await upgradeStatus(server.url, bearer(CLIENT))).toBe(-1); // self-signed: untrusted without the CA
    expect(await upgradeStatus(server.url.replace('wss:', 'ws:'), bearer(CLIENT))).toBe(-1); // no plain text on the TLS port
    const health = await new Promise<number>((resolve, reject) => {
      httpsGet(`${server!.httpUrl}/healthz`, { ca: cert.ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(health).toBe(200);
  });

  it('picks up a renewed certificate on reload and refuses a start with an unreadable key', async () => {
    const first = makeCert(data.dir, 'first');
    const second = makeCert(data.dir, 'second');
    const certFile = join(data.dir, 'live.crt');
    const keyFile = join(data.dir, 'live.key');
    const copy = (c: typeof first): void => {
      writeFileSync(certFile, c.ca);
      writeFileSync(keyFile, readFileSync(c.keyFile));
    };
    copy(first);
    server = await start(testService(), data.dir, { tls: { certFile, keyFile } });
    expect(await upgradeStatus(server.url, { ca: first.ca })).toBe(101);
    copy(second);
    server.reload();
    expect(await upgradeStatus(server.url, { ca: second.ca })).toBe(101);
    expect(await upgradeStatus(server.url, { ca: first.ca })).toBe(-1);
    const err = await start(testService(), tempDir().dir, { tls: { certFile, keyFile: join(data.dir, 'missing.key') } }).catch((e: unknown) => e);
    expect((err as ServerError).code).toBe('TLS_FAILED');
  });
});
