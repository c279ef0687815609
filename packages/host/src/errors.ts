import { FRAME_TOO_LARGE, PROTOCOL_ERROR, REMOTE_ERROR } from '@rave-level/protocol'

/**
 * Reply to a `get` of a missing key. On the wire, many-level 2 answers a missing key with this
 * error code (its guest, an abstract-level 1 database, fails to decode a reply without a value),
 * so a host that wants many-level 2 guests to work must do the same. Guests built on
 * abstract-level 3 turn it back into `undefined`.
 */
export const NOT_FOUND = 'LEVEL_NOT_FOUND'
/** A write (put, del, batch, clear) reached a host created with `readonly: true`. */
export const READONLY = 'LEVEL_READONLY'
/** A put (alone or in a batch) arrived without a value. */
export const INVALID_VALUE = 'LEVEL_INVALID_VALUE'
/** A guest asked for more open iterators than `maxIterators` on one connection. */
export const TOO_MANY_ITERATORS = 'LEVEL_TOO_MANY_ITERATORS'

/**
 * Every code the host itself produces, in replies or when it destroys a connection. Errors of
 * the database cross the wire with their own `LEVEL_*` code (e.g. `LEVEL_DATABASE_NOT_OPEN`),
 * or as `LEVEL_REMOTE_ERROR` when they have none.
 *
 * - `NOT_FOUND` (`LEVEL_NOT_FOUND`): reply to a `get` of a missing key (wire compatibility).
 * - `READONLY` (`LEVEL_READONLY`): reply to a write on a read-only host.
 * - `INVALID_VALUE` (`LEVEL_INVALID_VALUE`): reply to a put without a value.
 * - `TOO_MANY_ITERATORS` (`LEVEL_TOO_MANY_ITERATORS`): iterator error when `maxIterators` is reached.
 * - `PROTOCOL_ERROR` (`LEVEL_PROTOCOL_ERROR`): reply to a batch operation whose type is not
 *   `'put'` or `'del'`; also destroys a connection that sends an undecodable frame.
 * - `FRAME_TOO_LARGE` (`LEVEL_FRAME_TOO_LARGE`): destroys a connection that announces a frame
 *   larger than `maxFrameSize`.
 * - `REMOTE_ERROR` (`LEVEL_REMOTE_ERROR`): a database error without a `LEVEL_*` code.
 */
export const codes = Object.freeze({
  NOT_FOUND,
  READONLY,
  INVALID_VALUE,
  TOO_MANY_ITERATORS,
  PROTOCOL_ERROR,
  FRAME_TOO_LARGE,
  REMOTE_ERROR
} as const)
