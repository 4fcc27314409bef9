/**
 * session-mgr's answers to clients (SESSION_FENCED, SESSION_EXPIRED,
 * SESSION_UNKNOWN, NOT_OWNER, OVERLOADED): `ProtocolError`s from
 * @pharaoh/protocol, built here so each is worded once. (Bad options and bad
 * journal records are the kit's BAD_OPTIONS / BAD_RECORD, see @pharaoh/server.)
 */
import { ERROR_CODES, ProtocolError } from '@pharaoh/protocol';

export function sessionFenced(id: bigint, epoch: number, current: number | undefined): ProtocolError {
  const why = current === undefined ? 'the producer moved to a new session' : `epoch ${current} is current`;
  return new ProtocolError(ERROR_CODES.SESSION_FENCED, `session ${id} epoch ${epoch} is fenced (${why})`);
}

export function sessionExpired(id: bigint, epoch: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.SESSION_EXPIRED, `session ${id} epoch ${epoch} expired (no heartbeat within its timeout)`);
}

export function sessionUnknown(id: bigint, epoch: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.SESSION_UNKNOWN,
    `session ${id} epoch ${epoch} is not known on this shard (never opened, closed, or forgotten after retention)`,
  );
}

export function wrongShard(producer: string, owner: number, shard: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.NOT_OWNER,
    `producer "${producer}" belongs to session shard ${owner} (FNV-1a hash % 1024), not shard ${shard}`,
    { shard: owner },
  );
}

export function tooManySessions(max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.OVERLOADED, `this shard already has ${max} live sessions; retry later`);
}

/** The shard's table is closing: answered as SHARD_UNAVAILABLE, the client tries again later. */
export function tableClosed(): ProtocolError {
  return new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, 'this session-mgr shard is closing');
}
