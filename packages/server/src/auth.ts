/**
 * Bearer-token authentication at the WebSocket upgrade (and on /metrics).
 *
 * Tokens come from a token file (one `role:token` per line) and/or a list in
 * the options (e.g. from `PHARAOH_TOKENS`). Only SHA-256 digests of the
 * accepted tokens are kept; a presented token is hashed and compared with
 * every accepted digest by `crypto.timingSafeEqual`, without stopping at the
 * first match, so neither the token's length nor its position leaks through
 * timing. Tokens themselves are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROLES } from '@pharaoh/protocol';
import type { Role } from '@pharaoh/protocol';
import { ServerError, SERVER_ERROR_CODES } from './errors.js';

/** One accepted token and the role it grants. */
export interface TokenEntry {
  role: Role;
  token: string;
}

/**
 * 16 characters: a token is a shared secret; shorter ones are guessable by a
 * patient attacker. Generate with `openssl rand -base64 32`.
 */
export const MIN_TOKEN_LENGTH = 16;
/** RFC 6750 `b64token` characters: what fits in `Authorization: Bearer …` unquoted. */
const TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Why an upgrade (or a /metrics request) was refused; the `reason` label of `pharaoh_auth_failures_total`. */
export type AuthFailure = 'missing' | 'malformed' | 'wrong_token' | 'forbidden';

export type AuthResult = { ok: true; role: Role } | { ok: false; reason: AuthFailure };

function bad(message: string): ServerError {
  return new ServerError(SERVER_ERROR_CODES.BAD_OPTIONS, message);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Parse token lines: `role:token`, blank lines and `#` comments ignored.
 * `where` names the source in error messages (never the token).
 */
export function parseTokenLines(text: string, where: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  const lines = text.split(/[\r\n,]+/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const role = line.slice(0, colon);
    const token = line.slice(colon + 1);
    if (colon < 0 || !(ROLES as readonly string[]).includes(role)) {
      throw bad(`${where}: entry ${i + 1} must look like "client:<token>" or "admin:<token>"`);
    }
    checkToken(token, `${where}: entry ${i + 1}`);
    out.push({ role: role as Role, token });
  }
  return out;
}

function checkToken(token: string, where: string): void {
  if (token.length < MIN_TOKEN_LENGTH) throw bad(`${where}: a token must be at least ${MIN_TOKEN_LENGTH} characters`);
  if (!TOKEN_RE.test(token)) throw bad(`${where}: a token may hold only A-Z a-z 0-9 - . _ ~ + / and trailing =`);
}

/** The accepted tokens of a process. Swappable at run time (`reload`), so tokens rotate without a restart. */
export class TokenStore {
  private entries: Array<{ role: Role; hash: Buffer }> = [];

  constructor(
    /** Re-read on `reload()` (SIGHUP). */
    private readonly file: string | undefined,
    private readonly inline: readonly TokenEntry[],
  ) {
    this.reload();
  }

  /** Is authentication on (at least one token accepted)? */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Accepted tokens per role (for `pharaoh_auth_tokens`: a rotation shows as a count going up, then down). */
  countByRole(): Array<{ role: Role; count: number }> {
    return ROLES.map((role) => ({ role, count: this.entries.filter((e) => e.role === role).length })).filter((r) => r.count > 0);
  }

  /**
   * Re-read the token file and replace the accepted set at once. On a bad file
   * throws and keeps the previous set (a typo must not lock everyone out, nor
   * open the door). Connections already authenticated stay open.
   */
  reload(): void {
    const list: TokenEntry[] = [];
    for (const t of this.inline) {
      if (!(ROLES as readonly string[]).includes(t.role)) throw bad(`tokens: role must be client or admin`);
      checkToken(t.token, 'tokens');
      list.push(t);
    }
    if (this.file !== undefined) {
      let text: string;
      try {
        text = readFileSync(this.file, 'utf8');
      } catch (err) {
        throw bad(`token file ${this.file}: ${(err as Error).message}`);
      }
      list.push(...parseTokenLines(text, `token file ${this.file}`));
    }
    this.entries = list.map((t) => ({ role: t.role, hash: digest(t.token) }));
  }

  /** Check an `Authorization` header value. Constant time in the token; never throws. */
  check(header: string | undefined): AuthResult {
    if (header === undefined || header === '') return { ok: false, reason: 'missing' };
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (m === null) return { ok: false, reason: 'malformed' };
    const presented = digest(m[1]!);
    let role: Role | undefined;
    for (const e of this.entries) {
      // No early exit: every digest is compared whatever matched before.
      if (timingSafeEqual(presented, e.hash) && (role === undefined || e.role === 'admin')) role = e.role;
    }
    return role === undefined ? { ok: false, reason: 'wrong_token' } : { ok: true, role };
  }
}

/** Loopback addresses: the only ones a process may listen on without a token (unless `insecure`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}
