import type { ElectionFault } from '@rave-level/election'
import ModuleError from 'module-error'

// The one place this package makes its errors, the command line's included: every other file
// calls these. The codes are listed, with what to do about each, in docs/errors.md at the root
// of the repository.

/** @internal */
export function notReopenable(): ModuleError {
  return new ModuleError('A RaveLevel database cannot be reopened after close()', {
    code: 'LEVEL_NOT_SUPPORTED'
  })
}

/**
 * The database could not be opened by this process: `cause` is classic-level's (or the file
 * system's) error, whose message is repeated so that it shows without unwrapping.
 * @internal
 */
export function openFailure(cause: Error): ModuleError {
  const reason = (cause as { cause?: Error }).cause ?? cause
  return new ModuleError(`The database could not be opened: ${reason.message}`, {
    code: 'LEVEL_DATABASE_NOT_OPEN',
    cause
  })
}

/**
 * Failures that retrying cannot heal, seen while trying to open the database: permissions, a
 * location that is not a directory (or sits on a read-only file system), corruption (including
 * files that LevelDB's own records name but that are missing: we hold the lock, so no other
 * process is changing them). Anything else (such as a full disk) is retried.
 * @internal
 */
export function isLasting(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
    e != null;
    e = e.cause as typeof e
  ) {
    if (typeof e.code === 'string' && LASTING_CODES.has(e.code)) return true
    if (typeof e.message === 'string' && LASTING_MESSAGE.test(e.message)) return true
  }
  return false
}

const LASTING_CODES = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'EROFS', 'ELOOP', 'LEVEL_CORRUPTION'])
const LASTING_MESSAGE =
  /Permission denied|Not a directory|Is a directory|Read-only file system|Corruption|Operation not permitted|No such file or directory/i

/**
 * Operations that waited `timeout` while no leader could be reached: the lock is held by
 * something that serves nothing (`LEVEL_LOCKED`), or this process could not open the database
 * and nobody else leads (its cause).
 * @internal
 */
export function unreachable(waited: number, endpoint: string | undefined, failure: Error | undefined): ModuleError {
  if (failure !== undefined) return openFailure(failure)
  const message =
    endpoint === undefined
      ? `No leader for ${waited} ms`
      : `No leader for ${waited} ms: the lock is held but ${endpoint} does not answer`
  return new ModuleError(message, { code: 'LEVEL_LOCKED' })
}

/**
 * `err` ("Database is not open", from abstract-level) explained by why opening failed.
 * @internal
 */
export function explainNotOpen(err: unknown, failure: Error | undefined): unknown {
  const e = err as { code?: unknown; cause?: unknown; message?: unknown }
  if (failure === undefined || e?.code !== 'LEVEL_DATABASE_NOT_OPEN' || e.cause != null) return err
  return new ModuleError(`${String(e.message)}: ${failure.message}`, {
    code: 'LEVEL_DATABASE_NOT_OPEN',
    cause: failure
  })
}

/** abstract-level's "Database failed to open", with the reason in the message too. @internal */
export function withCauseInMessage(err: unknown): unknown {
  const e = err as ModuleError & { cause?: Error }
  if (e?.code !== 'LEVEL_DATABASE_NOT_OPEN' || e.cause == null || e.message !== 'Database failed to open') return err
  return new ModuleError(`Database failed to open: ${e.cause.message}`, { code: e.code, cause: e.cause })
}

/**
 * `open()` of a database that cannot be reopened after `close()` (`closed`): refuse that, else
 * run `open` with the reason for a failure in its message.
 * @internal
 */
export async function openOnce(closed: boolean, options: { passive?: boolean } | undefined, open: () => Promise<void>) {
  if (closed && !options?.passive) throw notReopenable()
  try {
    await open()
  } catch (err) {
    throw withCauseInMessage(err)
  }
}

/**
 * Check the `timeout` and `stalledAfter` options of a follower.
 * @throws {RangeError} Unless each is a positive number (`Infinity` allowed).
 * @internal
 */
export function checkTimes(times: { timeout: number; stalledAfter: number }): void {
  for (const [name, value] of Object.entries(times)) {
    if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
      throw new RangeError(`The '${name}' option must be a positive number`)
    }
  }
}

/**
 * `LEVEL_LOCKED` for `destroy()`/`repair()` of a database some process has open: `cause` is
 * the error that said so.
 * @internal
 */
export function inUse(location: string, cause: Error): ModuleError {
  return new ModuleError(`${location} is in use by another process: close every instance first`, {
    code: 'LEVEL_LOCKED',
    cause
  })
}

/** The command line's `LEVEL_DATABASE_NOT_OPEN`: no database at `location`, and no `--create`. @internal */
export function noDatabase(location: string, reason: string): ModuleError {
  return new ModuleError(`No database at ${location}: ${reason}; pass --create to create one`, {
    code: 'LEVEL_DATABASE_NOT_OPEN'
  })
}

/** The command line's `LEVEL_DECODE_ERROR`: stored bytes that are not valid JSON. @internal */
export function notJson(text: string, cause: Error): ModuleError {
  return new ModuleError(`Could not decode ${JSON.stringify(text.slice(0, 40))} as JSON`, {
    code: 'LEVEL_DECODE_ERROR',
    cause
  })
}

/** The command line's `LEVEL_NOT_FOUND`: `rave-level get` of a key that is not there. @internal */
export function keyNotFound(keyText: string): ModuleError {
  return new ModuleError(`Key not found: ${keyText}`, { code: 'LEVEL_NOT_FOUND' })
}

/** The command line's `LEVEL_ABORTED`: `rave-level clear` was not confirmed. @internal */
export function notConfirmed(): ModuleError {
  return new ModuleError('Nothing was deleted: not confirmed', { code: 'LEVEL_ABORTED' })
}

/**
 * `LEVEL_ELECTION_FAULT` of the leader's TCP listener (the `listen` option): it could not bind
 * its address (stage `listen`; it retries) or accept a connection on it (stage `serve`).
 * @internal
 */
export function listenFault(message: string, stage: 'listen' | 'serve', cause: Error): ElectionFault {
  const err = new ModuleError(`${message}: ${cause.message}`, { code: 'LEVEL_ELECTION_FAULT', cause })
  return Object.assign(err, { stage })
}

/**
 * A remote follower's `LEVEL_CONNECTION_LOST`: no leader reachable at `url` for `waited` ms
 * (`last`, the last connection error, as `cause`), or a connection that failed while it
 * authenticated.
 * @internal
 */
export function remoteUnreachable(url: string, waited: number, last: Error | undefined): ModuleError {
  const why = last === undefined ? '' : `: ${last.message}`
  return new ModuleError(`No leader reachable at ${url} for ${waited} ms${why}`, {
    code: 'LEVEL_CONNECTION_LOST',
    cause: last
  })
}

/**
 * Closed before a leader of `location` was reached, with no operation waiting for the open:
 * `open()` gives up at once (the cause of its `LEVEL_DATABASE_NOT_OPEN`) rather than after
 * `timeout`.
 * @internal
 */
export function closedWhileOpening(location: string): ModuleError {
  return new ModuleError(`Closed before a leader was reached for ${location || 'this database'}`, {
    code: 'LEVEL_ABORTED'
  })
}

/** @internal See {@link remoteUnreachable}. */
export function connectionFailed(message: string): ModuleError {
  return new ModuleError(message, { code: 'LEVEL_CONNECTION_LOST' })
}

/**
 * The command line's `LEVEL_DATABASE_NOT_OPEN`: a credentials file (`--token-file`, `--ca`, ...)
 * it cannot read. It names the file and why, never what is in it.
 * @internal
 */
export function unreadable(file: string, what: string, cause: NodeJS.ErrnoException): ModuleError {
  return new ModuleError(`Cannot read the ${what} file ${file}: ${cause.code ?? 'error'}`, {
    code: 'LEVEL_DATABASE_NOT_OPEN'
  })
}
