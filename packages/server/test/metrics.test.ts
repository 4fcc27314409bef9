import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawClient } from '@pharaoh/testkit';
import { SimulatedFs } from '@pharaoh/storage/testing';
import { makeCert, opensslAvailable } from '@pharaoh/testkit/tls-cert';
import type { RunningServer } from '../src/index.js';
import { gitCommit, buildInfo } from '../src/build-info.js';
import { metricValue, start, tempDir, testService } from './helpers.js';

const ADMIN = 'admin-token-0123456789abcdef';
const ADMIN2 = 'admin-token-rotated-0123456789';
const CLIENT = 'client-token-0123456789abcdef';

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

async function metrics(token?: string): Promise<string> {
  const scheme = server!.httpUrl;
  const res = await fetch(`${scheme}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status).toBe(200);
  return res.text();
}

/** Every series (name and label set) of a scrape that carries `label`. */
function seriesWithLabel(text: string, label: string): string[] {
  return text.split('\n').filter((l) => !l.startsWith('#') && new RegExp(`[{,]${label}="`).test(l));
}

describe('/metrics cardinality', () => {
  it('labels no series by shard by default, summing IDs by op over the hosted shards', async () => {
    server = await start(testService(), data.dir, { shards: '0-5' });
    const c = await RawClient.connect(server.url);
    clients.push(c);
    for (const shard of [0, 1, 2]) await c.ok('ts.get', { shard, count: 10 });
    const m = await metrics();
    expect(seriesWithLabel(m, 'shard')).toEqual([]);
    expect(metricValue(m, 'pharaoh_ids_issued_total', { op: 'ts.get' })).toBe(30);
    expect(metricValue(m, 'pharaoh_shards_hosted')).toBe(6);
    expect(metricValue(m, 'pharaoh_shards_unavailable')).toBe(0);
    expect(m).not.toContain('pharaoh_shard_up');
    expect(m).not.toContain('pharaoh_shard_requests_total');
  });

  it('exports per-shard series when metrics.perShard is on', async () => {
    server = await start(testService(), data.dir, { shards: '0-5', metrics: { perShard: true } });
    const c = await RawClient.connect(server.url);
    clients.push(c);
    await c.ok('ts.get', { shard: 4, count: 7 });
    const m = await metrics();
    expect(metricValue(m, 'pharaoh_ids_issued_total', { op: 'ts.get', shard: '4' })).toBe(7);
    expect(metricValue(m, 'pharaoh_shard_requests_total', { op: 'ts.get', shard: '4' })).toBe(1);
    expect(metricValue(m, 'pharaoh_shard_up', { shard: '5' })).toBe(1);
  });

  it('refuses a metrics option that is not a boolean', async () => {
    await expect(start(testService(), data.dir, { metrics: { perShard: 'yes' as never } })).rejects.toThrow(/metrics.perShard must be a boolean/);
  });
});

describe('/metrics process figures', () => {
  it('exports build info, start time, the data dir file system, in-flight requests and bound fsyncs by kind', async () => {
    server = await start(testService(), data.dir, { shards: '0-1' });
    const c = await RawClient.connect(server.url);
    clients.push(c);
    await c.ok('ts.get', { shard: 0, count: 1 });
    const m = await metrics();
    const info = buildInfo();
    expect(metricValue(m, 'pharaoh_build_info', { version: info.version, node: process.versions.node, service: 'tso' })).toBe(1);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    const started = metricValue(m, 'process_start_time_seconds')!;
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(600);
    const free = metricValue(m, 'pharaoh_data_dir_free_bytes')!;
    const size = metricValue(m, 'pharaoh_data_dir_size_bytes')!;
    expect(free).toBeGreaterThan(0);
    expect(size).toBeGreaterThanOrEqual(free);
    expect(metricValue(m, 'pharaoh_data_dir_free_inodes')).toBeGreaterThanOrEqual(0);
    expect(metricValue(m, 'pharaoh_requests_in_flight')).toBe(0);
    expect(metricValue(m, 'pharaoh_fsync_duration_seconds_count', { kind: 'bound' })).toBeGreaterThanOrEqual(1);
    // No journal in this service: no journal series at all, rather than zeros that look like data.
    expect(metricValue(m, 'pharaoh_fsync_duration_seconds_count', { kind: 'journal' })).toBeUndefined();
    expect(metricValue(m, 'pharaoh_journal_bytes')).toBeUndefined();
    expect(metricValue(m, 'pharaoh_open_transactions')).toBeUndefined();
    // Without TLS there is no certificate to expire, and without tokens no token counts.
    expect(m).not.toMatch(/^pharaoh_tls_certificate_expiry_timestamp_seconds/m);
    expect(metricValue(m, 'pharaoh_auth_tokens')).toBeUndefined();
  });

  it('reads the commit from PHARAOH_COMMIT, else from the checkout, else says unknown', () => {
    expect(buildInfo({ PHARAOH_COMMIT: 'ABCDEF1234567' }).commit).toBe('abcdef1234567');
    const fromCheckout = buildInfo({ PHARAOH_COMMIT: 'not a commit' }).commit;
    expect(fromCheckout === 'unknown' || /^[0-9a-f]{40}$/.test(fromCheckout)).toBe(true);
    const repo = tempDir('pharaoh-git-');
    try {
      const sha = 'a'.repeat(40);
      const git = join(repo.dir, '.git');
      for (const [path, text] of [
        ['HEAD', 'ref: refs/heads/main\n'],
        ['packed-refs', `# pack-refs with: peeled\n${sha} refs/heads/main\n`],
      ] as const) {
        const file = join(git, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      expect(gitCommit(join(repo.dir, 'a', 'b'))).toBe(sha); // found two levels up, from packed refs
      expect(gitCommit(undefined)).toBeUndefined();
    } finally {
      repo.remove();
    }
  });
});

describe('/metrics shard failures', () => {
  it('counts a storage failure of every shard and their reopening once the disk works again', async () => {
    const disk = new SimulatedFs({ seed: 11, dirs: [data.dir] });
    server = await start(testService(), data.dir, { shards: '0-2', fs: disk, windowMs: 5, reopenBackoff: { minMs: 20, maxMs: 100 } });
    const c = await RawClient.connect(server.url);
    clients.push(c);
    for (const shard of [0, 1, 2]) await c.ok('ts.get', { shard, count: 1 });
    let m = await metrics();
    expect(metricValue(m, 'pharaoh_shard_failures_total')).toBe(0);
    expect(metricValue(m, 'pharaoh_shard_reopens_total', { result: 'ok' })).toBe(0);
    const bound = join(data.dir, 'tso', 'bound-0');
    disk.injectFault({ op: 'datasync', code: 'EIO', path: bound, times: Infinity });
    disk.injectFault({ op: 'truncate', code: 'EIO', path: bound, times: Infinity });
    let failed: unknown;
    for (let i = 0; i < 400 && failed === undefined; i++) {
      failed = (await c.request('ts.get', { shard: 0, count: 1 })).err;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(failed).toMatchObject({ code: 'SHARD_UNAVAILABLE' });
    m = await metrics();
    // The shard that asked fails at once; the others on the same bound as soon as they are looked at or moved.
    expect(metricValue(m, 'pharaoh_shard_failures_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, 'pharaoh_shards_unavailable')).toBeGreaterThanOrEqual(1);
    disk.clearFaults();
    const deadline = Date.now() + 5_000;
    do {
      m = await metrics();
    } while (metricValue(m, 'pharaoh_shards_unavailable') !== 0 && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 20)), true));
    expect(metricValue(m, 'pharaoh_shards_unavailable')).toBe(0);
    // Every failure ended in exactly one reopen, now that all shards serve again.
    expect(metricValue(m, 'pharaoh_shard_reopens_total', { result: 'ok' })).toBe(metricValue(m, 'pharaoh_shard_failures_total'));
    expect(metricValue(m, 'pharaoh_shard_reopens_total', { result: 'given_up' })).toBe(0);
  });
});

describe.skipIf(!opensslAvailable)('/metrics security figures', () => {
  it('exports the certificate expiry, tokens by role and reloads, and follows a token rotation', async () => {
    const cert = makeCert(data.dir);
    const tokenFile = join(data.dir, 'tokens');
    writeFileSync(tokenFile, `admin:${ADMIN}\nclient:${CLIENT}\n`);
    server = await start(testService(), data.dir, { tls: { certFile: cert.certFile, keyFile: cert.keyFile, http: false }, auth: { tokenFile } });
    let m = await metrics(ADMIN);
    const notAfter = Date.parse(new X509Certificate(readFileSync(cert.certFile)).validTo) / 1000;
    expect(metricValue(m, 'pharaoh_tls_certificate_expiry_timestamp_seconds')).toBe(notAfter);
    expect(metricValue(m, 'pharaoh_auth_tokens', { role: 'admin' })).toBe(1);
    expect(metricValue(m, 'pharaoh_auth_tokens', { role: 'client' })).toBe(1);
    // Rotation, step 1: the new admin token is added beside the old one.
    writeFileSync(tokenFile, `admin:${ADMIN}\nadmin:${ADMIN2}\nclient:${CLIENT}\n`);
    server.reload();
    m = await metrics(ADMIN2);
    expect(metricValue(m, 'pharaoh_auth_tokens', { role: 'admin' })).toBe(2);
    expect(metricValue(m, 'pharaoh_reloads_total', { result: 'ok' })).toBe(1);
    // A broken file is refused and counted; the previous tokens stay.
    writeFileSync(tokenFile, 'admin:short\n');
    expect(() => server!.reload()).toThrow();
    m = await metrics(ADMIN2);
    expect(metricValue(m, 'pharaoh_reloads_total', { result: 'failed' })).toBe(1);
    expect(metricValue(m, 'pharaoh_auth_tokens', { role: 'admin' })).toBe(2);
  });
});
