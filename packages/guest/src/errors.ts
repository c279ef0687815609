import { FRAME_TOO_LARGE, frameTooLarge, protocolError } from '@rave-level/protocol'
import ModuleError from 'module-error'

// The one place this package makes its errors: every other file calls these. The codes are
// listed, with what to do about each, in docs/errors.md at the root of the repository.

export { FRAME_TOO_LARGE, protocolError }

/** The connection to the host ended before an operation was answered (only with `retry: false`). */
export const CONNECTION_LOST = 'LEVEL_CONNECTION_LOST'
/** The guest was closed (or is closing) while an operation was pending. */
export const DATABASE_NOT_OPEN = 'LEVEL_DATABASE_NOT_OPEN'
/** An iterator read was aborted through its `signal`. */
export const ABORTED = 'LEVEL_ABORTED'
/**
 * An operation did not settle within `timeout`: the host said nothing at all (neither answers
 * nor heartbeats) for that long, or there was no host. Its outcome is unknown: if it was sent,
 * the host may still apply it.
 */
export const TIMEOUT = 'LEVEL_TIMEOUT'

/**
 * The codes this package mints itself. Codes sent by a host (any `LEVEL_*` code, or
 * `LEVEL_REMOTE_ERROR`) and abstract-level's own codes pass through unchanged.
 */
export const codes = Object.freeze({ CONNECTION_LOST, DATABASE_NOT_OPEN, ABORTED, FRAME_TOO_LARGE, TIMEOUT })

/** @internal */
export function connectionLost(): ModuleError {
  return new ModuleError('Connection to host lost', { code: CONNECTION_LOST })
}

/** @internal */
export function notOpen(): ModuleError {
  return new ModuleError('Aborted on database close()', { code: DATABASE_NOT_OPEN })
}

/** @internal */
export function timedOut(message: string): ModuleError {
  return new ModuleError(`${message}; the operation may or may not have been applied`, { code: TIMEOUT })
}

/** @internal */
export function notSupported(message: string): ModuleError {
  return new ModuleError(message, { code: 'LEVEL_NOT_SUPPORTED' })
}

/** @internal An operation that does not fit in one frame of `maxFrameSize` bytes: it is not sent. */
export function tooLarge(length: number, max: number): ModuleError {
  return frameTooLarge(`Operation needs a frame of ${length} bytes; the maximum is ${max}`)
}

/** @internal A value (or a reply) the host could not send because it exceeds our `maxFrameSize`. */
export function tooLargeToReceive(): ModuleError {
  return frameTooLarge('The reply does not fit in a frame of maxFrameSize bytes')
}

/** @internal `LEVEL_DATABASE_NOT_OPEN` for a maintenance call on a database that is not open. */
export function maintenanceNotOpen(method: string): ModuleError {
  return new ModuleError(`Database is not open: cannot call ${method}()`, { code: DATABASE_NOT_OPEN })
}

/** @internal An abort error shaped like abstract-level's own (`name` is `'AbortError'`). */
export function aborted(cause?: unknown): ModuleError {
  const err = new ModuleError('Operation has been aborted', { code: ABORTED, cause: cause as Error | undefined })
  Object.defineProperty(err, 'name', { value: 'AbortError', configurable: true })
  return err
}

/** @internal A write refused before it travels: the database was opened with `readOnly`. */
export function readOnly(): ModuleError {
  return new ModuleError('The database was opened with readOnly: true', { code: 'LEVEL_READONLY' })
}
