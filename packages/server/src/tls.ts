/**
 * The two listening servers of a process (WebSocket port, HTTP ops port), plain
 * or TLS. Certificate and key are read from PEM files at start and again on
 * `reload()`, so a renewed certificate is picked up without a restart.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** Read and check a certificate and key. Throws ServerError TLS_FAILED naming the file. */
export function readTls(certFile: string, keyFile: string): TlsMaterial {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ServerError(SERVER_ERROR_CODES.TLS_FAILED, `cannot read TLS ${what} ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const material = { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
  try {
    createSecureContext(material); // a mismatched or malformed pair fails here, not at the first handshake
  } catch (err) {
    throw new ServerError(SERVER_ERROR_CODES.TLS_FAILED, `TLS certificate ${certFile} / key ${keyFile} unusable: ${(err as Error).message}`, { cause: err });
  }
  return material;
}

/** An HTTP server, or an HTTPS one when `tls` is given (both emit 'request' and 'upgrade'). */
export function createPortServer(tls: TlsMaterial | undefined, handler: RequestListener): Server {
  if (tls === undefined) return createHttpServer(handler);
  return createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler) as unknown as Server;
}

/** Swap the certificate of a TLS server created by `createPortServer` (no-op for plain HTTP). */
export function setTls(server: Server, tls: TlsMaterial): void {
  const s = server as unknown as HttpsServer;
  if (typeof s.setSecureContext === 'function') s.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
}
