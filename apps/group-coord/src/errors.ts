/**
 * group-coord's answers to clients as `ProtocolError`s of @pharaoh/protocol,
 * each worded once: GROUP_REBALANCE_IN_PROGRESS, GROUP_ILLEGAL_GENERATION
 * (fenced), GROUP_UNKNOWN_MEMBER, GROUP_INCONSISTENT_PROTOCOL, GROUP_FULL,
 * BAD_REQUEST (limits and malformed content), NOT_OWNER, OVERLOADED,
 * SHARD_UNAVAILABLE. (Bad options and bad journal records are the kit's
 * BAD_OPTIONS / BAD_RECORD, see @pharaoh/server.)
 */
import { ERROR_CODES, ProtocolError } from '@pharaoh/protocol';

export function rebalanceInProgress(group: string): ProtocolError {
  return new ProtocolError(ERROR_CODES.GROUP_REBALANCE_IN_PROGRESS, `group "${group}" is rebalancing: join again with your memberId`);
}

export function illegalGeneration(group: string, generation: number, current: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.GROUP_ILLEGAL_GENERATION,
    `group "${group}": generation ${generation} is not the current one (${current}); this member is fenced until it joins again`,
  );
}

/** A generation below the restore's floor: the journal put back may lack every generation after the backup. */
export function fencedByRestore(group: string, generation: number, floor: number, restoredAt: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.GROUP_ILLEGAL_GENERATION,
    `group "${group}": generation ${generation} is fenced: this shard was restored from a backup at ${new Date(restoredAt).toISOString()}, ` +
      `so every generation below ${floor} is fenced; join again`,
  );
}

export function unknownMember(group: string, member: string): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.GROUP_UNKNOWN_MEMBER,
    `"${member}" is not a member of group "${group}" (never joined, left, or missed its session timeout); join again`,
  );
}

export function inconsistentProtocol(group: string, offered: string[], common: string[]): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.GROUP_INCONSISTENT_PROTOCOL,
    `group "${group}": none of the protocols [${offered.join(', ')}] is supported by every member (they share [${common.join(', ')}])`,
  );
}

export function groupFull(group: string, what: string, max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.GROUP_FULL, `group "${group}" already has ${max} ${what} (the shard's limit)`);
}

export function tooManyGroups(max: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.OVERLOADED, `this shard already has ${max} groups; retry later`);
}

/** A limit or content rule of one request: BAD_REQUEST naming the field. */
export function badRequest(field: string, message: string): ProtocolError {
  return new ProtocolError(ERROR_CODES.BAD_REQUEST, `${field}: ${message}`, { field });
}

export function wrongShard(group: string, owner: number, shard: number): ProtocolError {
  return new ProtocolError(ERROR_CODES.NOT_OWNER, `group "${group}" belongs to group-coord shard ${owner} (FNV-1a hash % 1024), not shard ${shard}`, {
    shard: owner,
  });
}

/**
 * A group rebalanced so often that its next generation would run more than
 * `leadS` seconds ahead of the clock: time catches up at one a second.
 */
export function generationsTooFarAhead(group: string, leadS: number): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.OVERLOADED,
    `group "${group}" rebalanced faster than once a second for too long: its next generation would be more than ${leadS} s ahead of the clock ` +
      `(generations are seconds-based so a restore can never hand one out again); retry later`,
  );
}

/** The shard's table is closing: answered as SHARD_UNAVAILABLE, the client tries again later. */
export function tableClosed(): ProtocolError {
  return new ProtocolError(ERROR_CODES.SHARD_UNAVAILABLE, 'this group-coord shard is closing');
}
