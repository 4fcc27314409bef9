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
    `transaction ${txId} is in doubt: this shard was restored from a backup and its decision may have been made after it; resolve it from the participants' records (tx.resolve, admin token: pharaoh call txcoord tx.resolve txId=${txId} commit=true|false [commitTs=...])`,
  );
}

export function txNotInDoubt(txId: bigint, status: 'ACTIVE' | 'ABORTED' | 'UNKNOWN'): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.TX_NOT_IN_DOUBT,
    `transaction ${txId} is not in doubt (its status is ${status}): only an IN_DOUBT transaction can be resolved; a live one is decided with tx.commit or tx.abort`,
  );
}

/** tx.resolve's own argument rules: BAD_REQUEST naming the field. */
export function resolveNeedsCommitTs(txId: bigint): ProtocolError {
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `tx.resolve: commitTs is required with commit=true (the commitTs the participants recorded for ${txId})`, { field: 'commitTs' });
}

export function resolveAbortWithTs(txId: bigint): ProtocolError {
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `tx.resolve: commitTs must be absent with commit=false (resolving ${txId} as aborted)`, { field: 'commitTs' });
}

export function resolveForeignTs(txId: bigint, commitTs: bigint, shard: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `tx.resolve: commitTs ${commitTs} was not issued by shard ${shard}, the shard of ${txId}`, { field: 'commitTs' });
}

export function resolveOtherTs(txId: bigint, recorded: bigint): ProtocolError {
  return new ProtocolError(ERROR_CODES.TX_COMMITTED, `transaction ${txId} is already committed with commitTs ${recorded}`);
}

/** The shard's table is closing: the host answers SHARD_UNAVAILABLE and the client tries again later. */
export function tableClosed(): ProtocolError {
  return new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, 'this txcoord shard is closing');
}

export function tooManyOpen(max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.OVERLOADED, `this shard already has ${max} open transactions; retry later`);
}
