import { TSO } from '@pharaoh/registry';
import type { ServiceDefinition } from '@pharaoh/server';

/**
 * The Timestamp Oracle: `ts.get {shard, count, after?}` → `{first, count}`, a
 * range of consecutive TSO-layout timestamps from that shard's generator, all
 * in one millisecond, each larger than every timestamp the shard issued before
 * (also before a crash) and than `after`. `count` may be less than asked; ask
 * again for the rest. It holds no per-shard state beyond the generator.
 */
export const tsoService: ServiceDefinition<typeof TSO> = {
  spec: TSO,
  handlers: {
    // The synchronous path answers without a promise while the durable window
    // has room; it falls back to the async path when it must wait (bound, lead, queue).
    'ts.get': (args, shard) => shard.generator.tryNextRangeSync(args.count, args.after) ?? shard.generator.nextRange(args.count, args.after),
  },
};

/** The name the CLI's `serve` loads. */
export { tsoService as service };
