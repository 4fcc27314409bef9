/**
 * Why an endpoint cannot be used, in one line an operator can act on. Runs only
 * after the client failed to connect: it probes the endpoint itself — TCP, a
 * TLS handshake, the WebSocket upgrade, `/healthz` — each bounded by a short
 * timeout, so the hint names the real cause (a TLS port reached with ws://, an
 * untrusted certificate, the HTTP port, a missing token) instead of guessing
 * "is the fleet running?".
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { REGISTRY } from '@pharaoh/registry';

export type DiagnosisKind =
  /** Nothing listens on the port (ECONNREFUSED). */
  | 'refused'
  /** The host name does not resolve. */
  | 'unresolved'
  /** No TCP answer, or the server said nothing, within the timeout. */
  | 'no-answer'
  /** `ws://` to a port that speaks TLS. */
  | 'tls-required'
  /** `wss://` to a port that speaks plain HTTP. */
  | 'not-tls'
  /** The certificate is not trusted (no CA, or another CA). */
  | 'tls-untrusted'
  /** The certificate has expired or is not valid yet. */
  | 'tls-expired'
  /** The certificate does not name the host connected to. */
  | 'tls-name'
  /** A Pharaoh HTTP port (/healthz, /metrics): the WebSocket port is another one. */
  | 'http-port'
  /** Some HTTP server that refuses the WebSocket upgrade. */
  | 'not-websocket'
  /** HTTP 401: no token, or one the server does not accept. */
  | 'unauthorized'
  /** HTTP 503: at its connection limit or shutting down. */
  | 'unavailable'
  /** The upgrade works: the failure lies past it (no hello, a bad hello). */
  | 'websocket-ok';

export interface Diagnosis {
  kind: DiagnosisKind;
  /** One line, without the endpoint; undefined for 'websocket-ok' (the client's own error says more). */
  message: string | undefined;
}

export interface ProbeOptions {
  token?: string | undefined;
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  /** Bound on each probe step, in ms. */
  timeoutMs: number;
}

/** TLS verification failures that mean "not signed by a CA you trust". */
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** Where a probe goes, parsed from the endpoint URL. */
export interface ProbeTarget {
  url: URL;
  host: string;
  port: number;
  secure: boolean;
}

export function probeTarget(endpoint: string): ProbeTarget {
  const url = new URL(endpoint);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { url, host, port: Number(url.port || (secure ? 443 : 80)), secure };
}

type TlsProbe =
  | { speaks: 'tls'; cert: PeerCertificate | undefined }
  | { speaks: 'plain' }
  | { failed: 'refused' | 'unresolved' | 'no-answer'; code: string };

/** Offer a TLS handshake without checking the certificate: does the port speak TLS at all? */
function probeTls(t: ProbeTarget, timeoutMs: number): Promise<TlsProbe> {
  return new Promise((resolve) => {
    let tcpUp = false;
    const socket = tlsConnect({ host: t.host, port: t.port, rejectUnauthorized: false, ...(isIP(t.host) ? {} : { servername: t.host }) });
    const done = (r: TlsProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(tcpUp ? { speaks: 'plain' } : { failed: 'no-answer', code: 'ETIMEDOUT' }), timeoutMs);
    socket.once('connect', () => (tcpUp = true));
    socket.once('secureConnect', () => done({ speaks: 'tls', cert: socket.getPeerCertificate() }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (code === 'ECONNREFUSED') done({ failed: 'refused', code });
      else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') done({ failed: 'unresolved', code });
      else if (!tcpUp) done({ failed: 'no-answer', code });
      // Connected, then the handshake failed (EPROTO "wrong version number", a reset): a plain server.
      else done({ speaks: 'plain' });
    });
  });
}

/** Handshake again, this time checking the certificate with `ca` (or the system CAs). */
function verifyTls(t: ProbeTarget, ca: ProbeOptions['ca'], timeoutMs: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: t.host, port: t.port, ...(ca === undefined ? {} : { ca }), ...(isIP(t.host) ? {} : { servername: t.host }) });
    const done = (err: NodeJS.ErrnoException | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(Object.assign(new Error('TLS handshake timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err));
  });
}

type HttpAnswer = { status: number; body: string } | { upgraded: true } | { error: string };

/** One HTTP(S) request; reads at most a few KB of the body. */
function httpAnswer(t: ProbeTarget, path: string, headers: Record<string, string>, ca: ProbeOptions['ca'], timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const opts: RequestOptions & { ca?: ProbeOptions['ca'] } = { host: t.host, port: t.port, path, headers, timeout: timeoutMs };
    if (t.secure && ca !== undefined) opts.ca = ca;
    let req: ClientRequest;
    const done = (a: HttpAnswer) => {
      clearTimeout(timer);
      req.destroy();
      resolve(a);
    };
    req = (t.secure ? httpsRequest : httpRequest)(opts);
    const timer = setTimeout(() => done({ error: 'no answer' }), timeoutMs);
    req.once('upgrade', (_res, socket) => {
      socket.destroy();
      done({ upgraded: true });
    });
    req.once('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 4096) body += d;
      });
      res.once('end', () => done({ status: res.statusCode ?? 0, body }));
      res.once('error', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', (err) => done({ error: err.message }));
    req.end();
  });
}

/** The line for a certificate the handshake refused (exported for tests). */
export function certProblem(t: ProbeTarget, err: NodeJS.ErrnoException, cert: PeerCertificate | undefined, ca: ProbeOptions['ca']): Diagnosis {
  const code = err.code ?? '';
  if (code === 'CERT_HAS_EXPIRED') {
    return { kind: 'tls-expired', message: `the server's certificate expired${cert?.valid_to ? ` on ${cert.valid_to}` : ''}: renew it (docs/SECURITY.md)` };
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return { kind: 'tls-expired', message: `the server's certificate is not valid until ${cert?.valid_from ?? 'later'}: is this machine's clock right?` };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = cert?.subjectaltname ?? cert?.subject?.CN ?? 'other names';
    return { kind: 'tls-name', message: `the server's certificate is not valid for ${t.host} (it names ${names}): connect by one of those names, or reissue the certificate` };
  }
  if (UNTRUSTED_CODES.has(code)) {
    return {
      kind: 'tls-untrusted',
      message:
        ca === undefined
          ? `the server's certificate is not trusted (${err.message}): pass its CA with --ca-file <pem> or PHARAOH_CA_FILE`
          : `the server's certificate is not signed by the CA in --ca-file / PHARAOH_CA_FILE (${err.message})`,
    };
  }
  return { kind: 'tls-untrusted', message: `TLS handshake failed: ${err.message}${code ? ` (${code})` : ''}` };
}

/** `(the default fleet's tso WebSocket port is 7100)` when `port` is one of the default fleet's HTTP ports. */
function defaultWsPortHint(port: number): string {
  const s = REGISTRY.services.find((x) => x.ports.http === port);
  return s === undefined ? '' : ` (in the default fleet, ${port} is ${s.name}'s HTTP port and ${s.ports.ws} its WebSocket port)`;
}

/** What the WebSocket upgrade and `/healthz` say, once TCP and TLS are known to be right. */
async function probeUpgrade(t: ProbeTarget, o: ProbeOptions): Promise<Diagnosis> {
  const headers: Record<string, string> = {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': randomBytes(16).toString('base64'),
  };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  const a = await httpAnswer(t, t.url.pathname || '/', headers, o.ca, o.timeoutMs);
  if ('upgraded' in a) return { kind: 'websocket-ok', message: undefined };
  if ('error' in a) return { kind: 'no-answer', message: `no answer to the WebSocket upgrade within ${o.timeoutMs} ms (${a.error})` };
  if (a.status === 401) {
    return {
      kind: 'unauthorized',
      message:
        o.token === undefined
          ? 'the server wants a bearer token (HTTP 401): pass --token-file <file> or set PHARAOH_TOKEN'
          : "the server refused the token (HTTP 401): it is not in the server's token file (--token-file / PHARAOH_TOKEN)",
    };
  }
  if (a.status === 503) return { kind: 'unavailable', message: 'the server is at its connection limit or shutting down (HTTP 503): retry, or check its logs' };
  const health = await httpAnswer(t, '/healthz', {}, o.ca, o.timeoutMs);
  if ('status' in health && health.status === 200 && /"status"\s*:\s*"ok"/.test(health.body)) {
    const scheme = t.secure ? 'wss' : 'ws';
    return {
      kind: 'http-port',
      message: `${t.port} is a Pharaoh HTTP port (/healthz, /readyz, /metrics), not a WebSocket endpoint: use the process's ${scheme}:// port${defaultWsPortHint(t.port)}`,
    };
  }
  return { kind: 'not-websocket', message: `HTTP ${a.status} to the WebSocket upgrade: not a Pharaoh WebSocket endpoint` };
}

/** Probe `endpoint` (a ws:// or wss:// URL) and say in one line why it cannot be used. */
export async function diagnoseEndpoint(endpoint: string, o: ProbeOptions): Promise<Diagnosis> {
  const t = probeTarget(endpoint);
  const tls = await probeTls(t, o.timeoutMs);
  if ('failed' in tls) {
    if (tls.failed === 'refused') return { kind: 'refused', message: `nothing is listening on ${t.host}:${t.port}` };
    if (tls.failed === 'unresolved') return { kind: 'unresolved', message: `host ${t.host} does not resolve (${tls.code})` };
    return { kind: 'no-answer', message: `no answer from ${t.host}:${t.port} within ${o.timeoutMs} ms${tls.code ? ` (${tls.code})` : ''}: the wrong host, or a firewall?` };
  }
  const path = t.url.pathname === '/' ? '' : t.url.pathname;
  if (!t.secure && tls.speaks === 'tls') {
    return { kind: 'tls-required', message: `the server speaks TLS: use wss://${t.url.host}${path} and --ca-file <its CA> (or PHARAOH_CA_FILE)` };
  }
  if (t.secure && tls.speaks === 'plain') {
    return { kind: 'not-tls', message: `the server does not speak TLS: use ws://${t.url.host}${path}` };
  }
  if (t.secure && tls.speaks === 'tls') {
    const err = await verifyTls(t, o.ca, o.timeoutMs);
    if (err !== undefined) return certProblem(t, err, tls.cert, o.ca);
  }
  return probeUpgrade(t, o);
}
