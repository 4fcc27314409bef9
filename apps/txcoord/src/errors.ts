/**
 * txcoord's answers to clients (TX_ABORTED, TX_NOT_FOUND, OVERLOADED, ...):
 * `ProtocolError`s from @pharaoh/protocol, built here so every message is
 * worded once. (Bad options and bad journal records are the kit's
 * BAD_OPTIONS / BAD_RECORD, see @pharaoh/server.)
 */
import { ERROR_CODES, ProtocolError } from '@pharaoh/protocol';

export function txAborted(txId: bigint, why: string): ProtocolError {
  return new ProtocolError(ERROR_CODES.TX_ABORTED, `transaction ${txId} was aborted (${why})`);
}

export function txCommitted(txId: bigint): ProtocolError {
  return new ProtocolError(ERROR_CODES.TX_COMMITTED, `transaction ${txId} is already committed`);
}

export function txNotFound(txId: bigint): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.TX_NOT_FOUND,
    `transaction ${txId} is not known on this shard (never begun, or forgotten after the retention period)`,
  );
}

export function txInDoubt(txId: bigint): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.TX_IN_DOUBT,
    `transaction ${txId} is in doubt: this shard was restored from a backup and its decision may have been made after it; resolve it from the participants' records`,
  );
}

/** The shard's table is closing: the host answers SHARD_UNAVAILABLE and the client tries again later. */
export function tableClosed(): ProtocolError {
  return new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, 'this txcoord shard is closing');
}

export function tooManyOpen(max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.OVERLOADED, `this shard already has ${max} open transactions; retry later`);
}
