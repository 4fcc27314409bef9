/**
 * Writes docs/protocol/vectors/*.json from the cases in this folder:
 * `npm run vectors -w @pharaoh/protocol`. The test `vectors.test.ts` fails when
 * the committed files differ from what this would write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VECTORS_DIR, type Setup } from '../../src/testing.js';
import { envelope } from './cases-envelope.js';
import { integers } from './cases-integers.js';
import { msgpack } from './cases-msgpack.js';
import { sessionMgr, tso, txcoord } from './cases-services.js';
import { groupCoord } from './cases-groups.js';
import { schemaRegistry } from './cases-schemas.js';
import { sequencer } from './cases-sequencer.js';
import { responses } from './responses.js';

export const SETUP: Setup = {
  shards: '0-7',
  tokens: { admin: 'conformance-admin-token-0000', client: 'conformance-client-token-0000' },
  flags: {
    tso: [],
    txcoord: ['--max-open-tx', '3'],
    'session-mgr': ['--max-sessions', '3'],
    'group-coord': ['--max-members-per-group', '2', '--join-wait-ms', '200'],
    'schema-registry': ['--max-versions', '3'],
    sequencer: ['--max-partitions', '3'],
  },
  limits: { maxFrameBytes: 65536, maxInFlight: 1024, maxCount: 65536 },
};

/** File name → content, as written. */
export function vectorFiles(): Map<string, string> {
  const files = new Map<string, unknown>([
    ['setup.json', SETUP],
    ['envelope.json', envelope],
    ['msgpack.json', msgpack],
    ['integers.json', integers],
    ['tso.json', tso],
    ['txcoord.json', txcoord],
    ['session-mgr.json', sessionMgr],
    ['group-coord.json', groupCoord],
    ['schema-registry.json', schemaRegistry],
    ['sequencer.json', sequencer],
    ['responses.json', responses],
  ]);
  return new Map([...files].map(([name, value]) => [name, `${JSON.stringify(value, null, 1)}\n`]));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(VECTORS_DIR, { recursive: true });
  for (const [name, text] of vectorFiles()) writeFileSync(join(VECTORS_DIR, name), text);
  console.log(`wrote ${vectorFiles().size} files to ${VECTORS_DIR}`);
}
