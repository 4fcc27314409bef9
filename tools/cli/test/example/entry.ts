/**
 * The example service's registry entry. A real coordinator's entry goes into
 * packages/registry/src/services.ts (and `REGISTRY`); this test-only one is
 * added with `REGISTRY.with(EXAMPLE)` by the tests that use it, so production
 * never lists it. Everything else about the service is in this folder.
 */
import { defineService } from '@pharaoh/registry';
import { defineLayout } from '@pharaoh/snowflake';

export const EXAMPLE = defineService({
  name: 'example',
  title: 'Example marker (test only)',
  // Its own layout name: only this service issues IDs of this layout.
  layout: defineLayout({ name: 'example', timeBits: 42, shardBits: 10, seqBits: 12 }),
  ports: { ws: 7900, http: 7901 },
  shardsPerPod: 512,
  pods: { cpu: '500m', storage: '1Gi', storageWhy: 'a test-only service: one small journal per shard.' },
  ops: {
    /** A fresh ID, journaled as marked before it is answered. */
    'ex.mark': { fields: [['shard', 'shard', false], ['after', 'id', true]], result: { id: 'id' }, route: 'shard', issues: 1 },
    /** Was this ID marked (on the shard in its bits)? */
    'ex.seen': { fields: [['markId', 'id', false]], result: { seen: ['YES', 'NO'] }, route: { id: 'markId' }, issues: 0 },
  },
});
