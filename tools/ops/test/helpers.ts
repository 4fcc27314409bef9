import { get as httpsGet } from 'node:https';
import { get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** GET `url` (http or https, trusting `ca`), with a bearer token if given. */
export function fetchText(url: string, opts: { ca?: Buffer; token?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  const get = url.startsWith('https:') ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { ...(opts.ca ? { ca: opts.ca } : {}), headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}
