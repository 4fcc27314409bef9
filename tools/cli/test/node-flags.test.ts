/**
 * The Node flags every `pharaoh serve` runs with (src/node-flags.ts): the
 * fleet supervisor and the container entry point pass the same ones, and they
 * do cap V8's young generation (RSS < 100 MB for 1024 shards, issue 16).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childArgs } from '../src/fleet/child.js';
import { SERVE_NODE_FLAGS } from '../src/node-flags.js';
import { PHARAOH_BIN } from '../src/paths.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('pharaoh serve node flags', () => {
  it('the fleet supervisor starts each member with them, before the launcher', () => {
    const args = childArgs({ service: 'tso', endpoint: 'ws://127.0.0.1:7100', host: '127.0.0.1', port: 7100, http: undefined, httpPort: undefined, shards: [[0, 3]], dataDir: '/data', label: 'tso:7100' });
    expect(args.slice(0, SERVE_NODE_FLAGS.length + 2)).toEqual([...SERVE_NODE_FLAGS, PHARAOH_BIN, 'serve']);
  });

  it('the container entry point passes the same flags to node', () => {
    const r = spawnSync('sh', [join(REPO, 'deploy', 'entrypoint.sh')], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PHARAOH_DRY_RUN: '1', PHARAOH_SERVICE: 'tso', POD_NAME: 'tso-0', PHARAOH_DATA: '/tmp/pharaoh-flags-test' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split(' ').slice(0, SERVE_NODE_FLAGS.length + 3)).toEqual(['node', ...SERVE_NODE_FLAGS, '/app/tools/cli/bin/pharaoh.cjs', 'serve']);
  });

  it('keep the young generation within 2 × 4 MiB however much garbage is made', () => {
    const script = `
      const v8 = require('node:v8');
      // Objects that live a while (a ring of the last 100,000) make scavenges find survivors: V8 then grows the young generation up to its cap.
      const ring = new Array(100000);
      let keep = 0;
      for (let i = 0; i < 3e6; i++) { const o = { a: i, b: [i, i + 1] }; ring[i % ring.length] = o; keep += o.b.length; }
      const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(JSON.stringify({ size: ns.space_size, keep }));`;
    const run = (flags: readonly string[]) => {
      const r = spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { size: number }).size;
    };
    expect(run(SERVE_NODE_FLAGS)).toBeLessThanOrEqual(8 * 2 ** 20);
    // Without them the same garbage grows it past that (so the check above can fail).
    expect(run([])).toBeGreaterThan(8 * 2 ** 20);
  });
});
