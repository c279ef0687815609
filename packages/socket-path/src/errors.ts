import ModuleError from 'module-error'

/**
 * Every `code` this package puts on a `ModuleError`. Callers branch on these, never on messages.
 *
 * - `LEVEL_SOCKET_DIR_UNSAFE`: the private socket directory exists but is not a directory (a
 *   file or a symlink), is not owned by the user, or is accessible by group or others.
 * - `LEVEL_SOCKET_DIR_UNAVAILABLE`: the private socket directory could not be created or
 *   inspected (for example because the temporary directory does not exist or is read-only).
 * - `LEVEL_SOCKET_PATH_TOO_LONG`: even the short endpoint in the private directory would exceed
 *   the platform's unix socket path limit (the temporary directory's path is too long).
 */
export type SocketPathErrorCode =
  | 'LEVEL_SOCKET_DIR_UNSAFE'
  | 'LEVEL_SOCKET_DIR_UNAVAILABLE'
  | 'LEVEL_SOCKET_PATH_TOO_LONG'

/**
 * Create a `ModuleError` with one of this package's codes.
 *
 * @param message Human-readable explanation; callers must not parse it.
 * @param code One of {@link SocketPathErrorCode}.
 * @param cause The underlying error, when wrapping one.
 */
export function socketPathError (message: string, code: SocketPathErrorCode, cause?: Error): ModuleError {
  return new ModuleError(message, cause === undefined ? { code } : { code, cause })
}
