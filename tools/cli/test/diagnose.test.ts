import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { certProblem, diagnoseEndpoint, probeTarget } from '../src/diagnose.js';

const servers: Array<{ close(): unknown }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A plain HTTP server on 127.0.0.1, port 0, answering every request with `status`. */
async function httpServer(status: number, body = ''): Promise<number> {
  const s: Server = createServer((_req, res) => res.writeHead(status).end(body));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

describe('diagnoseEndpoint on servers that are not Pharaoh', () => {
  it('calls an HTTP server that refuses the upgrade "not a Pharaoh WebSocket endpoint"', async () => {
    const port = await httpServer(404, 'nope');
    expect(await diagnoseEndpoint(`ws://127.0.0.1:${port}`, { timeoutMs: 2_000 })).toEqual({
      kind: 'not-websocket',
      message: 'HTTP 404 to the WebSocket upgrade: not a Pharaoh WebSocket endpoint',
    });
  });

  it('names a server at its connection limit (503)', async () => {
    const port = await httpServer(503);
    expect((await diagnoseEndpoint(`ws://127.0.0.1:${port}`, { timeoutMs: 2_000 })).kind).toBe('unavailable');
  });

  it('says the token was refused when one was sent and the answer is 401', async () => {
    const port = await httpServer(401);
    const d = await diagnoseEndpoint(`ws://127.0.0.1:${port}`, { timeoutMs: 2_000, token: 'x'.repeat(24) });
    expect(d).toEqual({ kind: 'unauthorized', message: "the server refused the token (HTTP 401): it is not in the server's token file (--token-file / PHARAOH_TOKEN)" });
  });

  it('gives up on a server that accepts and says nothing, within the bound', async () => {
    const s = createTcpServer(() => {});
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    const t0 = Date.now();
    const d = await diagnoseEndpoint(`ws://127.0.0.1:${port}`, { timeoutMs: 300 });
    expect(d.kind).toBe('no-answer');
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('names an unknown host', async () => {
    expect((await diagnoseEndpoint('ws://no-such-host.invalid:7100', { timeoutMs: 2_000 })).message).toMatch(/^host no-such-host\.invalid does not resolve/);
  });
});

describe('certProblem', () => {
  const t = probeTarget('wss://tso-0.example:7100');
  const err = (code: string, message = code) => Object.assign(new Error(message), { code });
  it('says which certificate problem it is and what to do', () => {
    expect(certProblem(t, err('CERT_HAS_EXPIRED'), { valid_to: 'Jan  1 00:00:00 2026 GMT' } as never, undefined).message).toBe(
      "the server's certificate expired on Jan  1 00:00:00 2026 GMT: renew it (docs/SECURITY.md)",
    );
    expect(certProblem(t, err('ERR_TLS_CERT_ALTNAME_INVALID'), { subjectaltname: 'DNS:localhost' } as never, undefined).message).toBe(
      "the server's certificate is not valid for tso-0.example (it names DNS:localhost): connect by one of those names, or reissue the certificate",
    );
    expect(certProblem(t, err('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), undefined, 'pem').message).toBe(
      "the server's certificate is not signed by the CA in --ca-file / PHARAOH_CA_FILE (self-signed certificate in certificate chain)",
    );
  });
});
