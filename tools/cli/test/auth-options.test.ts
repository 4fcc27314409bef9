import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { authOptions } from '../src/client-commands.js';

const dirs: string[] = [];
function file(name: string, text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'pharaoh-cli-auth-'));
  dirs.push(d);
  writeFileSync(join(d, name), text);
  return join(d, name);
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the CLI token and CA options', () => {
  it('reads the token from --token-file, bare or in the server format role:token, skipping comments', () => {
    expect(authOptions({ tokenFile: file('t', '# mine\nclient-token-0123456789\n') }, {})).toEqual({ token: 'client-token-0123456789' });
    expect(authOptions({ tokenFile: file('t', 'admin:admin-token-0123456789\n') }, {})).toEqual({ token: 'admin-token-0123456789' });
  });

  it('falls back to PHARAOH_TOKEN and PHARAOH_CA_FILE, the file flag winning', () => {
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\n');
    expect(authOptions({}, { PHARAOH_TOKEN: 'env-token-0123456789', PHARAOH_CA_FILE: ca })).toEqual({
      token: 'env-token-0123456789',
      tls: { ca: '-----BEGIN CERTIFICATE-----\n' },
    });
    expect(authOptions({ tokenFile: file('t', 'file-token-0123456789') }, { PHARAOH_TOKEN: 'env' }).token).toBe('file-token-0123456789');
    expect(authOptions({}, {})).toEqual({});
  });

  it('says which file it could not read, without printing a token', () => {
    expect(() => authOptions({ tokenFile: '/nonexistent/token' }, {})).toThrow(/cannot read token file \/nonexistent\/token/);
    expect(() => authOptions({ tokenFile: file('t', '# only a comment\n') }, {})).toThrow(/holds no token/);
  });
});
