/**
 * Pod ordinal → shard range for the Kubernetes StatefulSets in `deploy/`.
 *
 * Pod `<service>-<n>` serves shards `[n·S, min(n·S + S, 1024) − 1]` where S is
 * SHARDS_PER_POD; a service needs ceil(1024 / S) pods, and a pod whose range
 * would start past shard 1023 refuses to start. `deploy/entrypoint.sh`
 * computes the same formula in shell; the deploy test checks both agree.
 */
import { SHARD_COUNT } from '@pharaoh/protocol';
import { CliError, CLI_ERROR_CODES } from './errors.js';

/** SHARDS_PER_POD values the docs and manifests describe, with their pod counts. */
export const DOCUMENTED_SHARDS_PER_POD: readonly number[] = [1024, 512, 256, 128, 64, 100];

/** How many pods (StatefulSet replicas) a service needs with `shardsPerPod` shards each. */
export function podsForShardsPerPod(shardsPerPod: number): number {
  checkShardsPerPod(shardsPerPod);
  return Math.ceil(SHARD_COUNT / shardsPerPod);
}

/** The inclusive shard range pod `ordinal` serves. Throws for an ordinal past the last needed pod. */
export function shardsForOrdinal(ordinal: number, shardsPerPod: number): [number, number] {
  checkShardsPerPod(shardsPerPod);
  if (!Number.isInteger(ordinal) || ordinal < 0) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `pod ordinal must be a non-negative integer, got ${ordinal}`);
  }
  const lo = ordinal * shardsPerPod;
  if (lo >= SHARD_COUNT) {
    throw new CliError(
      CLI_ERROR_CODES.BAD_ARGUMENT,
      `pod ordinal ${ordinal} has no shards: with SHARDS_PER_POD=${shardsPerPod} only ${podsForShardsPerPod(shardsPerPod)} pods are needed`,
    );
  }
  return [lo, Math.min(lo + shardsPerPod, SHARD_COUNT) - 1];
}

/** The ordinal at the end of a StatefulSet pod name: `tso-3` → 3. */
export function ordinalFromPodName(name: string): number {
  const m = /-(\d+)$/.exec(name);
  if (!m) throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `"${name}" does not end in -<ordinal> (not a StatefulSet pod name?)`);
  return Number(m[1]);
}

function checkShardsPerPod(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > SHARD_COUNT) {
    throw new CliError(CLI_ERROR_CODES.BAD_ARGUMENT, `SHARDS_PER_POD must be an integer in 1..${SHARD_COUNT}, got ${n}`);
  }
}
