/**
 * Every client-command mistake of issue 18 against real servers (each one ONE
 * child process on 127.0.0.1, port 0, ended by pid): each gets its own
 * one-line cause, never "Is the fleet running?" unless nothing listens, and
 * "lost" never describes a connection that was never made.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startApp, tempDir } from '@pharaoh/testkit';
import type { RunningApp } from '@pharaoh/testkit';
import { makeCert, opensslAvailable } from '@pharaoh/testkit/tls-cert';
import { freePort } from '../src/fleet/preflight.js';
import { BIN, runCli } from './helpers.js';

const TOKEN = 'client-token-for-the-hints-test';
const tmp = tempDir('pharaoh-cli-hints-');
let plainTso: RunningApp;
let tlsTso: RunningApp;
let txcoord: RunningApp;
let caFile: string;
let tokenFile: string;

function serve(service: string, name: string, extra: string[] = []): Promise<RunningApp> {
  const args = ['serve', service, '--shards', '0-3', '--port', '0', '--http-port', '0', '--data', join(tmp.dir, name), '--log-level', 'warn', ...extra];
  return startApp(BIN, args, { tsx: false, name, timeoutMs: 60_000 });
}

beforeAll(async () => {
  const cert = makeCert(tmp.dir);
  caFile = cert.certFile;
  const serverTokens = join(tmp.dir, 'server-tokens');
  writeFileSync(serverTokens, `client:${TOKEN}\n`);
  tokenFile = join(tmp.dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  [plainTso, tlsTso, txcoord] = await Promise.all([
    serve('tso', 'plain'),
    serve('tso', 'tls', ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--token-file', serverTokens]),
    serve('txcoord', 'tx'),
  ]);
}, 120_000);

afterAll(async () => {
  await killAll();
  tmp.remove();
});

/** `pharaoh ts --endpoint <url> …`: exit status, stderr, and how long it took. */
async function ts(url: string, ...extra: string[]): Promise<{ code: number | null; stderr: string; stdout: string; ms: number }> {
  const t0 = Date.now();
  const r = await runCli(['ts', '--endpoint', url, ...extra]);
  return { ...r, ms: Date.now() - t0 };
}

const NOT_RUNNING = /Is the fleet running|is the fleet running/;

describe.skipIf(!opensslAvailable)('client command hints (real servers)', () => {
  it('names an untrusted certificate and how to trust it', async () => {
    const r = await ts(tlsTso.url, '--token-file', tokenFile);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`pharaoh: ${tlsTso.url}: the server's certificate is not trusted (self-signed certificate): pass its CA with --ca-file <pem> or PHARAOH_CA_FILE`);
  });

  it('says the server speaks TLS when ws:// reaches a TLS port', async () => {
    const plainUrl = tlsTso.url.replace('wss://', 'ws://');
    const r = await ts(plainUrl);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`pharaoh: ${plainUrl}: the server speaks TLS: use ${tlsTso.url} and --ca-file <its CA> (or PHARAOH_CA_FILE)`);
  });

  it('says the server does not speak TLS when wss:// reaches a plain port', async () => {
    const tlsUrl = plainTso.url.replace('ws://', 'wss://');
    const r = await ts(tlsUrl);
    expect(r.stderr.trim()).toBe(`pharaoh: ${tlsUrl}: the server does not speak TLS: use ${plainTso.url}`);
  });

  it('says a Pharaoh HTTP port is not the WebSocket endpoint (404 on the upgrade)', async () => {
    const httpAsWs = `ws://127.0.0.1:${plainTso.httpPort}`;
    const r = await ts(httpAsWs);
    expect(r.stderr.trim()).toBe(`pharaoh: ${httpAsWs}: ${plainTso.httpPort} is a Pharaoh HTTP port (/healthz, /readyz, /metrics), not a WebSocket endpoint: use the process's ws:// port`);
  });

  it('asks for a token when the server answers 401, and connects with CA and token', async () => {
    const noToken = await ts(tlsTso.url, '--ca-file', caFile);
    expect(noToken.stderr.trim()).toBe(`pharaoh: ${tlsTso.url}: the server wants a bearer token (HTTP 401): pass --token-file <file> or set PHARAOH_TOKEN`);
    const ok = await ts(tlsTso.url, '--ca-file', caFile, '--token-file', tokenFile, '--count', '2');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('fails at once, naming the service, when a tso call goes to a txcoord endpoint', async () => {
    const r = await ts(txcoord.url, '--timeout', '30000');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`pharaoh: ${txcoord.url} is a txcoord endpoint, not tso`);
    // Not the call timeout: the hello said which service it is (the CLI's own start-up is most of this).
    expect(r.ms).toBeLessThan(10_000);
  });

  it('says nothing listens (and only then asks whether the fleet runs), never "lost"', async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const r = await ts(url);
    expect(r.stderr.trim()).toBe(`pharaoh: ${url}: nothing is listening on ${url.slice(5)} — is the process running?`);
    const file = join(tmp.dir, 'down.json');
    writeFileSync(file, JSON.stringify({ services: { tso: [{ endpoint: url, shards: '0-1023' }] } }));
    const viaFile = await runCli(['ts', '--fleet', file]);
    expect(viaFile.stderr).toMatch(new RegExp(`nothing is listening .* — is the fleet running\\? Start it with \`npx pharaoh fleet up ${file}\``));
    for (const other of [r.stderr, viaFile.stderr]) expect(other).not.toMatch(/\blost\b/);
  });

  it('gives each of several failing endpoints its own line', async () => {
    const plainUrl = tlsTso.url.replace('wss://', 'ws://');
    const r = await runCli(['tx', 'begin', '--endpoint', plainTso.url, plainUrl]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        'pharaoh: no txcoord endpoint can be used:',
        `  ${plainTso.url} is a tso endpoint, not txcoord`,
        `  ${plainUrl}: the server speaks TLS: use ${tlsTso.url} and --ca-file <its CA> (or PHARAOH_CA_FILE)`,
        '',
      ].join('\n'),
    );
    expect(r.stderr).not.toMatch(NOT_RUNNING);
  });

  it('fleet status probes a TLS fleet with --ca-file and the token, and checks each hello', async () => {
    const file = join(tmp.dir, 'tls-fleet.json');
    writeFileSync(
      file,
      JSON.stringify({
        data: join(tmp.dir, 'fleet-data'),
        services: {
          tso: [{ endpoint: tlsTso.url, http: tlsTso.httpUrl, shards: '0-3' }],
          txcoord: [{ endpoint: plainTso.url, http: plainTso.httpUrl, shards: '0-3' }],
        },
      }),
    );
    const untrusted = await runCli(['fleet', 'status', file, '--json']);
    expect(untrusted.code).toBe(1);
    const before = JSON.parse(untrusted.stdout).rows;
    expect(before[0]).toMatchObject({ health: 'untrusted cert', ready: 'untrusted cert', hello: 'untrusted cert' });
    const r = await runCli(['fleet', 'status', file, '--ca-file', caFile, '--token-file', tokenFile]);
    expect(r.code).toBe(1);
    const [, , tsoRow, txRow, , detail] = r.stdout.split('\n');
    expect(tsoRow!.split(/\s+/).slice(4, 7)).toEqual(['ok', 'ok', 'ok']);
    expect(txRow).toContain('tso, not txcoord');
    expect(detail).toBe(`${plainTso.url}: is a tso endpoint, but the fleet file lists it under txcoord`);
  });
});
