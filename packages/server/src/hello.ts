import { encodeFrame, PROTOCOL_VERSION } from '@pharaoh/protocol';
import type { HelloFrame, ShardRanges, WireLayout } from '@pharaoh/protocol';
import type { Layout } from '@pharaoh/snowflake';
import { VERSION } from './build-info.js';
import type { ServerLimits } from './options.js';

/** Identification sent in `hello.server`: the release, as in `pharaoh_build_info{version}`. */
export const SERVER_NAME = `pharaoh/${VERSION}`;

export function toWireLayout(layout: Layout): WireLayout {
  return {
    name: layout.name,
    timeBits: layout.timeBits,
    shardBits: layout.shardBits,
    seqBits: layout.seqBits,
    epochMs: layout.epochMs,
    unitMs: layout.unitMs,
  };
}

/** The hello frame, encoded once: every connection gets the same bytes. */
export function encodeHello(service: string, shards: ShardRanges, layout: Layout, limits: ServerLimits): Buffer {
  const hello: HelloFrame = {
    t: 'hello',
    v: PROTOCOL_VERSION,
    service,
    shards,
    layout: toWireLayout(layout),
    limits: { maxFrameBytes: limits.maxFrameBytes, maxInFlight: limits.maxInFlight, maxCount: limits.maxCount },
    server: SERVER_NAME,
  };
  return encodeFrame(hello);
}
