/**
 * Backup and restore of schema-registry with real processes (`pharaoh serve`,
 * `pharaoh backup`, `pharaoh restore`). Fault model: the whole data directory
 * is lost after a live backup, while registrations went on. Invariants after
 * the restore: every version in the backup keeps its id and number; a version
 * number handed out after the backup never names another schema (the next
 * version starts at the restore floor); the lost id answers SCHEMA_NOT_FOUND
 * saying why; new ids are above every id issued before the loss.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient, REPO_ROOT, runToExit, startApp, stopApp, tempDir, type RunningApp } from '@pharaoh/testkit';
import { SCHEMA_LAYOUT } from '@pharaoh/snowflake';
import { MAX_VERSION_LEAD_S } from '../src/versions.js';
import { subjectsFor } from './helpers.js';

const BIN = join(REPO_ROOT, 'tools/cli/bin/pharaoh.cjs');
const apps: RunningApp[] = [];
const scratch = tempDir('pharaoh-schema-restore-');
afterAll(async () => {
  for (const a of apps.splice(0)) await stopApp(a);
  scratch.remove();
});

async function serve(data: string): Promise<{ app: RunningApp; c: RawClient }> {
  const app = await startApp(BIN, ['serve', 'schema-registry', '--shards', '0-3', '--data', data, '--port', '0', '--http-port', '0', '--log-level', 'warn'], { tsx: false });
  apps.push(app);
  return { app, c: await RawClient.connect(app.url) };
}

describe('schema-registry backup and restore', () => {
  it('keeps the backed-up versions, never reuses a lost version number, and says why a lost id is missing', async () => {
    const data = join(scratch.dir, 'data');
    const subject = subjectsFor(2, 1, 'restore-subject')[0]!;
    const reg = (c: RawClient, schema: string) => c.ok<{ schemaId: bigint; version: number }>('schema.register', { shard: 2, subject, schema, format: 'JSON' });
    let s = await serve(data);
    const v1 = await reg(s.c, '{"v":1}');
    const v2 = await reg(s.c, '{"v":2}');
    const tar = join(scratch.dir, 'schemas.tar');
    const backup = await runToExit(BIN, ['backup', '--service', 'schema-registry', '--data', data, '--out', tar], { tsx: false });
    expect(backup.code, backup.stderr).toBe(0);
    // After the backup: version 3 names {"v":"lost"}; then the disk is lost.
    const lost = await reg(s.c, '{"v":"lost"}');
    expect(lost.version).toBe(3);
    s.c.ws.terminate();
    await stopApp(s.app, 'SIGKILL');
    rmSync(data, { recursive: true, force: true });

    const restore = await runToExit(BIN, ['restore', '--from', tar, '--data', data], { tsx: false });
    expect(restore.code, restore.stderr).toBe(0);
    const restoredAt = Date.now();
    s = await serve(data);
    expect(await s.c.ok('schema.get', { schemaId: v1.schemaId })).toEqual({ subject, version: 1, schema: '{"v":1}', format: 'JSON' });
    expect(await reg(s.c, '{ "v": 2 }')).toEqual(v2);
    const missing = await s.c.request('schema.get', { schemaId: lost.schemaId });
    expect(missing.err).toMatchObject({ code: 'SCHEMA_NOT_FOUND' });
    expect(missing.err?.message).toMatch(/restored from a backup/);
    // Another schema now: version 3 must not be reused.
    const next = await reg(s.c, '{"v":"after"}');
    const floorNow = Math.floor((restoredAt - SCHEMA_LAYOUT.epochMs) / 1000) + MAX_VERSION_LEAD_S + 1;
    expect(next.version).toBeGreaterThan(3);
    expect(Math.abs(next.version - floorNow)).toBeLessThanOrEqual(60);
    expect(next.schemaId).toBeGreaterThan(lost.schemaId);
    expect(await s.c.ok('schema.versions', { shard: 2, subject })).toEqual({
      versions: [
        { version: 1, schemaId: v1.schemaId },
        { version: 2, schemaId: v2.schemaId },
        { version: next.version, schemaId: next.schemaId },
      ],
    });
    s.c.ws.terminate();
    // A restart keeps the restore mark: the answers stay the same.
    expect(await stopApp(s.app, 'SIGTERM')).toBe(0);
    s = await serve(data);
    expect(await reg(s.c, '{"v":"after"}')).toEqual(next);
    expect((await s.c.request('schema.get', { schemaId: lost.schemaId })).err?.message).toMatch(/restored from a backup/);
    s.c.ws.terminate();
  });
});
