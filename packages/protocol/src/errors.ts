import ModuleError from 'module-error'

// The codes that cross the wire, defined once for hosts and guests alike. Where the meaning
// matches, they are abstract-level's (and many-level's); the protocol mints the others.

/** Minted here: a frame or message that does not follow the wire format. */
export const PROTOCOL_ERROR = 'LEVEL_PROTOCOL_ERROR'
/**
 * Minted here: a frame larger than the receiver's maximum (a request not sent, an answer that
 * does not fit, or a peer's announcement that closes its connection).
 */
export const FRAME_TOO_LARGE = 'LEVEL_FRAME_TOO_LARGE'
/** abstract-level's: a remote failure whose code is not a `LEVEL_*` code. */
export const REMOTE_ERROR = 'LEVEL_REMOTE_ERROR'
/**
 * many-level 2's answer to a `get` of a missing key (its guest, an abstract-level 1 database,
 * fails to decode an answer without a value). Guests built on abstract-level 3 turn it back
 * into `undefined`.
 */
export const NOT_FOUND = 'LEVEL_NOT_FOUND'
/** abstract-level's: a write reached a read-only host. */
export const READONLY = 'LEVEL_READONLY'
/** abstract-level's: a put (alone or in a batch) without a value. */
export const INVALID_VALUE = 'LEVEL_INVALID_VALUE'
/** Minted by the host: a guest asked for more open iterators than the host allows. */
export const TOO_MANY_ITERATORS = 'LEVEL_TOO_MANY_ITERATORS'
/** Minted by the host: a guest asked for more watches than the host allows. */
export const TOO_MANY_WATCHES = 'LEVEL_TOO_MANY_WATCHES'

/**
 * Minted for network connections: the host refused the guest's credentials (a wrong, missing
 * or revoked token, or no accepted client certificate). Retrying with the same credentials
 * cannot succeed, so a caller branches on it (to stop, or to ask for a new token).
 */
export const AUTH_FAILED = 'LEVEL_AUTH_FAILED'

/** Every code above. */
export const codes = Object.freeze({
  PROTOCOL_ERROR,
  FRAME_TOO_LARGE,
  REMOTE_ERROR,
  NOT_FOUND,
  READONLY,
  INVALID_VALUE,
  TOO_MANY_ITERATORS,
  TOO_MANY_WATCHES,
  AUTH_FAILED
} as const)

/**
 * A `LEVEL_PROTOCOL_ERROR`: a frame or message that does not follow the wire format. The one
 * place that makes this code's errors, for the codec and for hosts and guests alike.
 *
 * @param message Says what was wrong; callers must not parse it.
 * @param cause The underlying error, when wrapping one.
 */
export function protocolError(message: string, cause?: unknown): ModuleError {
  return new ModuleError(message, { code: PROTOCOL_ERROR, cause: cause as Error | undefined })
}

/**
 * A `LEVEL_FRAME_TOO_LARGE`: a frame over the receiver's maximum. The one place that makes this
 * code's errors: a request a guest does not send, an answer a host cannot fit, a reply a guest
 * cannot receive, a peer's announcement.
 *
 * @param message Says which frame and the limit; callers must not parse it.
 */
export function frameTooLarge(message: string): ModuleError {
  return new ModuleError(message, { code: FRAME_TOO_LARGE })
}

/**
 * The code of `err` as it may cross the wire. Only `LEVEL_*` codes do; anything else
 * (including errors without a code) becomes `LEVEL_REMOTE_ERROR`. Returns `undefined` for no error.
 */
export function wireCode(err: unknown): string | undefined {
  if (err == null) return undefined
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && /^LEVEL_[A-Z0-9_]+$/.test(code) ? code : REMOTE_ERROR
}

/** Longest error message that crosses the wire, in characters; longer ones are cut. */
export const MAX_MESSAGE_LENGTH = 1024

function bounded(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text
}

/**
 * The message of `err` as it may cross the wire next to its code (bounded by
 * {@link MAX_MESSAGE_LENGTH}), so that a remote caller learns, say, "No space left on device"
 * and not only `LEVEL_IO_ERROR`. `undefined` for no error or an empty message.
 */
export function wireMessage(err: unknown): string | undefined {
  if (err == null) return undefined
  const message = (err as { message?: unknown }).message
  return typeof message === 'string' && message !== '' ? bounded(message) : undefined
}

/**
 * Turn a code (and message) received from the wire back into an error. The code is validated
 * again: anything that is not a `LEVEL_*` code becomes `LEVEL_REMOTE_ERROR`. The message is
 * bounded; without one, the message names the code.
 */
export function remoteError(code: string, message?: string | undefined): ModuleError {
  const checked = wireCode({ code }) as string
  const text = typeof message === 'string' && message !== '' ? bounded(message) : `Remote operation failed (${checked})`
  return new ModuleError(text, { code: checked })
}
