/**
 * The narrow socket interface the client speaks through. The default opens a
 * WebSocket with `ws`; unit tests pass a fake that talks to an in-memory server.
 */
import WebSocket from 'ws';
import type { ClientTlsOptions } from './options.js';

export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: Uint8Array): void;
  /** Called once, whether the socket closed cleanly, failed to open, or errored. */
  onClose(code: number, reason: string, error?: Error): void;
}

export interface TransportSocket {
  send(data: Uint8Array): void;
  /** Start a clean close; `onClose` follows. */
  close(code?: number, reason?: string): void;
  /** Drop the socket now; `onClose` follows. */
  terminate(): void;
}

export interface Transport {
  open(url: string, handlers: SocketHandlers): TransportSocket;
}

/** Why a server refused the upgrade, in words an operator can act on. */
function upgradeRefused(url: string, status: number): Error {
  const why =
    status === 401
      ? 'the server wants a valid bearer token (client option `token`, or PHARAOH_TOKEN for the CLI)'
      : status === 503
        ? 'the server is at its connection limit or shutting down'
        : 'unexpected answer to the WebSocket upgrade';
  return new Error(`HTTP ${status} from ${url}: ${why}`);
}

/**
 * WebSocket transport over `ws`; binary frames only, no compression (frames are
 * small and hot). `token` goes into the upgrade's Authorization header; `tls`
 * applies to `wss://` URLs.
 */
export function createWsTransport(o: { token?: string | undefined; tls?: ClientTlsOptions | undefined } = {}): Transport {
  const headers = o.token === undefined ? undefined : { authorization: `Bearer ${o.token}` };
  return {
    open: (url, handlers) =>
      openWs(url, handlers, {
        perMessageDeflate: false,
        maxPayload: 64 * 1024 * 1024,
        ...(headers ? { headers } : {}),
        ...(o.tls?.ca !== undefined ? { ca: o.tls.ca } : {}),
        ...(o.tls?.cert !== undefined ? { cert: o.tls.cert } : {}),
        ...(o.tls?.key !== undefined ? { key: o.tls.key } : {}),
      }),
  };
}

/** The default transport: no token, Node's default CA bundle. */
export const wsTransport: Transport = createWsTransport();

function openWs(url: string, handlers: SocketHandlers, options: WebSocket.ClientOptions): TransportSocket {
  const ws = new WebSocket(url, options);
  ws.binaryType = 'nodebuffer';
  let lastError: Error | undefined;
  let closed = false;
  ws.on('unexpected-response', (_req, res) => {
    lastError = upgradeRefused(url, res.statusCode ?? 0);
    res.resume();
    ws.terminate();
  });
  ws.on('open', () => handlers.onOpen());
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) handlers.onMessage(data);
    else ws.close(1003, 'binary frames only');
  });
  ws.on('error', (err: Error) => {
    lastError ??= err; // keep the first cause (e.g. the HTTP 401), not the abort that follows it
  });
  ws.on('close', (code: number, reason: Buffer) => {
    if (closed) return;
    closed = true;
    handlers.onClose(code, reason.toString('utf8'), lastError);
  });
  return {
    send(data) {
      ws.send(data, { binary: true });
    },
    close(code = 1000, reason = '') {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(code, reason);
    },
    terminate() {
      ws.terminate();
    },
  };
}
