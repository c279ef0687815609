import ModuleError from 'module-error'

/**
 * The code of every fault the election reports and carries on from (on `'error'`), and of
 * `close()`'s rejection when a release failed: `LEVEL_ELECTION_FAULT`. Its `stage` says where,
 * and `cause` is the underlying error. One code rather than one per stage: a caller logs or
 * alerts on these the same way; the stage is there for the message.
 *
 * - `'acquire'`: `acquire()` rejected (for a reason other than "someone else holds the lock");
 *   the election backs off and tries again.
 * - `'listen'`: this instance took the lock but could not serve the endpoint (`listen()` or
 *   `published()` rejected, a stale endpoint could not be removed, the server failed to listen);
 *   the lock has been given back and the election backs off and tries again.
 * - `'release'`: `release()` rejected.
 * - `'serve'`: the leader could not serve one connection (`serve()` threw, or the server failed
 *   to accept); that connection is destroyed, the leader carries on.
 * - `'follow'`: `follow()` threw; the connection is destroyed and the election runs again.
 * - `'campaign'` ({@link LeaseElection} only): a request to etcd failed (granting the lease,
 *   putting the candidate's key, reading the election); the election backs off and tries again.
 *
 * The `'timeout'` event carries abstract-level's `LEVEL_LOCKED` instead: no leader has been
 * reachable for `timeout` ms, typically because the lock is held by something that serves no
 * endpoint.
 */
export const ELECTION_FAULT = 'LEVEL_ELECTION_FAULT'

/** Where an election fault happened (see {@link ELECTION_FAULT}). */
export type ElectionStage = 'acquire' | 'listen' | 'release' | 'serve' | 'follow' | 'campaign'

/**
 * The code of a leadership that ended because its lease could not be renewed before its TTL ran
 * out: `LEVEL_LEASE_LOST`. It is the error of {@link LeaseElection}'s `'lost'` event and the
 * abort reason of the lost {@link Leadership}'s `signal`. A caller branches on it: whatever the
 * leader was doing must stop at once, because another process may lead already.
 */
export const LEASE_LOST = 'LEVEL_LEASE_LOST'

/** A fault of the election: `code` is `LEVEL_ELECTION_FAULT`. */
export interface ElectionFault extends ModuleError {
  readonly stage: ElectionStage
}

/**
 * Create an {@link ElectionFault}.
 *
 * @param message Human-readable explanation; callers must not parse it.
 * @param stage Where it happened.
 * @param cause The underlying failure. Non-errors are wrapped in an `Error`.
 */
export function electionFault(message: string, stage: ElectionStage, cause: unknown): ElectionFault {
  const err = new ModuleError(message, { code: ELECTION_FAULT, cause: toError(cause) })
  return Object.assign(err, { stage })
}

/** The `LEVEL_LOCKED` error of the `'timeout'` event. */
export function lockedError(message: string): ModuleError {
  return new ModuleError(message, { code: 'LEVEL_LOCKED' })
}

/** The `LEVEL_LEASE_LOST` error of a lost leadership. */
export function leaseLost(message: string, cause?: unknown): ModuleError {
  return new ModuleError(message, { code: LEASE_LOST, cause: cause === undefined ? undefined : toError(cause) })
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}
