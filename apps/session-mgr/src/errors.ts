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

/** A session ID issued before the shard was restored, at an epoch below the restore's epoch floor. */
export function sessionFencedByRestore(id: bigint, epoch: number, floor: number, restoredAt: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.SESSION_FENCED,
    `session ${id} epoch ${epoch} is fenced: this shard was restored from a backup at ${new Date(restoredAt).toISOString()}, ` +
      `so every epoch below ${floor} of a session opened before then is fenced; the producer must open again`,
  );
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

/**
 * A producer reopened so often that its next epoch would run more than
 * `leadS` seconds ahead of the clock: time catches up at one epoch a second.
 */
export function epochsTooFarAhead(producer: string, next: number, nowSec: number, leadS: number): ProtocolError {
  const waitS = next - nowSec - leadS;
  return new ProtocolError(
    ERROR_CODES.OVERLOADED,
    `producer "${producer}" reopened faster than one epoch a second for too long: its next epoch ${next} would be more than ${leadS} s ` +
      `ahead of the clock (epochs are seconds-based with a bounded lead, so a restore from a backup can never hand one out again); ` +
      `retry later (in about ${waitS} s)`,
  );
}

/** The shard's table is closing: answered as SHARD_UNAVAILABLE, the client tries again later. */
export function tableClosed(): ProtocolError {
  return new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, 'this session-mgr shard is closing');
}
