/**
 * The sequencer's answers to clients (NOT_OWNER, OVERLOADED,
 * SHARD_UNAVAILABLE, OFFSETS_STALE_SEQ, BAD_REQUEST of a retry): `ProtocolError`s from @pharaoh/protocol, built here so
 * each is worded once. (Bad options and bad journal records are the kit's
 * BAD_OPTIONS / BAD_RECORD, see @pharaoh/server.)
 */
import { ERROR_CODES, ProtocolError } from '@pharaoh/protocol';

/** A table or partition key that hashes to another shard: its sequence lives there only. */
export function wrongShard(what: 'table' | 'partition', key: string, owner: number, shard: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.NOT_OWNER,
    `${what} "${key}" belongs to sequencer shard ${owner} (FNV-1a hash % 1024), not shard ${shard}`,
    { shard: owner },
  );
}

/** The shard already keeps `max` partitions; partitions are never forgotten (a forgotten one would restart below offsets it gave). */
export function tooManyPartitions(max: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.OVERLOADED,
    `this sequencer shard already keeps ${max} partitions (--max-partitions); a new partition cannot be added until the limit is raised`,
  );
}

/**
 * The range would run past the partition's time ceiling (src/offset-ceiling.ts):
 * only a partition of a restored shard meets it, for the seconds until the
 * clock passes the restore's `issuedBeforeMs`, or one that took more than
 * 1 M offsets a second for an hour.
 */
export function offsetsAhead(partition: string, end: number, ceiling: number, waitMs: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.OVERLOADED,
    `partition "${partition}": offsets up to ${end} would run past its time ceiling ${ceiling} ` +
      `(offsets are bounded by the clock so that a restore can never hand one out again); retry in about ${Math.ceil(waitMs)} ms`,
  );
}

/**
 * A retry older than the partition's last answer for its producer: the
 * request was superseded by a later one of the same producer (or the
 * producer id was reused). Nothing is assigned; not retryable.
 */
export function staleSeq(partition: string, producerId: number, seq: number, last: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.OFFSETS_STALE_SEQ,
    `partition "${partition}": seq ${seq} of producerId ${producerId} is older than seq ${last}, the last one this partition answered for it; ` +
      'nothing was assigned (a range the old request may have taken is never handed out again): send a new request with a new seq',
  );
}

/** A retry (same producerId and seq as the partition's last answer) asking another count: not the same request. */
export function retryCountDiffers(partition: string, producerId: number, seq: number, count: number, was: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.BAD_REQUEST,
    `offsets.assign: count must be ${was} in a retry of seq ${seq} of producerId ${producerId} on partition "${partition}" (the count it was answered with); got ${count}`,
    { field: 'count' },
  );
}

/** One half of the idempotency token without the other (BAD_REQUEST naming the missing field). */
export function halfToken(missing: 'producerId' | 'seq', given: 'producerId' | 'seq'): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.BAD_REQUEST,
    `offsets.assign: ${missing} must be an integer in 0..9007199254740991 when ${given} is given (the idempotency token is both or neither); it is missing`,
    { field: missing },
  );
}

/** The shard's table is closing: answered as SHARD_UNAVAILABLE, the client tries again later. */
export function tableClosed(): ProtocolError {
  return new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, 'this sequencer shard is closing');
}
