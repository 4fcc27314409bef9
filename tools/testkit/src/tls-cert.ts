/**
 * A self-signed certificate for 127.0.0.1 / localhost, made at test time with
 * the `openssl` command (EC P-256, valid one day). A separate entry
 * (`@pharaoh/testkit/tls-cert`) because importing it probes for openssl. `opensslAvailable` is false
 * when the command is missing: TLS tests skip with a message then.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const opensslAvailable = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
if (!opensslAvailable) console.warn('openssl not found on PATH: TLS tests are skipped');

export interface TestCert {
  certFile: string;
  keyFile: string;
  /** The certificate itself, which is its own CA. */
  ca: Buffer;
}

/** Write `name`.crt / `name`.key into `dir`. */
export function makeCert(dir: string, name = 'server'): TestCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (r.status !== 0) throw new Error(`openssl failed (${r.status}): ${r.stderr}`);
  return { certFile, keyFile, ca: readFileSync(certFile) };
}
